"""Benchmark of the training problem: time of ``alternating`` (Algorithm 3 with
the closed-form KKT subproblem solvers) for N = 10, 50, 500, 5000, and the
same Algorithm 3 steps with P3 and P7 solved by CVXPY (CLARABEL) instead.

Run: ``.venv/bin/python benchmarks/training.py [--quick]``.
"""
from __future__ import annotations

import sys
import time

import cvxpy as cp
import numpy as np

import semalloc
from semalloc.problems.training.algorithms import _from_p3, _objective, average_point
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


def alternating_cvxpy(inst, max_iter=10, tol=1e-9):
    a = average_point(inst)
    B, s3 = a["bandwidth_hz"], P3Solution.of(inst, a)                   # Algorithm 3 begins with P4 at sol^(0)
    prev = _objective(inst, a)
    for _ in range(max_iter):
        ctx = P4Context.build(inst, s3.rho, s3.upload_budget(inst) * (1 + 1e-6))
        res = sum_of_ratios_newton(lambda al, be: p7_cvxpy(ctx, be, al), lambda x: x[0] * ctx.bits,
                                   lambda x: ctx.rate(*x), (ctx.least_power(B), B), weights=inst.w_energy, tol=1e-6,
                                   max_iter=15, max_backtrack=3)   # interior-point answers are ~1e-8 accurate
        p, B = res.x
        s3 = p3_cvxpy(inst, p, B)
        obj = _objective(inst, _from_p3(p, B, s3))
        if prev - obj <= tol * abs(prev):
            break
        prev = obj
    return obj


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(quick: bool = False) -> None:
    print("| N | alternating (s) | objective | CVXPY route (s) | CVXPY objective | speed-up |")
    print("|---|---|---|---|---|---|")
    for n in (10, 50) if quick else (10, 50, 500, 5000):
        inst = semalloc.generate("training", seed=0, devices=n)
        t, res = best_of(lambda: semalloc.solve(inst, "alternating"), 3 if n <= 500 else 1)
        row = f"| {n} | {t:.4f} | {res.objective:.6g} |"
        if n <= 50:
            tc, obj_c = best_of(lambda: alternating_cvxpy(inst), 1)
            row += f" {tc:.3f} | {obj_c:.6g} | {tc / t:.0f}x |"
        else:
            row += " - | - | - |"
        print(row, flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
