"""Swap matching with externalities (Zhao et al.; Zheng et al., Algs. 1-2).

A matching problem with externalities has no fixed preference lists: the
value of a match depends on the whole matching. Swap matching walks from a
feasible matching through *swap-blocking* operations: an exchange of matched
partners after which no involved party (agents, their partners, holes have
no say) is worse off and at least one is strictly better off. It stops at a
two-sided exchange-stable matching, where no swap-blocking operation exists.

The engine is problem-agnostic: the problem lists, for one agent, its
candidate swaps with the values every involved party gives them before and
after (lower is better), and applies the one the engine picks.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.matching import swap_blocking, swap_matching
>>> swap_blocking(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([[1.0, 1.5], [0.5, 2.5]]))
array([ True, False])

Two agents on two seats, each prefers the other's seat: one swap fixes it.

>>> seat = np.array([0, 1])
>>> cost = np.array([[2.0, 1.0], [1.0, 2.0]])          # cost[agent, seat]
>>> def candidates(a):
...     b = 1 - a
...     before = np.array([[cost[a, seat[a]], cost[b, seat[b]]]])
...     after = np.array([[cost[a, seat[b]], cost[b, seat[a]]]])
...     return before, after, [b]
>>> def apply(a, b):
...     seat[[a, b]] = seat[[b, a]]
>>> swap_matching([0, 1], candidates, apply).swaps, seat.tolist()
(1, [1, 0])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

__all__ = ["swap_blocking", "swap_matching", "SwapReport", "RTOL"]

#: Relative tolerance of "strictly better" and "not worse": a value changes
#: only if it moves by more than ``RTOL * max(1, |value|)``.
RTOL = 1e-9


def swap_blocking(before: np.ndarray, after: np.ndarray, rtol: float = RTOL) -> np.ndarray:
    """Which candidate swaps are swap-blocking (lower values are better).

    ``before`` and ``after`` have shape ``(candidates, parties)``; a NaN
    marks a party without a say (a hole). Blocking: no party worse by more
    than the tolerance, and at least one better by more than it (eqs. 12-15,
    21-22). Infinite values compare exactly.
    """
    before, after = np.atleast_2d(before), np.atleast_2d(after)
    tol = rtol * np.maximum(1.0, np.where(np.isfinite(before), np.abs(before), 0.0))
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isnan(before) | np.isnan(after), 0.0, after - before)
        diff = np.where(np.isinf(before) & (before == after), 0.0, diff)
    return np.all(diff <= tol, axis=1) & np.any(diff < -tol, axis=1)


@dataclass
class SwapReport:
    """Swaps applied and full rounds over the agents (the last found none)."""

    swaps: int
    rounds: int
    stable: bool


def swap_matching(agents: Iterable[int],
                  candidates: Callable[[int], tuple[np.ndarray, np.ndarray, Sequence]],
                  apply: Callable[[int, object], None], max_rounds: int = 100,
                  rtol: float = RTOL) -> SwapReport:
    """Swap until no agent has a swap-blocking candidate (or ``max_rounds``).

    ``candidates(a)`` returns ``(before, after, moves)``: the values of the
    involved parties (see :func:`swap_blocking`) for each candidate swap of
    agent ``a``, and the moves themselves; ``apply(a, move)`` performs one.
    Of the blocking candidates the one with the largest total improvement
    is applied (ties: the first). ``stable`` is False only if ``max_rounds``
    ran out.
    """
    agents = list(agents)
    swaps = rounds = 0
    while rounds < max_rounds:
        rounds += 1
        changed = False
        for a in agents:
            before, after, moves = candidates(a)
            if len(moves) == 0:
                continue
            block = swap_blocking(before, after, rtol)
            if not block.any():
                continue
            with np.errstate(invalid="ignore"):
                gain = np.nansum(np.where(np.isfinite(before) & np.isfinite(after), before - after, 0.0), axis=1)
            pick = int(np.flatnonzero(block)[np.argmax(gain[block])])
            apply(a, moves[pick])
            swaps += 1
            changed = True
        if not changed:
            return SwapReport(swaps, rounds, True)
    return SwapReport(swaps, rounds, False)
