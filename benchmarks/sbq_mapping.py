"""Where the hybrid agent's gain over the mapping-guided scheme comes from (a script, not a test).

The paper's abstract reports the hybrid DRL agent "up to 13 %" above mapping-guided schemes; the
package measures 9-43 % against the fair ``mapping`` (``benchmarks/sbq.py``). ``mapping`` differs from
``best`` in two ways only: it perceives semantic quality through the S-SE map (``xi = Xi(n, SINR)``,
:func:`~semalloc.problems.sbq.algorithms.perceived_value`) instead of the SBQ model, and it sends one
number of bits for every user (:func:`~semalloc.problems.sbq.algorithms.mapping_bits`) instead of each
user's ``q_min``. This script takes the two apart at every point of the figures, on the benchmark's
episodes (seeds 10000.., every allocation scored by the SBQ model and checked by ``evaluate``):

- ``best``: q_min per user, the search on the SBQ model;
- ``best 1q``: the same search on the SBQ model, every user sending ``mapping``'s one q (the cost of one q);
- ``map qmin``: the search on the S-SE-perceived quality with each user's q_min (the cost of the perception);
- ``mapping``: both (the package's fair mapping-guided scheme);
- ``map+alloc``: ``mapping``'s users, subchannels and bits with ``best``'s power and bandwidth search on
  the SBQ model (how much of the perception's cost is in the assignment);
- ``map q=1``, ``map q=2``: ``mapping`` with one q fixed for every slot of the scenario (a constant a
  designer would tune per scenario; the default's q, ``max_k q_min``, is 1 or 2 in every slot here);
- ``map oracle q``: ``mapping`` with the one q (1..its default) that scores best by the SBQ model, per
  slot (an oracle: the paradigm perceives no quantization noise);
- ``drl``: the shipped agent over the same episodes (its state carrying the last outcome).

Run: ``.venv/bin/python benchmarks/sbq_mapping.py [--episodes 50] [--slots 2]``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import semalloc
from sbq import POINTS, point_label
from semalloc.problems.sbq.algorithms import allocate, mapping_bits, perceived_value, search
from semalloc.problems.sbq.beams import min_bits, to_variables
from semalloc.problems.sbq.evaluate import evaluate, parse_variables
from semalloc.problems.sbq.instance import Q_MAX, episode
from semalloc.rl.checkpoint import SHIPPED, load
from semalloc.rl.evaluation import run_episodes


def _variants(inst) -> dict:
    """The allocations of every row on one slot."""
    q_min, q_map = np.minimum(min_bits(inst), Q_MAX), mapping_bits(inst)
    one = np.full(inst.K, q_map)
    fixed = {q: semalloc.solve(inst, "mapping", bits=q).variables for q in range(1, max(q_map, 2) + 1)}
    sub = fixed[q_map]["subchannel"]
    out = {"best": semalloc.solve(inst, "best").variables,
           "best 1q": search(inst, one)[0], "map qmin": search(inst, q_min, perceived_value)[0],
           "mapping": fixed[q_map], "map+alloc": to_variables(inst, sub, one, *allocate(inst, sub, one)[1:]),
           "map q=1": fixed[1], "map q=2": fixed[2]}
    out["map oracle q"] = max((fixed[q] for q in range(1, q_map + 1)), key=lambda v: _score(inst, v))
    return out


def _score(inst, v: dict) -> float:
    ev = evaluate(inst, parse_variables(inst, v))
    assert ev.feasible, ev.violations
    return ev.objective


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--slots", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    agent = load(SHIPPED)
    names = ["best", "best 1q", "map qmin", "mapping", "map+alloc", "map q=1", "map q=2", "map oracle q"]
    t0 = time.perf_counter()
    print(f"{'point':<12} {'drl':>6} " + " ".join(f"{n:>12}" for n in names) +
          f" {'best/1q':>7} {'1q/map':>7} {'best/mq':>7} {'drl/map':>7}   users assigned a subchannel: best / best 1q / mapping",
          flush=True)
    for st in [{}] + POINTS:                           # the default scenario, then the figures' points
        label = point_label(st)
        score, served = {n: [] for n in names}, {n: [] for n in names}
        for e in range(args.episodes):                 # the algorithms decide each slot alone
            for inst in episode(seed=10_000 + e, slots=args.slots, **st):
                for name, v in _variants(inst).items():
                    score[name].append(_score(inst, v))
                    served[name].append(int(np.sum(v["subchannel"] >= 0)))
        m = {n: float(np.mean(x)) for n, x in score.items()}
        u = {n: float(np.mean(x)) for n, x in served.items()}
        drl = float(run_episodes(lambda i, s, e: agent.decide(i, s, e)[0], st, args.episodes,
                                 args.slots)["rewards"].mean())
        print(f"{label:<12} {drl:>6.3f} " + " ".join(f"{m[n]:>12.3f}" for n in names) +
              f" {m['best'] / m['best 1q']:>7.3f} {m['best 1q'] / m['mapping']:>7.3f}"
              f" {m['best'] / m['map qmin']:>7.3f} {drl / m['mapping']:>7.3f}"
              f"   {u['best']:.2f} / {u['best 1q']:.2f} / {u['mapping']:.2f}", flush=True)
    print(f"\n{args.episodes} episodes x {args.slots} slots a point (seeds 10000..), {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
