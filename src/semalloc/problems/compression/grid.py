"""Per-user value of resources, maximised over the compression ratio.

``V_i(B, P) = w_i max_o eta(o) P(t_i <= t0)`` is non-decreasing in ``B`` and
``P`` (``x`` of eq. 8 decreases in both), and the objective (13) is the sum
of the ``V_i`` of the selected users: the problem is a separable allocation
of two budgets. ``best`` and ``exact`` work on tables of ``V_i``.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.compression.instance import generate
>>> from semalloc.problems.compression.grid import best_o, O_GRID
>>> inst = generate(seed=0, users=2)
>>> v, o = best_o(inst, np.array([[1e6], [1e6]]), np.array([[0.1], [0.1]]), O_GRID)
>>> v.shape, bool(np.all((o > 0) & (o < 1)))
((2, 1), True)
"""
from __future__ import annotations

import numpy as np

from ...perf.eta import eta, eta_upper
from ...perf.success import outage_argument, success

__all__ = ["O_GRID", "best_o", "best_o_fast", "upper_o", "refine_o", "user_success_at"]

#: Algorithm 2's enumeration grid, o = 0.01, 0.02, ..., 0.99 (0 < o < 1).
O_GRID = np.arange(1, 100) / 100.0
#: ``best``'s coarse grid, refined locally (:func:`best_o_fast`).
O_COARSE = np.arange(2, 100, 4) / 100.0
#: Ratios beyond the coarse grid's last cell that :func:`best_o_fast` also tries: where only sending very little
#: meets a deadline, the best ``o`` lies above 0.99 (an audit found ``best`` at 0 where ``exact``, whose grid
#: reaches 0.9975, was not).
O_TAIL = 1.0 - np.logspace(-2.25, -5, 12)


def _channel(inst, idx: np.ndarray, ndim: int) -> dict:
    """The channel arrays of users ``idx`` shaped to broadcast against (len(idx), ...) arrays."""
    ext = (slice(None),) + (None,) * (ndim - 1)
    return {k: (v[idx][ext] if isinstance(v, np.ndarray) else v) for k, v in inst.channel().items()}


def best_o(inst, B: np.ndarray, P: np.ndarray, o_grid: np.ndarray, model: str = "exact",
           users: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``max_o w eta(o) g(o, B, P)`` over ``o_grid`` for resource arrays ``B``, ``P``
    of shape (U, ...) (first axis: the users, or ``users`` if given).

    Ties go to the largest ``o`` (Algorithm 2's ``h >= h_0`` keeps the last).
    Returns ``(value, o)``, both shaped like ``B``.
    """
    B, P = np.broadcast_arrays(np.asarray(B, dtype=float), np.asarray(P, dtype=float))
    idx = np.arange(inst.U) if users is None else np.asarray(users)
    ch = _channel(inst, idx, B.ndim)
    zeta = inst.eta_profile.zeta
    best = np.full(B.shape, -1.0)
    arg = np.zeros(B.shape)
    for o in o_grid[::-1]:                       # descending: strict > keeps the largest o on ties
        val = eta(o, zeta) * success(outage_argument(o, B, P, **ch), model)
        better = val > best
        best = np.where(better, val, best)
        arg = np.where(better, o, arg)
    w = inst.weight[idx][(slice(None),) + (None,) * (B.ndim - 1)]
    return w * best, arg


def best_o_fast(inst, B: np.ndarray, P: np.ndarray, model: str = "exact") -> tuple[np.ndarray, np.ndarray]:
    """:func:`best_o` on a coarse grid (0.02, 0.06, ..., 0.98), then on 9 points
    within +-0.04 of the winner (step 0.01) in every cell, and at :data:`O_TAIL`: 46 evaluations
    instead of 99. Exact when ``eta(o) g`` is unimodal in ``o`` between
    coarse points. Returns ``(value, o)`` shaped like ``B`` (all users)."""
    val, o = best_o(inst, B, P, O_COARSE, model)
    B, P = np.broadcast_arrays(np.asarray(B, dtype=float), np.asarray(P, dtype=float))
    ch = _channel(inst, np.arange(inst.U), B.ndim)
    w = inst.weight[(slice(None),) + (None,) * (B.ndim - 1)]
    zeta = inst.eta_profile.zeta
    def candidates():                            # around the current winner (read anew at each step), then
        for t in np.arange(-4, 5) / 100.0:       # what pays only near o = 1 (little data, a tight deadline)
            yield np.clip(o + t, 0.01, 0.99)
        yield from O_TAIL

    for cand in candidates():
        v = w * eta(cand, zeta) * success(outage_argument(cand, B, P, **ch), model)
        better = v > val
        val, o = np.where(better, v, val), np.where(better, cand, o)
    return val, o


def user_success_at(inst, idx: np.ndarray, o, B, P, model: str = "exact") -> np.ndarray:
    """``eta(o_i) P(t_i <= t0)`` (eq. 11) of the users ``idx`` (1-D arrays aligned with ``idx``)."""
    ch = _channel(inst, np.asarray(idx), 1)
    return eta(o, inst.eta_profile.zeta) * success(outage_argument(o, B, P, **ch), model)


def upper_o(inst, B: np.ndarray, P: np.ndarray, n_cells: int, users: np.ndarray | None = None) -> np.ndarray:
    """An upper bound of ``w max_{0<o<1} eta(o) 2Q(x)``: on each cell
    ``[o_j, o_j+1]`` of a uniform grid, ``eta <= eta_upper`` and the success
    probability (increasing in ``o``) is at most its value at ``o_j+1``."""
    B, P = np.broadcast_arrays(np.asarray(B, dtype=float), np.asarray(P, dtype=float))
    idx = np.arange(inst.U) if users is None else np.asarray(users)
    ch = _channel(inst, idx, B.ndim)
    zeta = inst.eta_profile.zeta
    nodes = np.linspace(0.0, 1.0, n_cells + 1)
    best = np.zeros(B.shape)
    for lo, hi in zip(nodes[:-1], nodes[1:]):
        best = np.maximum(best, eta_upper(lo, hi, zeta) * success(outage_argument(hi, B, P, **ch), "exact"))
    return inst.weight[idx][(slice(None),) + (None,) * (B.ndim - 1)] * best


def refine_o(inst, o: np.ndarray, B: np.ndarray, P: np.ndarray, step: float, model: str = "exact",
             points: int = 41) -> np.ndarray:
    """Search ``[o - step, o + step]`` (inside (0, 1)) per user on ``points`` points
    including ``o`` itself, so the value never decreases; returns the new ``o``."""
    t = np.linspace(-1.0, 1.0, points)
    t = np.append(t, 0.0)
    cand = np.clip(o[:, None] + step * t[None, :], 1e-6, 1 - 1e-6)
    ch = _channel(inst, np.arange(inst.U), 2)
    val = eta(cand, inst.eta_profile.zeta) * success(outage_argument(cand, B[:, None], P[:, None], **ch), model)
    j = np.argmax(val[:, ::-1], axis=1)                # ties: keep the current o (last column)
    return cand[np.arange(len(o)), points - j]
