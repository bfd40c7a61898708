"""Reward and wall time of every offloading algorithm at the paper's scale
(U = 20, K = 4, N = 32) and at U = 200, K = 10, plus BCD's convergence trace.

Run: ``.venv/bin/python benchmarks/offloading.py [--seeds 5] [--large-seeds 2]``.
Rewards are the independent evaluator's (also for allocations that miss a
deadline, counted in the ``feasible`` column).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import semalloc

ALGORITHMS = ("bcd", "linear", "ftm", "fa", "uc", "best")


def run(settings: dict, seeds, algorithms, options) -> None:
    rows = {a: [] for a in algorithms}
    for seed in seeds:
        inst = semalloc.generate("offloading", seed=seed, **settings)
        for a in algorithms:
            t0 = time.perf_counter()
            res = semalloc.solve(inst, a, **options.get(a, {}))
            dt = time.perf_counter() - t0
            ev = semalloc.evaluate(inst, res.variables)
            rows[a].append((ev.objective, dt, ev.feasible, res.stats.get("trace")))
    print(f"\n{settings}  seeds={list(seeds)}")
    print(f"| algorithm | mean reward | feasible | mean time (s) | max time (s) |\n|---|---|---|---|---|")
    for a in algorithms:
        obj, t, ok = (np.array([r[i] for r in rows[a]]) for i in range(3))
        print(f"| {a} | {obj.mean():.3f} | {int(ok.sum())}/{len(ok)} | {t.mean():.3f} | {t.max():.3f} |")
    if "bcd" in rows:
        print("bcd trace (seed %d):" % seeds[0], [round(v, 3) for v in rows["bcd"][0][3]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--large-seeds", type=int, default=2)
    args = ap.parse_args()
    run({}, list(range(args.seeds)), ALGORITHMS, {})
    run({"terminals": 200, "base_stations": 10}, list(range(args.large_seeds)), ALGORITHMS,
        {"best": {"time_limit": 30.0, "starts": 1}})


if __name__ == "__main__":
    main()
