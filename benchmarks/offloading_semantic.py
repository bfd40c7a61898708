"""Where the semantic transmission mode matters (ours, not a figure of Zheng et al.):
the paired gain of ``bcd`` over ``raw`` (bcd with traditional transmission only,
e = 0) per point of the ``offloading-fig7`` sweep, over the seeds where both are
feasible, with the feasible counts and bcd's share of terminals in semantic mode.

Run: ``semalloc reproduce offloading --figure 7 --out out`` first, then
``PYTHONPATH=src .venv/bin/python benchmarks/offloading_semantic.py out/offloading-fig7-*.db``.
Without a store it measures the paper's remark on Fig. 5 instead ("the impact of
bandwidth and compression ratio is not significant when the transmission mode is
given"): bcd and ftm at the corners of Figs. 5-6's axes, 6 seeds (~1 min).
With ``--spread`` it measures how much the gain of bcd over raw at compression 5
depends on the heuristics' random start (the ``seed`` of ``solve``): seeds 0-5 x
starts 0-3 at 0.25 and 1 MHz (~15 s), the spread behind
``test_semantic_mode_matters_at_low_bandwidth_not_at_table_iii``.
"""
from __future__ import annotations

import sys

import numpy as np

import semalloc
from semalloc.experiments.store import ResultsStore


def fixed_mode_corners(seeds=range(6)) -> None:
    """Mean reward of bcd and ftm at B in {0.5, 2} MHz x compression in {1.5, 5} (M = 3)."""
    print("| B (MHz) | compression | bcd | ftm |\n|---|---|---|---|")
    for b in (5e5, 2e6):
        for c in (1.5, 5.0):
            r = {a: [] for a in ("bcd", "ftm")}
            for seed in seeds:
                inst = semalloc.generate("offloading", seed=seed, subcarrier_bandwidth_hz=b, compression=c)
                for a in r:
                    ev = semalloc.evaluate(inst, semalloc.solve(inst, a, seed=seed).variables)
                    r[a].append(ev.objective if ev.feasible else np.nan)
            print(f"| {b / 1e6:g} | {c:g} | {np.nanmean(r['bcd']):.2f} | {np.nanmean(r['ftm']):.2f} |")


def start_spread(seeds=range(6), starts=range(4)) -> None:
    """bcd - raw at compression 5, 0.25 and 1 MHz, per (instance seed, start): the mean over
    the seeds per start, its ratio between the two bandwidths, and the pooled means."""
    gain, rel = {}, {}
    for b in (2.5e5, 1e6):
        g = np.full((len(seeds), len(starts)), np.nan)
        r = g.copy()
        for i, seed in enumerate(seeds):
            inst = semalloc.generate("offloading", seed=seed, subcarrier_bandwidth_hz=b, compression=5.0)
            for j, k in enumerate(starts):
                ev = {a: semalloc.evaluate(inst, semalloc.solve(inst, a, seed=k).variables) for a in ("bcd", "raw")}
                if ev["bcd"].feasible and ev["raw"].feasible:
                    g[i, j] = ev["bcd"].objective - ev["raw"].objective
                    r[i, j] = g[i, j] / ev["raw"].objective
        gain[b], rel[b] = g, r
        print(f"B = {b / 1e6:g} MHz, bcd - raw per seed (rows) and start (columns):\n{np.round(g, 2)}")
    lo, hi = (np.nanmean(gain[b], axis=0) for b in (2.5e5, 1e6))
    print("| start | mean gain 0.25 MHz | mean gain 1 MHz | ratio | 1 MHz gain in % of raw |\n|---|---|---|---|---|")
    for j, k in enumerate(starts):
        print(f"| {k} | {lo[j]:.2f} | {hi[j]:.2f} | {lo[j] / hi[j]:.1f} | {100 * np.nanmean(rel[1e6][:, j]):.1f} % |")
    print(f"| pooled | {np.nanmean(gain[2.5e5]):.2f} | {np.nanmean(gain[1e6]):.2f} | "
          f"{np.nanmean(gain[2.5e5]) / np.nanmean(gain[1e6]):.1f} | {100 * np.nanmean(rel[1e6]):.1f} % |")


def main(path: str) -> None:
    with ResultsStore.open(path) as store:
        rows = store.rows()
    by = {(tuple(sorted(r["point"].items())), r["seed"], r["algorithm"]): r for r in rows}
    points = sorted(dict.fromkeys(tuple(sorted(r["point"].items())) for r in rows))
    print("| compression | B (MHz) | feasible bcd / raw / ftm | bcd - raw, paired (mean) | in % of raw | "
          "bcd's semantic share (feasible runs) |\n|---|---|---|---|---|---|")
    for p in points:
        seeds = sorted({s for (q, s, _) in by if q == p})
        ok = {a: [s for s in seeds if by.get((p, s, a), {}).get("feasible")] for a in ("bcd", "raw", "ftm")}
        both = [s for s in ok["bcd"] if s in ok["raw"]]
        gain = [by[(p, s, "bcd")]["objective"] - by[(p, s, "raw")]["objective"] for s in both]
        pct = [100 * g / by[(p, s, "raw")]["objective"] for g, s in zip(gain, both)]
        share = np.mean([by[(p, s, "bcd")]["metrics"]["semantic_share"] for s in ok["bcd"]]) if ok["bcd"] else np.nan
        d = dict(p)
        print(f"| {d['compression']:g} | {d['subcarrier_bandwidth_hz'] / 1e6:g} | "
              f"{len(ok['bcd'])} / {len(ok['raw'])} / {len(ok['ftm'])} of {len(seeds)} | "
              f"{np.mean(gain) if gain else float('nan'):.2f} | {np.mean(pct) if pct else float('nan'):.1f} % | "
              f"{100 * share:.0f} % |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--spread"]:
        start_spread()
    else:
        main(sys.argv[1]) if len(sys.argv) > 1 else fixed_mode_corners()
