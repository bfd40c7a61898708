"""How far ``best``'s search is from the best assignment, and what its starts buy (a script, not a test).

sbq ``best`` searches the subchannel assignment by single-user moves, each assignment's power and
bandwidth set by ``allocate`` (the price search). Where every assignment can be tried (at most
``--max-users`` users: ``(M + 1)^K`` of them, 4096 at K = 6), this script compares, on the first slots of
the benchmark's episodes (seeds 10000.., as ``benchmarks/sbq.py``):

- ``every``: ``allocate`` on every assignment, the largest value (the reference; ``exact``, which also
  certifies the power and bandwidth, is limited to K <= 3, M <= 2);
- ``best``: the search from a greedy start on every nonempty subset of subchannels (since 2026-12-07);
- ``1 start``: the same search from the one greedy start over every subchannel (``best`` before);

with ``best``'s median time per slot. Every value is ``allocate``'s, which ``evaluate`` reproduces on the
returned variables (checked).

Run: ``.venv/bin/python benchmarks/sbq_best.py [--slots 12] [--max-users 6]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import semalloc
from sbq import POINTS, point_label
from semalloc.problems.sbq.algorithms import _assignments, allocate, greedy_subchannels, local_search
from semalloc.problems.sbq.beams import min_bits
from semalloc.problems.sbq.instance import Q_MAX


def _row(inst) -> tuple[float, float, float, float]:
    """``(every, best, 1 start, best's seconds)`` on one slot."""
    q = min_bits(inst)
    users = np.nonzero(q <= Q_MAX)[0]
    t0 = time.perf_counter()
    res = semalloc.solve(inst, "best")
    seconds = time.perf_counter() - t0
    assert res.feasible and np.isclose(res.objective, res.stats["model_objective"], rtol=1e-9, atol=1e-12)
    one = local_search(inst, q, greedy_subchannels(inst, users))[3]["model_objective"]
    every = max(allocate(inst, sub, q)[0] for sub in _assignments(inst, users))
    return every, res.objective, one, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slots", type=int, default=12, help="first slots of this many episodes per point")
    ap.add_argument("--max-users", type=int, default=6, help="points with at most this many users")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lines = []
    for point in [{}] + POINTS:
        if point.get("users", 6) > args.max_users:
            continue
        rows = np.array([_row(semalloc.generate("sbq", seed=10_000 + e, **point)) for e in range(args.slots)])
        every, found, one = rows[:, :3].mean(axis=0)
        ratio = rows[:, 1] / rows[:, 0]
        lines.append(f"{point_label(point):<14}{every:>8.3f}{found:>8.3f}{one:>9.3f}{found / every:>11.4f}"
                     f"{ratio.min():>10.4f}{one / every:>14.4f}{1e3 * np.median(rows[:, 3]):>9.1f}")
    print(f"sbq best against every assignment: first slots of {args.slots} episodes per point (K <= "
          f"{args.max_users}); {time.perf_counter() - t0:.0f} s")
    print(f"{'point':<14}{'every':>8}{'best':>8}{'1 start':>9}{'best/every':>11}{'min ratio':>10}"
          f"{'1 start/every':>14}{'best ms':>9}")
    print("\n".join(lines))


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
