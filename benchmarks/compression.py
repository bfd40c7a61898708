"""Compression benchmark (a script, not a test): objective (Lemma 1's exact
success, evaluate's objective), the paper's eq. (20) metric, gap to ``exact``
(U = 3; the gap is to exact's feasible objective, so it can be slightly
negative within exact's certified tolerance) and time of every algorithm for
U = 3, 10, 50, 200 on the paper's default scenario (B_max = 20 MHz,
P_max = 1 W) and at B_max = 2 MHz. Ends with a check that ``best`` is at
least ``crra`` on every instance.

Usage: ``python benchmarks/compression.py [--seeds 3] [--sizes 3 10 50 200]``
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

import semalloc

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 50, 200])
    args = ap.parse_args()
    algos = ["crra", "crraus", "fcr", "fra", "msr", "best"]
    semalloc.solve(semalloc.generate("compression", users=args.sizes[0]), "crra")     # compile CVXPY once
    worst = np.inf
    for bmax in (20e6, 2e6):
        print(f"\n### B_max = {bmax / 1e6:g} MHz, P_max = 1 W, mean over {args.seeds} seeds\n")
        print("| U | algorithm | objective (exact 2Q) | eq. (20) metric | gap to exact | time (s) |")
        print("|---|---|---|---|---|---|")
        for U in args.sizes:
            run = algos + (["exact"] if U <= 5 else [])
            obj, eq20, tim = ({a: [] for a in run} for _ in range(3))
            for seed in range(args.seeds):
                inst = semalloc.generate("compression", seed=seed, users=U, bandwidth_max_hz=bmax)
                for a in run:
                    r = semalloc.solve(inst, a)
                    assert r.feasible, (a, r.message)
                    obj[a].append(r.objective)
                    eq20[a].append(r.stats["metrics"]["objective_eq20"])
                    tim[a].append(r.stats["time_s"])
                worst = min(worst, obj["best"][-1] - obj["crra"][-1])
            for a in run:
                gap = (f"{100 * np.mean(1 - np.array(obj[a]) / np.array(obj['exact'])):.2f} %"
                       if "exact" in obj else "-")
                print(f"| {U} | {a} | {np.mean(obj[a]):.4f} | {np.mean(eq20[a]):.4f} | {gap} | {np.mean(tim[a]):.3f} |")
    print(f"\nmin over instances of best - crra (exact objective): {worst:.4g} (>= 0: best never below crra)")


if __name__ == "__main__":
    main()
