"""How far ``best``'s search is from the best assignment, and what its parts buy (a script, not a test).

sbq ``best`` searches the subchannel assignment by local moves, each assignment's power and bandwidth set
by ``allocate`` (the price search). On the first slots of the benchmark's episodes (seeds 10000.., as
``benchmarks/sbq.py``), at every point of the figures:

- ``every``: ``allocate`` on every assignment, the largest value, where they can all be tried (at most
  ``--max-users`` users: ``(M + 1)^K`` assignments, 4096 at K = 6; ``exact``, which also certifies the
  power and bandwidth, is limited to K <= 3, M <= 2);
- ``search``: ``best``'s search, single-user moves, and swaps of two users' subchannels when no move gains,
  from a greedy start on every nonempty subset of subchannels (since 2026-12-07);
- ``no swaps``: the same starts, single moves only;
- ``1 start``: moves and swaps from the one greedy start over every subchannel;
- ``before``: single moves from that one start (``best`` until 2026-12-07);
- ``polished``: ``best`` itself, whose power and bandwidth on the search's answer and the next two
  assignments are then polished (``algorithms.polish``, since the fourteenth session), as ``evaluate``
  scores it (checked against its ``model_objective``);

each as a ratio to ``every`` (to ``search`` where ``every`` cannot be run), the search's worst slot, and
``best``'s median time per slot. Every value but ``polished`` is ``allocate``'s.

Run: ``.venv/bin/python benchmarks/sbq_best.py [--slots 12] [--max-users 6]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import semalloc
from sbq import POINTS, point_label
from semalloc.problems.sbq.algorithms import _assignments, allocate, greedy_subchannels, local_search, start_sets
from semalloc.problems.sbq.beams import min_bits
from semalloc.problems.sbq.instance import Q_MAX


def _row(inst, max_users: int) -> list[float]:
    """``[every (nan above max_users), best's search, no swaps, 1 start, before, best, best's seconds]`` on one
    slot; every value ``allocate``'s but the last, ``best``'s own (its power and bandwidth polished)."""
    q = min_bits(inst)
    users = np.nonzero(q <= Q_MAX)[0]
    t0 = time.perf_counter()
    res = semalloc.solve(inst, "best")
    seconds = time.perf_counter() - t0
    assert res.feasible and np.isclose(res.objective, res.stats["model_objective"], rtol=1e-9, atol=1e-12)

    memo: dict = {}                                  # allocate's answers, shared by every search of the slot

    def searched(sets, **options):
        return max(local_search(inst, q, greedy_subchannels(inst, users, allowed), memo=memo, **options)[3]
                   ["model_objective"] for allowed in sets)

    every = (max(allocate(inst, sub, q)[0] for sub in _assignments(inst, users)) if inst.K <= max_users
             else np.nan)
    one = [tuple(range(inst.M))]
    return [every, searched(start_sets(inst.M)), searched(start_sets(inst.M), swaps=False), searched(one),
            searched(one, swaps=False, passes=4), res.objective, seconds]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slots", type=int, default=12, help="first slots of this many episodes per point")
    ap.add_argument("--max-users", type=int, default=6, help="points with at most this many users")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lines = []
    for point in POINTS:                             # K = 6 is the default scenario
        rows = np.array([_row(semalloc.generate("sbq", seed=10_000 + e, **point), args.max_users)
                         for e in range(args.slots)])
        mean = rows[:, :6].mean(axis=0)
        ref = mean[0] if np.isfinite(mean[0]) else mean[1]
        worst = f"{(rows[:, 1] / rows[:, 0]).min():>10.4f}" if np.isfinite(mean[0]) else f"{'-':>10}"
        every = f"{mean[0]:>8.3f}" if np.isfinite(mean[0]) else f"{'-':>8}"
        lines.append(f"{point_label(point):<14}{every}{mean[1]:>8.3f}" + "".join(f"{x / ref:>10.4f}" for x in mean[1:])
                     + worst + f"{1e3 * np.median(rows[:, 6]):>9.1f}")
    print(f"sbq best against every assignment: first slots of {args.slots} episodes a point; ratios to `every` "
          f"(K <= {args.max_users}), else to `best`'s search; {time.perf_counter() - t0:.0f} s")
    print(f"{'point':<14}{'every':>8}{'search':>8}{'search':>10}{'no swaps':>10}{'1 start':>10}{'before':>10}"
          f"{'polished':>10}{'min srch':>10}{'best ms':>9}")
    print("\n".join(lines))


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
