"""Benchmark of the training problem: time of ``alternating`` (Algorithm 3 with
the closed-form KKT subproblem solvers) for N = 10, 50, 500, 5000, and the
same Algorithm 3 steps with P3 and P7 solved by CVXPY (CLARABEL) instead:
each problem built afresh (the CVXPY route), or as DPP problems compiled
once and re-solved with new parameters (the compiled route). The routes run
interleaved, five rounds (one at N = 5000); every time is the best of its
runs (20 for ``alternating``, 5 for each CVXPY route).

Run: ``.venv/bin/python benchmarks/training.py [--quick]``.
"""
from __future__ import annotations

import sys
import time

import cvxpy as cp
import numpy as np

import semalloc
from semalloc.problems.training.algorithms import _from_p3, _objective, fastest_point
from semalloc.problems.training.subproblems import P3Solution, P4Context
from semalloc.solvers.fractional import sum_of_ratios_newton

LN2 = np.log(2.0)


def p3_cvxpy(inst, p, B) -> P3Solution:
    d, model = inst.devices, inst.model
    rho = np.clip(model.rho_needed(d.psnr_min_db, p * inst.snr_per_hz / B), d.rho_min, d.rho_max)
    t_up = rho * inst.raw_bits / (B * np.log2(1 + p * inst.snr_per_hz / B))
    c1, c2 = inst.cycles
    G = 1e9
    f, h, T = cp.Variable(inst.N, pos=True), cp.Variable(inst.N, pos=True), cp.Variable()
    obj = inst.w_time * T + inst.w_energy * inst.kappa * G**2 * cp.sum(cp.multiply(c1, f**2) + cp.multiply(c2, h**2))
    cp.Problem(cp.Minimize(obj), [t_up + cp.multiply(c1 / G, cp.inv_pos(f)) + cp.multiply(c2 / G, cp.inv_pos(h)) <= T,
                                  f <= d.cpu_max_hz / G, h <= d.bs_cpu_max_hz / G]).solve(solver="CLARABEL")
    return P3Solution(np.minimum(f.value * G, d.cpu_max_hz), np.minimum(h.value * G, d.bs_cpu_max_hz), rho,
                      float(T.value))


def p7_cvxpy(ctx: P4Context, gamma, delta):
    M = 1e6
    n = len(gamma)
    p, Bm = cp.Variable(n, pos=True), cp.Variable(n, pos=True)
    rate = -cp.rel_entr(Bm, Bm + cp.multiply(ctx.a / M, p)) / LN2
    scale = float(np.abs(gamma * delta * ctx.r_min).sum())
    obj = cp.sum(cp.multiply(gamma * ctx.bits, p) - cp.multiply(gamma * delta * M, rate)) / scale
    cp.Problem(cp.Minimize(obj), [cp.sum(Bm) <= ctx.budget / M, rate >= ctx.r_min / M * (1 + 1e-7),
                                  cp.multiply(ctx.a / M, p) >= cp.multiply(ctx.s_min * (1 + 1e-7), Bm),
                                  p <= ctx.p_max]).solve(solver="CLARABEL")
    return np.minimum(p.value, ctx.p_max), Bm.value * M * min(1.0, ctx.budget / (Bm.value.sum() * M))


