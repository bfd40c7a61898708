"""Score sbq policies on the same evaluation episodes: :func:`run_episodes` (one policy), :func:`compare`
(agents and registered sbq algorithms side by side). Every decision is checked by the independent ``evaluate``.

Examples
--------
>>> from semalloc.rl.evaluation import compare
>>> rows = compare([], ["equal"], {"users": 2, "antennas": 2, "subchannels": 1}, episodes=2, slots=3)
>>> [r["name"] for r in rows], rows[0]["infeasible"]
(['equal'], 0)
"""
from __future__ import annotations

import time

import numpy as np

from ..problems.sbq.evaluate import evaluate, outcome, parse_variables
from ..problems.sbq.instance import episode

__all__ = ["run_episodes", "compare"]

def run_episodes(decide, settings: dict, episodes: int, slots: int, seed: int = 10_000) -> dict:
    """Score ``decide(inst, last_score, last_effective) -> variables`` over ``episodes`` episodes.

    Episode ``e`` is :func:`episode` with seed ``seed + e`` (the same slots for
    every policy). Returns ``rewards`` (episodes, slots) of per-slot effective
    SC-QoS sums (0 for a slot ``evaluate`` finds infeasible), ``decide_s``
    and ``decide_median_s`` (seconds per slot, mean and median) and
    ``infeasible`` (count of such slots).
    """
    rewards, spent = np.zeros((episodes, slots)), np.zeros((episodes, slots))
    infeasible = 0
    for e in range(episodes):
        last = (None, None)
        for t, inst in enumerate(episode(seed=seed + e, slots=slots, **settings)):
            t0 = time.perf_counter()
            v = decide(inst, *last)
            spent[e, t] = time.perf_counter() - t0
            v = parse_variables(inst, v)
            ev = evaluate(inst, v)
            infeasible += not ev.feasible
            o = outcome(inst, v)
            rewards[e, t] = ev.objective if ev.feasible else 0.0
            last = (o.score, o.effective)
    return {"rewards": rewards, "decide_s": float(spent.mean()), "decide_median_s": float(np.median(spent)),
            "infeasible": infeasible}


def compare(agents: list, algorithms: list[str], settings: dict, episodes: int = 50, slots: int = 20,
            seed: int = 10_000, progress=None) -> list[dict]:
    """Every agent and every registered sbq algorithm on the same evaluation episodes: one row each.

    ``algorithms``: names, or ``(label, name, options)`` triples.

    Rows: ``name``, ``mean`` (effective SC-QoS per slot), ``std`` (over
    episodes' means), ``decide_ms`` (per slot), ``infeasible`` (slots),
    ``train_s`` (agents).
    """
    from ..solve import solve

    rows = []
    runs = [(f"drl ({a.kind}{', general' if a.general else ''})" if a.kind == "hybrid" else a.kind,
             lambda inst, s, e, a=a: a.decide(inst, s, e)[0], a.stats.get("seconds")) for a in agents]
    specs = [(a, a, {}) if isinstance(a, str) else a for a in algorithms]
    runs += [(label, lambda inst, s, e, name=name, opts=opts: solve(inst, name, **opts).variables, None)
             for label, name, opts in specs]
    for name, decide, train_s in runs:
        if progress is not None:
            progress(name)
        r = run_episodes(decide, settings, episodes, slots, seed)
        per_episode = r["rewards"].mean(axis=1)
        rows.append({"name": name, "mean": float(per_episode.mean()), "std": float(per_episode.std()),
                     "decide_ms": 1e3 * r["decide_s"], "decide_median_ms": 1e3 * r["decide_median_s"],
                     "infeasible": r["infeasible"], "train_s": train_s, "episode_means": per_episode.tolist()})
    return rows
