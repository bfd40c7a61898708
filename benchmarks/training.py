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
from semalloc.units import LN2


class CvxpyRoute:
    """P3 and P7 of one instance solved by CVXPY/CLARABEL. Built afresh for every solve with the
    data as constants, or (``compiled``) as DPP problems whose data are CVXPY parameters, built
    and compiled on the first solve and re-solved with new parameter values after that (CVXPY at
    its fastest)."""

    def __init__(self, inst, compiled: bool):
        self.inst, self.compiled, self.built = inst, compiled, {}

    def _solve(self, build, data: dict):
        """Solve the problem ``build(inputs) -> (problem, outputs)`` for ``data`` (all >= 0)."""
        if self.compiled and build in self.built:
            prob, inputs, out = self.built[build]
            for k, v in data.items():
                inputs[k].value = v
        else:
            inputs = {k: cp.Parameter(np.shape(v), nonneg=True, value=v) if self.compiled else v
                      for k, v in data.items()}
            prob, out = build(inputs)
            assert prob.is_dpp()
            self.built[build] = (prob, inputs, out)
        prob.solve(solver="CLARABEL")
        return out

    def _p3(self, x):
        """min w1 T + w2 kappa sum(c1 f^2 + c2 h^2) s.t. t_up + c1/f + c2/h <= T, caps (f, h in GHz)."""
        inst, d, G = self.inst, self.inst.devices, 1e9
        c1, c2 = inst.cycles
        f, h, T = cp.Variable(inst.N, pos=True), cp.Variable(inst.N, pos=True), cp.Variable()
        obj = inst.w_time * T + inst.w_energy * inst.kappa * G**2 * cp.sum(cp.multiply(c1, f**2) + cp.multiply(c2, h**2))
        return cp.Problem(cp.Minimize(obj), [x["t_up"] + cp.multiply(c1 / G, cp.inv_pos(f))
                                             + cp.multiply(c2 / G, cp.inv_pos(h)) <= T,
                                             f <= d.cpu_max_hz / G, h <= d.bs_cpu_max_hz / G]), (f, h, T)

    def _p7(self, x):
        """min sum(gamma c p - gamma delta r) / scale s.t. sum B <= B_total, r >= r_min, S >= S_min,
        p <= p_max, with r = B log2(1 + p g/(N0 B)) = -rel_entr(B, B + p g/N0) / ln 2 (B in MHz)."""
        inst, n = self.inst, self.inst.N
        a = inst.snr_per_hz / 1e6
        p, B = cp.Variable(n, pos=True), cp.Variable(n, pos=True)
        rate = -cp.rel_entr(B, B + cp.multiply(a, p)) / LN2
        return cp.Problem(cp.Minimize(cp.sum(cp.multiply(x["gc"], p) - cp.multiply(x["gd"], rate))), [
            cp.sum(B) <= x["budget"], rate >= x["rmin"], cp.multiply(a, p) >= cp.multiply(x["smin"], B),
            p <= inst.devices.power_max_w]), (p, B)

    def solve_p3(self, p, B) -> P3Solution:
        inst, d = self.inst, self.inst.devices
        rho = np.clip(inst.model.rho_needed(d.psnr_min_db, p * inst.snr_per_hz / B), d.rho_min, d.rho_max)
        f, h, T = self._solve(self._p3, {"t_up": rho * inst.raw_bits / (B * np.log2(1 + p * inst.snr_per_hz / B))})
        return P3Solution(np.minimum(f.value * 1e9, d.cpu_max_hz), np.minimum(h.value * 1e9, d.bs_cpu_max_hz), rho,
                          float(T.value))

    def solve_p7(self, ctx: P4Context, gamma, delta):
        M = 1e6
        scale = float(np.abs(gamma * delta * ctx.r_min).sum())
        p, B = self._solve(self._p7, {"gc": gamma * ctx.bits / scale, "gd": gamma * delta * M / scale,
                                      "rmin": ctx.r_min / M * (1 + 1e-7), "smin": ctx.s_min * (1 + 1e-7),
                                      "budget": ctx.budget / M})
        return np.minimum(p.value, ctx.p_max), B.value * M * min(1.0, ctx.budget / (B.value.sum() * M))


def alternating_cvxpy(inst, compiled: bool = False, max_iter=10, tol=1e-9):
    """Algorithm 3 as ``alternating`` runs it (same start, order and Algorithm 2 driver) with P3 and
    every P7 solved by CVXPY: built afresh for each solve, or (``compiled``) DPP-compiled once."""
    route = CvxpyRoute(inst, compiled)
    a = fastest_point(inst)
    B, s3 = a["bandwidth_hz"], P3Solution.of(inst, a)                   # Algorithm 3 begins with P4 at sol^(0)
    prev = _objective(inst, a)
    for _ in range(max_iter):
        ctx = P4Context.build(inst, s3.rho, s3.upload_budget(inst) * (1 + 1e-6))
        res = sum_of_ratios_newton(lambda al, be: route.solve_p7(ctx, be, al), lambda x: x[0] * ctx.bits,
                                   lambda x: ctx.rate(*x), (ctx.least_power(B), B), weights=inst.w_energy, tol=1e-6,
                                   max_iter=15, max_backtrack=3)   # interior-point answers are ~1e-8 accurate
        p, B = res.x
        s3 = route.solve_p3(p, B)
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
