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

#: The sbq algorithms that run a trained agent (they need the ``rl`` extra and decide for the shipped agents'
#: dimensions: M = 3, Nt = 4, K <= 12).
AGENTS = ("drl", "drl-sampled", "drl-local", "drl-zf", "drl-zf-local", "mapping-drl", "dqn", "td3")


def _agent(inst, agent, steps: int, seed: int, device: str, shipped: str):
    try:
        from . import checkpoint
        from .cache import agent_for
    except ImportError as e:
        raise InputError("agent", f"drl needs the rl extra (pip install 'semalloc[rl]'): {e}", "sbq") from None
    return agent_for(inst, None if agent is None else str(agent), steps=int(steps), seed=int(seed),
                     device=str(device), shipped=getattr(checkpoint, shipped))


#: The most actions ``drl`` and ``drl-sampled`` draw: 10 000 take 1.4 s and 0.2 GB at K = 12 (measured
#: 2026-12-07); 10^8 were killed by the kernel for memory (the fuzz audit).
MAX_SAMPLES = 10_000


@PROBLEM.algorithm("drl", "a trained agent: ours hybrid PPO with the reward's pathwise gradient (shipped, "
                          "scenario-general), or a dqn/ddpg/td3/sac baseline")
def drl(inst, agent: str | None = None, steps: int = 30000, seed: int = 0, device: str = "cpu",
        policy_samples: int = 0):
    """``agent``: none (the shipped scenario-general agent, semalloc/rl/data/sbq-hybrid.pt), a checkpoint
    path, or ``auto`` (train a hybrid agent for ``steps`` steps on this slot's scenario once, cached;
    semalloc.rl.cache.agent_for). Needs the ``rl`` extra.
    ``policy_samples > 0``: also draw that many actions from the hybrid policy and keep the best allocation
    by the model's objective (Agent.decide; the time counts in ``decide_s``); at most :data:`MAX_SAMPLES`."""
    if int(policy_samples) > MAX_SAMPLES:
        raise InputError("policy_samples", f"at most {MAX_SAMPLES:,} (each sample's arrays are in memory at once), "
                         f"got {policy_samples!r}", "sbq")
    return _decided(_agent(inst, agent, steps, seed, device, "SHIPPED"), inst, int(policy_samples))


#: Actions ``drl-sampled`` draws from the policy by default: chosen to make 0.95 x ``best`` hold (the fewest of
#: 8, 16, 32 that reached it at every figure point on a first look); on benchmarks/sbq.py's episodes it
#: misses at Pmax <= 0.03 W (docs/models.md, issue 16, third session).
SAMPLES = 32


@PROBLEM.algorithm("drl-sampled", "ours: the shipped hybrid agent with policy sampling (32 actions drawn from "
                                  "its policy, scored by the model as one batch, the best kept)")
def drl_sampled(inst, agent: str | None = None, steps: int = 30000, seed: int = 0, device: str = "cpu",
                policy_samples: int = SAMPLES):
    """``drl`` with ``policy_samples`` (default :data:`SAMPLES`): the mode of the policy and that many actions
    drawn from it (seeded by the observation, so reproducible), each mapped to its allocation and scored by
    the SBQ model in one batch, the best kept; never below ``drl``. A decision rule of ours: the paper's
    agent acts with one action (``drl``)."""
    if int(policy_samples) < 1:
        raise InputError("policy_samples", f"must be >= 1 for drl-sampled (drl is the agent without sampling), "
                         f"got {policy_samples!r}", "sbq")
    return drl(inst, agent, steps, seed, device, policy_samples)


@PROBLEM.algorithm("drl-local", "ours: the shipped hybrid agent's assignment improved by single-user subchannel "
                                "changes, each scored by the model with the agent's own powers, mixes and shares, "
                                "then its power and bandwidth re-optimised by best's price search")
def drl_local(inst, agent: str | None = None, device: str = "cpu", changes: int | None = None, reallocate: bool = True,
              swaps: bool = False):
    """``drl`` then a 1-opt local search over the subchannels (Agent.decide(local=True)): every change of one
    user's subchannel (incl. none) is mapped through the agent's own continuous heads and scored by the SBQ
    model as one batch, the best taken while it gains; never below ``drl``. A decision rule of ours on top of
    the paper's agent (docs/models.md, issue 16, sixth session). ``changes``: at most that many changes
    (default 2K, which it does not reach on the figures' slots; 1: the best single change, one pass, in
    about half the time). ``reallocate`` (default; false: the search alone, as until the thirteenth session):
    the assignment found then gets ``best``'s power and bandwidth (:func:`~semalloc.problems.sbq.algorithms.
    allocate`, zero-forcing beams) when they score higher than the agent's own (docs/models.md, issue 16,
    thirteenth session). ``swaps``: when no single change gains, the search also tries every swap of two
    users' choices (as ``best``'s search does), at 1.0-1.8x the time, more at large K (docs/models.md,
    issue 16, sixteenth session)."""
    return _searched(inst, _agent(inst, agent, 0, 0, device, "SHIPPED"), "drl-local", changes, reallocate, swaps)


@PROBLEM.algorithm("drl-zf-local", "ours: drl-zf's assignment improved by drl-local's search, then its power "
                                   "and bandwidth re-optimised by best's price search")
def drl_zf_local(inst, agent: str | None = None, device: str = "cpu", changes: int | None = None,
                 reallocate: bool = True, swaps: bool = False):
    """``drl-local``'s decision rule (the search, ``changes``, ``reallocate``, ``swaps``) on ``drl-zf``'s agent (preset
    ``zf``, semalloc/rl/data/sbq-hybrid-zf.pt, or ``agent``: a checkpoint trained with ``--sequential
    --channels``)."""
    return _searched(inst, _zf_agent(inst, agent, device), "drl-zf-local", changes, reallocate, swaps)


