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


def bisect_price(respond: Callable[[float], tuple[np.ndarray, tuple]], budget: float, hi: float,
                 rtol: float = 1e-13, max_iter: int = 200) -> tuple[float, tuple]:
    """Least price ``zeta >= 0`` with ``sum(usage(zeta)) <= budget``, and the answers there.

    ``respond(zeta) -> (usage, payload)`` gives each user's usage (non-increasing
    in ``zeta``) and a tuple of arrays describing its answer (``usage`` is
    usually one of them). ``hi`` must be a price at which the budget holds.
    If it holds at price 0 the answers at 0 are returned. Otherwise the
    bracket shrinks geometrically to relative width ``rtol`` and the answers
    at its two ends are mixed, ``theta * hi_answer + (1 - theta) * lo_answer``,
    so that total usage equals ``budget``.
    """
    use, pay = respond(0.0)
    if use.sum() <= budget:
        return 0.0, pay
    lo, lo_use, lo_pay = 0.0, use, pay
    hi_use, hi_pay = respond(hi)
    if hi_use.sum() > budget:
        raise ValueError(f"budget not met even at price {hi:g}")
    for _ in range(max_iter):
        if lo > 0 and hi - lo <= rtol * hi:
            break
        mid = float(np.sqrt(lo * hi)) if lo > 0 else hi * 1e-3
        use, pay = respond(mid)
        if use.sum() > budget:
            lo, lo_use, lo_pay = mid, use, pay
        else:
            hi, hi_use, hi_pay = mid, use, pay
    s_lo, s_hi = lo_use.sum(), hi_use.sum()
    theta = (s_lo - budget) / (s_lo - s_hi) if s_lo > s_hi else 1.0
    return float(hi), tuple(theta * h + (1.0 - theta) * lo_ for h, lo_ in zip(hi_pay, lo_pay))
