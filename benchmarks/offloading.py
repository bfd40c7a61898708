"""Reward and wall time of every offloading algorithm at the paper's scale
(U = 20, K = 4, N = 32) and at U = 200, K = 10, plus the convergence of
every scheme per iteration (the analogue of Zheng et al., Fig. 2).

Run: ``.venv/bin/python benchmarks/offloading.py [--seeds 5] [--large-seeds 2]
[--plot fig2.png]``. Rewards are the independent evaluator's (also for
allocations that miss a deadline, counted in the ``feasible`` column). The
convergence table is the mean over the seeds of the reward after each BCD
iteration (iteration 0: the initial matching completed by Algorithm 3; a run
that has stopped keeps its last value); for ``best``, BCD's iterations are
followed by its local-search rounds.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import semalloc

ALGORITHMS = ("bcd", "linear", "ftm", "fa", "uc", "best")


def mean_trace(traces: list[list[float]]) -> np.ndarray:
    """Mean over runs of the reward after each iteration, runs that stopped held at their last value."""
    n = max(len(t) for t in traces)
    return np.mean([np.pad(t, (0, n - len(t)), mode="edge") for t in traces], axis=0)


def run(settings: dict, seeds, algorithms, options) -> dict:
    rows = {a: [] for a in algorithms}
    for seed in seeds:
        inst = semalloc.generate("offloading", seed=seed, **settings)
        for a in algorithms:
            t0 = time.perf_counter()
            res = semalloc.solve(inst, a, **options.get(a, {}))
            dt = time.perf_counter() - t0
            ev = semalloc.evaluate(inst, res.variables)
            rows[a].append((ev.objective, dt, ev.feasible, res.stats.get("trace")))
    print(f"\n{settings or 'default (U = 20, K = 4, N = 32)'}  seeds={list(seeds)}")
    print("| algorithm | mean reward | feasible | mean time (s) | max time (s) |\n|---|---|---|---|---|")
    for a in algorithms:
        obj, t, ok = (np.array([r[i] for r in rows[a]]) for i in range(3))
        print(f"| {a} | {obj.mean():.3f} | {int(ok.sum())}/{len(ok)} | {t.mean():.3f} | {t.max():.3f} |")
    traces = {a: mean_trace([r[3] for r in rows[a]]) for a in algorithms if all(r[3] for r in rows[a])}
    print("\nconvergence (mean reward after each iteration):")
    for a, tr in traces.items():
        print(f"  {a:6s}", " ".join(f"{v:.3f}" for v in tr))
    return traces


def plot(traces: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for a, tr in traces.items():
        ax.plot(np.arange(len(tr)), tr, marker="o", label=a)
    ax.set_xlabel("iteration")
    ax.set_ylabel("system reward (mean over seeds)")
    ax.set_title("Fig. 2 analogue: convergence (U = 20, K = 4, N = 32)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--large-seeds", type=int, default=2)
    ap.add_argument("--plot", help="write the convergence figure (PNG, PDF or SVG) to this path")
    args = ap.parse_args()
    traces = run({}, list(range(args.seeds)), ALGORITHMS, {})
    if args.plot:
        plot(traces, args.plot)
    if args.large_seeds:
        run({"terminals": 200, "base_stations": 10}, list(range(args.large_seeds)), ALGORITHMS,
            {"best": {"time_limit": 30.0}})


if __name__ == "__main__":
    main()
