"""Multicell benchmark: optimality gaps and running times (a script, not a test).

Part 1: the paper's default scenario (M = 5, N = 30, K_m in {25..100}),
seeds 0..9, both utilities: every algorithm's mean objective, its gap to
``exact`` (mean and worst), and its mean time.
Part 2: time of ``prop`` and ``best`` for N = 30, 300, 1000 devices and
M = 5, 10, 20 BSs with K = 100 RBs each (accuracy utility, seed 0), and
best's objective relative to prop's.

Usage: ``python benchmarks/multicell.py [--seeds 10] [--skip-scale]``
"""
from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import semalloc


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def part1(seeds: int) -> None:
    algos = list(semalloc.get_problem("multicell").algorithms)
    for utility in ("accuracy", "inverse_error"):
        obj = {a: [] for a in algos}
        tim = {a: [] for a in algos}
        for seed in range(seeds):
            inst = semalloc.generate("multicell", seed=seed, utility=utility)
            for a in algos:
                r = semalloc.solve(inst, a)
                assert r.feasible, (a, seed, r.message)
                obj[a].append(r.objective)
                tim[a].append(r.stats["time_s"])
        ex = np.array(obj["exact"])
        print(f"\n### Default scenario (M=5, N=30), utility = {utility}, {seeds} seeds\n")
        print("| algorithm | mean objective | std | mean gap to exact | worst gap | mean time (s) | time / prop |")
        print("|---|---|---|---|---|---|---|")
        tp = np.mean(tim["prop"])
        for a in algos:
            o = np.array(obj[a])
            gap = 1 - o / ex
            print(f"| {a} | {o.mean():.4f} | {o.std():.4f} | {100 * gap.mean():.4f} % | {100 * gap.max():.4f} % "
                  f"| {np.mean(tim[a]):.3f} | {np.mean(tim[a]) / tp:.2f} |")


def part2() -> None:
    print("\n### Scale (K = 100 RBs per BS, accuracy utility, seed 0)\n")
    print("| N | M | prop time (s) | best time (s) | best / prop objective |")
    print("|---|---|---|---|---|")
    for N in (30, 300, 1000):
        for M in (5, 10, 20):
            inst = semalloc.generate("multicell", seed=0, devices=N, base_stations=M, rbs=[100])
            rp, rb = semalloc.solve(inst, "prop"), semalloc.solve(inst, "best")
            assert rp.feasible and rb.feasible
            print(f"| {N} | {M} | {rp.stats['time_s']:.2f} | {rb.stats['time_s']:.2f} | "
                  f"{rb.objective / rp.objective:.4f} |", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    part1(args.seeds)
    if not args.skip_scale:
        part2()
