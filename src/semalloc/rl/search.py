"""Decision-time local search over a hybrid policy's subchannel assignment (``drl-local``, ``drl-zf-local``).

From the policy's mode, every change of one present user's subchannel choice (incl. none) is mapped with
the mode's bits and the policy's median continuous action for that assignment and scored by the model, all
as one batch; the best change is taken while it gains (``swaps``: where none gains, every swap of two users'
choices too). ``reallocate`` then gives the assignment found ``best``'s power and bandwidth
(:func:`~semalloc.problems.sbq.algorithms.allocate`) when they score higher.

Examples
--------
>>> import semalloc
>>> from semalloc.rl.checkpoint import SHIPPED, load
>>> from semalloc.rl.search import local_search
>>> agent, inst = load(SHIPPED), semalloc.generate("sbq", seed=3, power_max_w=0.01)
>>> obs = agent.observe(inst)
>>> mode = semalloc.evaluate(inst, agent.decide(inst)[0]).objective
>>> v, moved, choices = local_search(agent.model, inst, obs, changes=12)
>>> semalloc.evaluate(inst, v).objective >= mode, choices.shape
(True, (6,))
"""
from __future__ import annotations

import numpy as np

__all__ = ["local_search"]


def local_search(net, inst, obs: np.ndarray, changes: int, perception: str = "sbq",
                 reallocate: bool = False, swaps: bool = False) -> tuple[dict, int, np.ndarray]:
    """``(variables, moved, choices)``: the mode's assignment improved by single-user subchannel changes
    (``swaps``: and swaps of two users' choices).

    ``net`` a :class:`~semalloc.rl.hybrid.HybridPolicy`, ``obs`` its observation of slot ``inst``. Every
    change of one user's subchannel choice (the K M neighbours of the current assignment) is mapped with
    its bits and the policy's median continuous action for that assignment
    (:meth:`~semalloc.rl.hybrid.HybridPolicy.act_one` with ``assignments``) and scored as one batch whose
    row 0 is the current action itself (the mode in the first pass, mapped as ``drl`` maps it alone: the map
    and the score treat rows independently, to 1e-12 and in practice bit for bit); the best change (the
    first of equals, users in order, then subchannels) is taken while it beats row 0 by more than 1e-9, at
    most ``changes`` times (then one pass fewer: the last change is not confirmed). A 1-opt local search
    through the agent's own action map when it stops on its own (with ``swaps``, one over single changes and
    swaps); the mode itself when no change gains
    (never below it). ``moved``: users the ``Nt`` cap moved or dropped; ``choices`` (K,): the present users'
    subchannel choices found (0 = none, m + 1 = subchannel m), before that cap.

    ``swaps``: a pass in which no single change gains then scores, as a second batch with the same row 0,
    every swap of two users' choices (users on different choices, pairs in order), which a full subchannel
    needs (``best``'s search has both); a swap counts as one of the ``changes``. Then the search stops where
    neither a single change nor a swap gains.

    ``reallocate``: the assignment found and its bits then get the power and bandwidth of ``best``'s price
    search (zero-forcing beams, the ``perception``'s value) when that scores higher than the policy's own
    continuous action (never below the search).
    """
    from .env import scored, to_allocation
    K, M = inst.K, net.M
    now = net.act_one(obs)                                              # the mode: row 0 of the first pass
    s = now["discrete"][:K].copy()                                      # the K present users' choices
    user = np.repeat(np.arange(K), M)                   # neighbour k M + i: user k on its i-th choice but its own
    pairs = np.array([(i, j) for i in range(K) for j in range(i + 1, K)], dtype=np.int64).reshape(-1, 2)

    def scored_batch(cand):                 # row 0: the current action itself, mapped as alone (rows independent)
        act = {k: np.concatenate([now[k][None], x]) for k, x in net.act_one(obs, assignments=cand).items()}
        v, moved = to_allocation(inst, act, perception)
        score = scored(inst, v, perception)[1]
        pick = int(np.argmax(score))
        return (pick if score[pick] > score[0] + 1e-9 else 0), act, v, moved, score

    for _ in range(changes):
        other = np.arange(M)[None] + (np.arange(M)[None] >= s[:, None])     # (K, M), in 0..M
        cand = np.repeat(s[None], K * M, axis=0)
        cand[np.arange(K * M), user] = other.ravel()
        pick, act, v, moved, score = scored_batch(cand)
        if not pick and swaps:                                          # no single change gains: swaps of
            ij = pairs[s[pairs[:, 0]] != s[pairs[:, 1]]]                # two users on different choices
            if len(ij):
                cand = np.repeat(s[None], len(ij), axis=0)
                rows = np.arange(len(ij))
                cand[rows, ij[:, 0]], cand[rows, ij[:, 1]] = s[ij[:, 1]], s[ij[:, 0]]
                pick, act, v, moved, score = scored_batch(cand)
        if not pick:
            break
        s, now = cand[pick - 1], {k: x[pick] for k, x in act.items()}
    out = {k: x[pick] for k, x in v.items()}
    if reallocate:
        from ..problems.sbq.algorithms import allocate, perceived_value
        from ..problems.sbq.beams import to_variables, zf_directions
        sub, q = out["subchannel"], out["bits"]
        zf = zf_directions(inst, sub)                                   # for the search and the beams, once
        value, power, band = allocate(inst, sub, q, perceived_value if perception == "mapping" else None, zf)
        if value > score[pick] + 1e-9:
            out = to_variables(inst, sub, q, power, band, zf[0])
    return out, int(moved[pick]), s
