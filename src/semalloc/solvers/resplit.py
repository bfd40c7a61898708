"""Pairwise re-split of a budget: ascent over pairs of shares, each pair's total split anew on a grid.

A price (Lagrangian) search of a shared budget reaches only the points where every user's value is on
its concave hull; a value that jumps (a deadline met or missed) leaves the rest out. Re-splitting the
total of two shares over a grid of every split of it, the best pair and split at a time, then zooming in
on the current splits, reaches them. sbq's ``best`` polishes its price search's power and bandwidth
with it (:func:`semalloc.problems.sbq.algorithms.polish`).

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.resplit import pairwise_resplit
>>> f = lambda x: (x >= 0.6).sum(-1) + 0.1 * x[..., 0]    # 1 at 0.6 each: one of the two can be paid
>>> x, value, moves = pairwise_resplit(f, np.array([0.5, 0.5]))
>>> round(float(value), 3), bool(x[0] >= 0.6), float(x.sum())
(1.1, True, 1.0)
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["pairwise_resplit"]


def pairwise_resplit(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, active=None, grid: int = 65,
                     zoom: int = 17, min_span: float = 1e-6, tol: float = 1e-12,
                     max_rounds: int = 500) -> tuple[np.ndarray, float, int]:
    """``(x, f(x), moves)``: ``x`` improved by re-splitting the sum of two of its ``active`` entries.

    ``f`` maps a batch of splits ``(..., n)`` to their values ``(...)``. Each round scores, as one batch,
    every pair ``(i, j)`` of ``active`` entries (default: all) with ``x_i`` set to each fraction of
    ``x_i + x_j`` on a grid and ``x_j`` to the rest, and takes the best when it gains more than ``tol``
    (relative to ``max(1, |f(x)|)``). The grid is ``grid`` points over ``[0, 1]`` until no pair gains,
    then ``zoom`` points within ``+-span`` of each pair's current fraction, ``span`` from one coarse step
    halving whenever no pair gains, down to ``min_span``. Every entry outside ``active`` and the sum over
    ``active`` stay as they were (up to rounding); ``f(x)`` never falls.
    """
    x = np.array(x, dtype=float)
    active = np.arange(len(x)) if active is None else np.asarray(active, dtype=np.int64)
    now = float(f(x))
    if len(active) < 2:
        return x, now, 0
    a, b = np.triu_indices(len(active), 1)
    i, j = active[a], active[b]
    rows = np.arange(len(i))
    coarse, near = np.linspace(0.0, 1.0, grid)[None], np.linspace(-1.0, 1.0, zoom)[None]
    span, moves = None, 0
    for _ in range(max_rounds):
        total = x[i] + x[j]
        if span is None:
            t = np.broadcast_to(coarse, (len(i), grid))
        else:
            now_t = np.where(total > 0, x[i] / np.where(total > 0, total, 1.0), 0.0)
            t = np.clip(now_t[:, None] + span * near, 0.0, 1.0)
        xi = total[:, None] * t
        trial = np.broadcast_to(x, (*t.shape, len(x))).copy()
        trial[rows, :, i] = xi
        trial[rows, :, j] = total[:, None] - xi
        value = f(trial)
        k = np.unravel_index(int(np.argmax(value)), value.shape)
        if value[k] > now + tol * max(1.0, abs(now)):
            x, now, moves = trial[k], float(value[k]), moves + 1
        elif span is None:
            span = 1.0 / (grid - 1)
        else:
            span /= 2
            if span < min_span:
                break
    return x, now, moves