class CompiledRoute:
    """P3 and P7 as DPP problems (CVXPY parameters), compiled on their first solve and re-solved
    with new parameter values after that: the CVXPY route at its fastest."""

    def __init__(self, inst):
        n, d, M, G = inst.N, inst.devices, 1e6, 1e9
        c1, c2 = inst.cycles
        self.inst = inst
        # P3: min w1 T + w2 kappa sum(c1 f^2 + c2 h^2) s.t. t_up + c1/f + c2/h <= T (f, h in GHz)
        self.t_up = cp.Parameter(n)
        self.f, self.h, self.T = cp.Variable(n, pos=True), cp.Variable(n, pos=True), cp.Variable()
        obj = inst.w_time * self.T + inst.w_energy * inst.kappa * G**2 * cp.sum(
            cp.multiply(c1, self.f**2) + cp.multiply(c2, self.h**2))
        self.p3 = cp.Problem(cp.Minimize(obj), [
            self.t_up + cp.multiply(c1 / G, cp.inv_pos(self.f)) + cp.multiply(c2 / G, cp.inv_pos(self.h)) <= self.T,
            self.f <= d.cpu_max_hz / G, self.h <= d.bs_cpu_max_hz / G])
        # P7: min sum(gamma c p - gamma delta r) / scale s.t. sum B <= B_total, r >= r_min, S >= S_min, p <= p_max
        self.gc, self.gd = cp.Parameter(n, nonneg=True), cp.Parameter(n, nonneg=True)
        self.rmin, self.smin = cp.Parameter(n, nonneg=True), cp.Parameter(n, nonneg=True)
        self.budget = cp.Parameter(nonneg=True)
        a = inst.snr_per_hz / M
        self.p, self.B = cp.Variable(n, pos=True), cp.Variable(n, pos=True)
        rate = -cp.rel_entr(self.B, self.B + cp.multiply(a, self.p)) / LN2
        self.p7 = cp.Problem(cp.Minimize(cp.sum(cp.multiply(self.gc, self.p) - cp.multiply(self.gd, rate))), [
            cp.sum(self.B) <= self.budget, rate >= self.rmin,
            cp.multiply(a, self.p) >= cp.multiply(self.smin, self.B), self.p <= d.power_max_w])
        assert self.p3.is_dpp() and self.p7.is_dpp()

    def solve_p3(self, p, B) -> P3Solution:
        inst, d = self.inst, self.inst.devices
        rho = np.clip(inst.model.rho_needed(d.psnr_min_db, p * inst.snr_per_hz / B), d.rho_min, d.rho_max)
        self.t_up.value = rho * inst.raw_bits / (B * np.log2(1 + p * inst.snr_per_hz / B))
        self.p3.solve(solver="CLARABEL")
        return P3Solution(np.minimum(self.f.value * 1e9, d.cpu_max_hz), np.minimum(self.h.value * 1e9, d.bs_cpu_max_hz),
                          rho, float(self.T.value))

    def solve_p7(self, ctx: P4Context, gamma, delta):
        M = 1e6
        scale = float(np.abs(gamma * delta * ctx.r_min).sum())
        self.gc.value, self.gd.value = gamma * ctx.bits / scale, gamma * delta * M / scale
        self.rmin.value, self.smin.value = ctx.r_min / M * (1 + 1e-7), ctx.s_min * (1 + 1e-7)
        self.budget.value = ctx.budget / M
        self.p7.solve(solver="CLARABEL")
        p, Bm = self.p.value, self.B.value
        return np.minimum(p, ctx.p_max), Bm * M * min(1.0, ctx.budget / (Bm.sum() * M))


def alternating_cvxpy(inst, compiled: bool = False, max_iter=10, tol=1e-9):
    """Algorithm 3 as ``alternating`` runs it (same start, order and Algorithm 2 driver) with P3 and
    every P7 solved by CVXPY: built afresh for each solve, or (``compiled``) DPP-compiled once."""
    route = CompiledRoute(inst) if compiled else None
    s_p3 = route.solve_p3 if compiled else (lambda p, B: p3_cvxpy(inst, p, B))
    s_p7 = route.solve_p7 if compiled else p7_cvxpy
    a = fastest_point(inst)
    B, s3 = a["bandwidth_hz"], P3Solution.of(inst, a)                   # Algorithm 3 begins with P4 at sol^(0)
    prev = _objective(inst, a)
    for _ in range(max_iter):
        ctx = P4Context.build(inst, s3.rho, s3.upload_budget(inst) * (1 + 1e-6))
        res = sum_of_ratios_newton(lambda al, be: s_p7(ctx, be, al), lambda x: x[0] * ctx.bits,
                                   lambda x: ctx.rate(*x), (ctx.least_power(B), B), weights=inst.w_energy, tol=1e-6,
                                   max_iter=15, max_backtrack=3)   # interior-point answers are ~1e-8 accurate
        p, B = res.x
        s3 = s_p3(p, B)
        obj = _objective(inst, _from_p3(p, B, s3))
        if prev - obj <= tol * abs(prev):
            break
        prev = obj
    return obj


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(quick: bool = False, rounds: int = 5) -> None:
    """Each N: ``rounds`` rounds of (4 runs of ``alternating``, one of each CVXPY route), interleaved
    so that every route sees the same machine; each time is the best of its runs."""
    print("| N | alternating (s) | objective | CVXPY route (s) | objective | speed-up "
          "| compiled CVXPY route (s) | objective | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (10, 50) if quick else (10, 50, 500, 5000):
        inst = semalloc.generate("training", seed=0, devices=n)
        routes = {"ours": lambda: semalloc.solve(inst, "alternating").objective}
        if n <= 50:
            routes["cvxpy"] = lambda: alternating_cvxpy(inst)
            routes["compiled"] = lambda: alternating_cvxpy(inst, compiled=True)
        best = {k: (np.inf, None) for k in routes}
        for _ in range(rounds if n <= 500 else 1):
            for key, fn in routes.items():
                for _ in range(4 if key == "ours" and n <= 500 else 1):
                    t, obj = timed(fn)
                    best[key] = min(best[key], (t, obj), key=lambda x: x[0])
        t, obj = best["ours"]
        row = f"| {n} | {t:.4f} | {obj:.6g} |"
        for key in ("cvxpy", "compiled"):
            row += f" {best[key][0]:.3f} | {best[key][1]:.6g} | {best[key][0] / t:.0f}x |" if key in best else " - | - | - |"
        print(row, flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
