"""sbq benchmark (a script, not a test): how much of a trained agent's standing is its training seed.

The same recipe trained with several seeds (``semalloc rl train sbq --preset paper --seed S``: the
scenario-general agent; ``--agent hybrid --steps 307200 --seed S``: a per-scenario one for the default
scenario), each scored on the same evaluation episodes as ``benchmarks/sbq.py`` (seeds 10000..), against
``best`` on those episodes: per point, every seed's ``drl / best`` (and with ``--samples N``
``drl-sampled / best``, with ``--local`` ``drl-local / best`` and the search alone, ``drl-search / best``),
their mean and 95 % t-interval over the
training seeds, and at the default scenario the per-scenario agents' the same way and the difference of
the means with Welch's t-test: the issue-16 question whether one agent for every scenario gives up
anything against an agent of the same budget trained for the default one alone.

Run: ``.venv/bin/python benchmarks/sbq_seeds.py --general A.pt B.pt C.pt [--per-scenario D.pt E.pt F.pt]
[--episodes 50] [--slots 2] [--default-slots 10] [--samples 32] [--local] [--points all|default]``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

import semalloc
from sbq import POINTS, point_label
from semalloc.rl.checkpoint import load
from semalloc.rl.evaluation import run_episodes


def _interval(x) -> str:
    """``mean +- half-width`` of the 95 % t-interval (over training seeds), then the range."""
    x = np.asarray(x, dtype=float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():.3f} +- {half:.3f} [{x.min():.3f}, {x.max():.3f}]"


def _cells(columns) -> str:
    """One line's columns: each column's :func:`_interval` over the seeds, padded to 44 characters."""
    return "  ".join(f"{_interval(x):<44}" for x in columns).rstrip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--general", type=Path, nargs="+", required=True, help="scenario-general agents (one per seed)")
    ap.add_argument("--per-scenario", type=Path, nargs="*", default=[], help="default-scenario agents (one per seed)")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--default-slots", type=int, default=10)
    ap.add_argument("--samples", type=int, default=0, help="also drl-sampled with this many policy samples")
    ap.add_argument("--local", action="store_true", help="also the mode and its local search (drl-search) and the "
                    "same with best's power and bandwidth for the assignment found (drl-local)")
    ap.add_argument("--points", choices=["all", "default"], default="all")
    args = ap.parse_args()
    torch.set_num_threads(1)
    general, per = [load(p) for p in args.general], [load(p) for p in args.per_scenario]
    t0 = time.perf_counter()
    columns = [("drl", {})] + ([(f"drl-sampled ({args.samples})", {"samples": args.samples})] if args.samples else []) \
        + ([("drl-search", {"local": True}), ("drl-local", {"local": True, "reallocate": True})] if args.local else [])
    head = f"{'point':<14} {'best':>6}  " + "  ".join(f"{name + ' / best':<44}" for name, _ in columns) \
        + "   (over training seeds: mean +- 95 % t-interval [min, max])"
    lines = [head.rstrip()]
    for label, settings, slots in [("default K6 1W", {}, args.default_slots)] + [
            (point_label(p), p, args.slots)
            for p in (POINTS if args.points == "all" else [])]:
        best = run_episodes(lambda i, s, e: semalloc.solve(i, "best").variables, settings, args.episodes,
                            slots)["rewards"].mean()

        def ratios(agents) -> list[list[float]]:
            """Every column's ratio to ``best`` for every agent (column-major)."""
            return [[run_episodes(lambda i, s, e, a=a: a.decide(i, s, e, **how)[0], settings, args.episodes,
                                  slots)["rewards"].mean() / best for a in agents] for _, how in columns]

        gen = ratios(general)
        lines.append(f"{label:<14} {best:>6.3f}  {_cells(gen)}")
        print(lines[-1], flush=True)
        if label.startswith("default") and per:
            ps = ratios(per)
            lines.append(f"{'  per-scenario':<14} {'':>6}  {_cells(ps)}")
            print(lines[-1], flush=True)
            for (name, _), g, q in zip(columns, gen, ps):
                welch = stats.ttest_ind(g, q, equal_var=False)
                lines.append(f"  general - per-scenario, {name} / best: {np.mean(g) - np.mean(q):+.4f} (Welch t = "
                             f"{welch.statistic:.2f}, p = {welch.pvalue:.3f}; {len(g)} and {len(q)} seeds)")
                print(lines[-1], flush=True)
    print()
    print(f"sbq, {len(general)} scenario-general agents ({', '.join(p.name for p in args.general)})"
          + (f" and {len(per)} per-scenario ({', '.join(p.name for p in args.per_scenario)})" if per else "")
          + f": {args.episodes} episodes x {args.default_slots} slots at the default scenario, x {args.slots} at the"
          f" figure points; {time.perf_counter() - t0:.0f} s")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
