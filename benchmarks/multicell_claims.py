"""Multicell (He et al., Sec. V): the measurements behind the claims table of
docs/models.md, "Claims of the simulation section" (a script, not a test).

For Figs. 2-8 it solves every point of the shipped spec (or its ``--quick``
variant) for the paper's six algorithms, under both utilities, and prints the
mean total utility over seeds per point, the per-BS utilities by load rank
(Figs. 2-3), and the quantities each claim is about. Results are cached in a
JSON file (``--cache``), so a rerun only solves what is missing.

Usage: ``python benchmarks/multicell_claims.py [--seeds 10] [--quick] [--figures 4 5 6 7 8] [--causes]``
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import semalloc
from semalloc.channel import distances_m
from semalloc.experiments.reproduce import figures
from semalloc.experiments.spec import load_spec

ALGOS = ["prop", "tc", "fsc", "arb", "nua", "fan"]
UTILITIES = ["accuracy", "inverse_error"]


def run(fig: int, seeds: int, quick: bool, cache: dict) -> dict:
    """{(utility, x value): {algorithm: [objective per seed]}} plus per-rank utilities for Figs. 2-4."""
    spec = load_spec(figures("multicell")[fig], quick=quick)
    out = {}
    for point in spec.points:
        x = [v for k, v in point.items() if k != "utility"]
        for utility in [point["utility"]] if "utility" in point else UTILITIES:
            for seed in range(seeds):
                settings = {**spec.settings, **point, "utility": utility}
                key = json.dumps([settings, seed], sort_keys=True)
                if key not in cache:
                    inst = semalloc.generate("multicell", seed=seed, **settings)
                    cache[key] = {}
                    for a in ALGOS:
                        res = semalloc.solve(inst, a)
                        ev = semalloc.evaluate(inst, res.variables)
                        assert ev.feasible, (fig, settings, seed, a, ev.violations)
                        cache[key][a] = {"objective": ev.objective,
                                         "ranks": [ev.metrics[f"utility_load_rank{r + 1}"] for r in range(inst.M)]}
                out.setdefault((utility, x[0] if x else None), []).append(cache[key])
    return out


def table(fig: int, res: dict) -> None:
    print(f"\n### Fig. {fig}: mean total utility over seeds")
    print("| utility | x | " + " | ".join(ALGOS) + " |")
    print("|---|---|" + "---|" * len(ALGOS))
    for (u, x), runs in res.items():
        print(f"| {u} | {x} | " + " | ".join(f"{np.mean([r[a]['objective'] for r in runs]):.2f}" for a in ALGOS) + " |")
    if fig in (2, 3, 4):
        for (u, x), runs in res.items():
            print(f"\nFig. {fig} ({u}): mean utility of the BS of load rank r (1 = most crowded), n = {len(runs)}")
            for a in ALGOS:
                print(f"  {a:5s} " + " ".join(f"{v:7.2f}" for v in np.mean([r[a]['ranks'] for r in runs], axis=0)))
            wins = np.mean([[r["prop"]["ranks"][k] >= max(r[a]["ranks"][k] for a in ALGOS) - 1e-9
                             for k in range(len(runs[0]["prop"]["ranks"]))] for r in runs], axis=0)
            print("  share of seeds where prop is the best at rank r: " + " ".join(f"{w:.2f}" for w in wins))
            nua = np.mean([[r["nua"]["ranks"][k] > r["prop"]["ranks"][k] for k in range(len(r["prop"]["ranks"]))]
                           for r in runs], axis=0)
            print("  share of seeds where nua > prop at rank r:    " + " ".join(f"{w:.2f}" for w in nua))


def causes(seeds: int) -> None:
    """The measured causes of rows 1 and 10 of the claims table."""
    served = {"prop": [], "nua": []}
    near = []
    for seed in range(seeds):
        inst = semalloc.generate("multicell", seed=seed)
        nearest = np.argmin(distances_m(inst.devices.position_m, inst.base_stations.position_m), axis=1)
        for a in served:
            bs = np.asarray(semalloc.solve(inst, a).variables["bs"])
            served[a].append([np.sum(bs == m) for m in inst.load_order])
            if a == "prop":
                near.append(np.mean(bs[bs >= 0] == nearest[bs >= 0]))
    print("\nFigs. 2-3: devices served per load rank (default scenario, concave utility)")
    for a, v in served.items():
        print(f"  {a:5s} " + " ".join(f"{x:5.1f}" for x in np.mean(v, axis=0)))
    print(f"  share of prop's served devices at their nearest BS: {np.mean(near):.2f}")
    print("\nFig. 6: devices FAN serves (default scenario but the number of devices)")
    for n in (10, 20, 30, 40, 50, 60):
        k = [np.sum(np.asarray(semalloc.solve(semalloc.generate("multicell", seed=s, devices=n), "fan")
                               .variables["bs"]) >= 0) for s in range(seeds)]
        print(f"  N = {n}: {np.mean(k):.1f} served ({np.mean(k) / n:.0%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--figures", type=int, nargs="*", default=[4, 5, 6, 7, 8])
    ap.add_argument("--cache", default="multicell-claims-cache.json")
    ap.add_argument("--causes", action="store_true", help="also measure the causes of rows 1 and 10")
    args = ap.parse_args()
    path = Path(args.cache)
    cache = json.loads(path.read_text()) if path.exists() else {}
    for fig in args.figures:
        res = run(fig, args.seeds, args.quick, cache)
        path.write_text(json.dumps(cache))
        table(fig, res)
    if args.causes:
        causes(args.seeds)


if __name__ == "__main__":
    main()
