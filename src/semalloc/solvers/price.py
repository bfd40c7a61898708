"""Bisection on a resource price: dual decomposition of one shared budget.

Many allocation subproblems split into per-user problems once a price
``zeta`` is put on a shared resource (bandwidth, power): each user answers
with its usage at that price, usage falls as the price rises, and the price
that makes total usage meet the budget is found by bisection. A user whose
answer jumps at the final price (a tie between two optimal answers) gets the
convex combination of its two answers that uses exactly the budget, which
is optimal when every per-user problem is convex.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.price import bisect_price
>>> w = np.array([1.0, 2.0, 3.0])
>>> def respond(zeta):              # max w log(x) - zeta x  ->  x = w / zeta
...     x = w / max(zeta, 1e-300)
...     return x, (x,)
>>> zeta, (x,) = bisect_price(respond, budget=12.0, hi=100.0)
>>> round(zeta, 9), np.round(x, 9)
(0.5, array([2., 4., 6.]))
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["bisect_price"]


def _bracket_from(respond, budget, hi, guess):
    """``(lo, lo_answer, hi, hi_answer)`` around ``guess`` by steps that square each time
    (1.5, 2.25, 5.1, ...), or None when the search reaches price 0 or ``hi`` (cold start)."""
    use, pay = respond(guess)
    over, step, prev, near = use.sum() > budget, 1.5, guess, (use, pay)
    while step < 1e30:
        price = prev * step if over else prev / step
        if price >= hi:
            return None
        use, pay = respond(price)
        if (use.sum() > budget) != over:
            return (prev, near, price, (use, pay)) if over else (price, (use, pay), prev, near)
        prev, near, step = price, (use, pay), step * step
    return None


def bisect_price(respond: Callable[[float], tuple[np.ndarray, tuple]], budget: float, hi: float,
                 guess: float | None = None, rtol: float = 1e-13, ftol: float = 1e-12,
                 max_iter: int = 200) -> tuple[float, tuple]:
    """Least price ``zeta >= 0`` with ``sum(usage(zeta)) <= budget``, and the answers there.

    ``respond(zeta) -> (usage, payload)`` gives each user's usage (non-increasing
    in ``zeta``) and a tuple of arrays describing its answer (``usage`` is
    usually one of them). ``hi`` must be a price at which the budget holds;
    ``guess`` (e.g. the previous price of a sequence of similar problems) is
    where the search starts if given. If the budget holds at price 0 the
    answers at 0 are returned. Otherwise the
    bracket ``[lo, hi]`` shrinks, by regula falsi of ``log(usage / budget)``
    on ``log zeta`` (Illinois variant), with a geometric bisection whenever
    two such steps have not halved the bracket, and bisection alone once that
    has happened three times (an answer jumps at the price), until its
    relative width is ``rtol`` or the total usage at one end is within a
    factor ``1 +- ftol`` of the budget. The answers at its two ends are then
    mixed, ``theta * hi_answer + (1 - theta) * lo_answer``, so that total usage
    equals ``budget``; the price returned is mixed the same way.
    """
    found = _bracket_from(respond, budget, hi, guess) if guess is not None and 0 < guess < hi else None
    if found is not None:
        lo, (lo_use, lo_pay), hi, (hi_use, hi_pay) = found
    else:
        use, pay = respond(0.0)
        if use.sum() <= budget:
            return 0.0, pay
        lo, lo_use, lo_pay = 0.0, use, pay
        hi_use, hi_pay = respond(hi)
    if hi_use.sum() > budget:
        raise ValueError(f"budget not met even at price {hi:g}")
    excess = lambda u: float(np.log(u.sum() / budget)) if budget > 0 else float(u.sum() - budget)
    f_lo, f_hi = (excess(lo_use) if lo > 0 else np.inf), excess(hi_use)   # log(usage/budget): > 0 at lo, <= 0 at hi
    side, since, ref, guards = 0, 0, np.inf, 0
    for _ in range(max_iter):
        if lo > 0 and (hi - lo <= rtol * hi or min(f_lo, -f_hi) <= ftol):
            break
        width = np.log(hi / lo) if lo > 0 else np.inf
        if since == 0:
            ref = width
        stalled = since >= 2 and width > 0.5 * ref           # falsi is not converging: a jump in usage?
        guards += stalled
        if lo > 0 and np.isfinite(f_lo) and np.isfinite(f_hi) and guards < 3 and not stalled:
            mid, since = float(lo * np.exp(np.clip(f_lo / (f_lo - f_hi), 0.01, 0.99) * width)), since + 1
        else:                                                # geometric bisection: halves log(hi/lo)
            mid, since, side = (float(np.sqrt(lo * hi)) if lo > 0 else hi * 1e-3), 0, 0
        use, pay = respond(mid)
        f_mid = excess(use)
        if f_mid > 0:
            lo, lo_use, lo_pay, f_lo = mid, use, pay, f_mid
            f_hi, side = (f_hi / 2 if side == 1 else f_hi), 1            # Illinois: halve a stale end
        else:
            hi, hi_use, hi_pay, f_hi = mid, use, pay, f_mid
            f_lo, side = (f_lo / 2 if side == -1 else f_lo), -1
    s_lo, s_hi = lo_use.sum(), hi_use.sum()
    theta = (s_lo - budget) / (s_lo - s_hi) if s_lo > s_hi else 1.0
    mixed = tuple(theta * h + (1.0 - theta) * lo_ for h, lo_ in zip(hi_pay, lo_pay))
    return float(theta * hi + (1.0 - theta) * lo), mixed
