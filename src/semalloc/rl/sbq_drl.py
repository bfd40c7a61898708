"""The ``drl`` algorithm of the ``sbq`` problem: a trained agent decides a slot.

It lives in the RL layer, not in :mod:`semalloc.problems.sbq`, so that problems
never import :mod:`semalloc.rl`; the registry (:func:`semalloc.solve.get_problem`)
imports this module right after the problem. Torch and the agents load only
when ``drl`` runs (the ``rl`` extra).

Examples
--------
>>> import semalloc
>>> "drl" in semalloc.get_problem("sbq").algorithms
True
"""
from __future__ import annotations

import time

from ..errors import InputError
from ..problems.sbq import PROBLEM
from ..result import FEASIBLE


@PROBLEM.algorithm("drl", "a trained agent: ours hybrid PPO (shipped, scenario-general), or a dqn/ddpg/td3/sac baseline")
def drl(inst, agent: str | None = None, steps: int = 30000, seed: int = 0, device: str = "cpu",
        samples: int = 0):
    """``agent``: none (the shipped scenario-general agent, semalloc/rl/data/sbq-hybrid.pt), a checkpoint
    path, or ``auto`` (train a hybrid agent for ``steps`` steps on this slot's scenario once, cached;
    semalloc.rl.agents.agent_for). Needs the ``rl`` extra.
    ``samples > 0``: also draw that many actions from the hybrid policy and keep the best allocation
    by the model's objective (Agent.decide; the time counts in ``decide_s``)."""
    try:
        from .agents import agent_for
    except ImportError as e:
        raise InputError("agent", f"drl needs the rl extra (pip install 'semalloc[rl]'): {e}", "sbq") from None
    a = agent_for(inst, None if agent is None else str(agent), steps=int(steps), seed=int(seed), device=str(device))
    t0 = time.perf_counter()
    variables, moved = a.decide(inst, samples=int(samples))
    return variables, FEASIBLE, {"agent": a.kind, "decide_s": time.perf_counter() - t0,
                                   "moved": moved, "samples": int(samples)}, ""