def _searched(inst, a, name: str, changes, reallocate, swaps):
    """A hybrid agent's decision with the local search (``drl-local``, ``drl-zf-local``)."""
    if a.kind != "hybrid":
        raise InputError("agent", f"{name} needs a hybrid agent; this one is {a.kind}", "sbq")
    return _decided(a, inst, local=True, changes=changes, reallocate=reallocate, swaps=swaps)


@PROBLEM.algorithm("drl-zf", "ours: a hybrid agent that also sees the channel directions and decides the users' "
                             "subchannels one by one, each with the zero-forcing residual the users before it leave "
                             "(shipped, scenario-general)")
def drl_zf(inst, agent: str | None = None, device: str = "cpu"):
    """Our hybrid agent (preset ``zf``, semalloc/rl/data/sbq-hybrid-zf.pt): ``drl``'s recipe with the users'
    channel directions ``h_km / ||h_km||`` in its observation and its subchannel heads sequential: users in
    decreasing order of their best SNR, each user's subchannel logits given the users already placed (their
    mean embedding and number on each subchannel) and the share of its channel that zero-forcing to them
    leaves on each subchannel (:class:`semalloc.rl.hybrid.HybridPolicy`, ``sequential``, ``channels``). The
    notes' state has the gains only, so ``drl`` (the paper's agent) keeps that state; this is ours
    (docs/models.md, issue 16, eleventh session). ``agent``: none (the shipped one) or a checkpoint trained
    with ``--sequential --channels``."""
    return _decided(_zf_agent(inst, agent, device), inst)


def _zf_agent(inst, agent, device: str):
    a = _agent(inst, agent, 0, 0, device, "SHIPPED_ZF")
    if a.kind != "hybrid" or not a.model.channels:
        raise InputError("agent", "drl-zf needs a hybrid agent trained with --sequential --channels (preset zf)",
                         "sbq")
    return a


@PROBLEM.algorithm("mapping-drl", "mapping-guided DRL: the hybrid agent trained on the S-SE-perceived reward "
                                  "(shipped, scenario-general), scored by the SBQ model")
def mapping_drl(inst, agent: str | None = None, device: str = "cpu"):
    """The DRL side of the mapping-guided paradigm (the notes, "The mapping-guided paradigm"): the
    ``drl`` recipe trained on the effective SC-QoS that ``xi = Xi(n_k, SINR_k)`` perceives
    (:func:`semalloc.rl.env.scored`, ``perception="mapping"``). ``agent``: none (the shipped one,
    semalloc/rl/data/sbq-mapping-drl.pt) or a checkpoint trained with ``--perception mapping``."""
    a = _agent(inst, agent, 0, 0, device, "SHIPPED_MAPPING")
    if a.perception != "mapping":
        raise InputError("agent", f"mapping-drl needs an agent trained on the mapping-perceived reward "
                         f"(rl train --perception mapping); this one learned from {a.perception!r}", "sbq")
    return _decided(a, inst)


@PROBLEM.algorithm("dqn", "single-type DRL baseline: DQN on the discretised action (shipped, scenario-general, "
                          "K <= 6)")
def dqn(inst, agent: str | None = None, device: str = "cpu"):
    """The DQN baseline (:mod:`semalloc.rl.baselines`: one joint discrete action, ``(M + 1)^K * Q_MAX``
    values, equal powers and bandwidth shares). ``agent``: none (the shipped scenario-general one,
    semalloc/rl/data/sbq-dqn.pt, preset ``dqn``: K in 2..6, Pmax in 0.01..10 W) or a dqn checkpoint."""
    return _baseline(inst, agent, device, "dqn", "SHIPPED_DQN")


@PROBLEM.algorithm("td3", "single-type DRL baseline: TD3 on the relaxed continuous action (shipped, "
                          "scenario-general)")
def td3(inst, agent: str | None = None, device: str = "cpu"):
    """The TD3 baseline (:mod:`semalloc.rl.baselines`: every discrete choice relaxed into [-1, 1] and rounded).
    ``agent``: none (the shipped scenario-general one, semalloc/rl/data/sbq-td3.pt, preset ``td3``: K in
    2..12, Pmax in 0.01..10 W) or a td3 checkpoint."""
    return _baseline(inst, agent, device, "td3", "SHIPPED_TD3")


def _baseline(inst, agent, device: str, kind: str, shipped: str):
    a = _agent(inst, agent, 0, 0, device, shipped)
    if a.kind != kind:
        raise InputError("agent", f"{kind} needs a {kind} checkpoint; this one holds a {a.kind} agent", "sbq")
    return _decided(a, inst)


def _decided(a, inst, samples: int | None = None, local: bool = False, changes: int | None = None,
             reallocate: bool = False, swaps: bool = False):
    """A trained agent's decision on slot ``inst`` as an algorithm's return, its time in ``decide_s``
    (``samples``: drl's ``policy_samples``, also a stat; ``local``, ``changes``, ``reallocate``, ``swaps``:
    drl-local's search)."""
    t0 = time.perf_counter()
    variables, moved = a.decide(inst, samples=samples or 0, local=local, changes=changes, reallocate=reallocate,
                                swaps=swaps)
    stats = {"agent": a.kind, "decide_s": time.perf_counter() - t0, "moved": moved}
    return variables, FEASIBLE, stats if samples is None else {**stats, "policy_samples": samples}, ""
