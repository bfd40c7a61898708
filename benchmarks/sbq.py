"""sbq benchmark: mean effective SC-QoS and time per slot of every model-based algorithm
on the notes' default scenario (K=6, Nt=4, M=3), and exact's gap on tiny slots.

Run: .venv/bin/python benchmarks/sbq.py [seeds]
"""
from __future__ import annotations

import sys
import time

import numpy as np

import semalloc

ALGOS = ["best", "equal", "mapping", "fixed-bits", "random"]


def main(seeds: int = 50) -> None:
    rows = {a: ([], []) for a in ALGOS}
    for s in range(seeds):
        inst = semalloc.generate("sbq", seed=s)
        for a in ALGOS:
            t = time.perf_counter()
            r = semalloc.solve(inst, a)
            rows[a][0].append(r.objective)
            rows[a][1].append(time.perf_counter() - t)
    print(f"default scenario, {seeds} slots: mean effective SC-QoS (sum over 6 users), mean time per slot")
    print(f"{'algorithm':12s} {'SC-QoS':>8s} {'vs mapping':>11s} {'ms/slot':>8s}")
    ref = np.mean(rows["mapping"][0])
    for a, (obj, t) in rows.items():
        print(f"{a:12s} {np.mean(obj):8.3f} {np.mean(obj) / ref:10.2f}x {1e3 * np.mean(t):8.2f}")
    gaps, times = [], []
    for s in range(10):
        inst = semalloc.generate("sbq", seed=s, users=2, antennas=2, subchannels=2)
        t = time.perf_counter()
        ex = semalloc.solve(inst, "exact")
        times.append(time.perf_counter() - t)
        gaps.append(ex.objective - semalloc.solve(inst, "best").objective)
    print(f"tiny slots (K=2, M=2, Nt=2), 10 seeds: exact - best mean {np.mean(gaps):.4f}, max {np.max(gaps):.4f}; "
          f"exact {np.mean(times):.2f} s/slot")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
