"""Compression benchmark (a script, not a test): objective, gap to ``exact``
(U = 3) and time of every algorithm for U = 3, 10, 50, 200 on the paper's
default scenario (B_max = 20 MHz, P_max = 1 W) and at B_max = 2 MHz.

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
    for bmax in (20e6, 2e6):
        print(f"\n### B_max = {bmax / 1e6:g} MHz, P_max = 1 W, {args.seeds} seeds\n")
        print("| U | algorithm | mean objective | mean gap to exact | mean time (s) |")
        print("|---|---|---|---|---|")
        for U in args.sizes:
            run = algos + (["exact"] if U <= 4 else [])
            obj = {a: [] for a in run}
            tim = {a: [] for a in run}
            for seed in range(args.seeds):
                inst = semalloc.generate("compression", seed=seed, users=U, bandwidth_max_hz=bmax)
                for a in run:
                    r = semalloc.solve(inst, a)
                    assert r.feasible, (a, r.message)
                    obj[a].append(r.objective)
                    tim[a].append(r.stats["time_s"])
            for a in run:
                gap = (f"{100 * np.mean(1 - np.array(obj[a]) / np.array(obj['exact'])):.2f} %"
                       if "exact" in obj else "-")
                print(f"| {U} | {a} | {np.mean(obj[a]):.4f} | {gap} | {np.mean(tim[a]):.3f} |")


if __name__ == "__main__":
    main()
