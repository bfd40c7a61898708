"""Split a budget to minimise a sum of log delays: ``min sum_u ln(alpha_u + beta_u / f_u)``
subject to ``sum_{u in group g} f_u <= F_g`` and ``f_u >= lower_u`` (Zheng et al., problem 26a).

Each term is convex and decreasing in ``f_u`` (``d2/df2 = beta (2 alpha f + beta) /
(f (alpha f + beta))^2 > 0``), so the budget binds and the KKT conditions
read ``beta_u / (f_u (alpha_u f_u + beta_u)) = lambda_g`` for ``f_u > lower_u``.
The stationary point of the quadratic ``alpha lambda f^2 + beta lambda f - beta = 0``
is ``f_u(lambda) = 2 beta_u / (beta_u lambda + sqrt(beta_u^2 lambda^2 + 4 alpha_u beta_u lambda))``,
so ``f_u = max(lower_u, f_u(lambda_g))`` and the price ``lambda_g`` of each group
is found by one bisection on ``ln lambda`` (all groups at once).

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.logsplit import log_delay_split
>>> f = log_delay_split(np.zeros(3), np.array([1.0, 2.0, 3.0]), np.zeros(3), np.zeros(3, int), np.array([6.0]))
>>> np.round(f, 9)                       # alpha = 0: the log objective splits evenly
array([2., 2., 2.])
>>> f = log_delay_split(np.array([1.0, 0.0]), np.ones(2), np.zeros(2), np.zeros(2, int), np.array([1.0]))
>>> bool(f[1] > f[0]), round(float(f.sum()), 9)   # the term with no fixed delay gets more
(True, 1.0)
"""
from __future__ import annotations

import numpy as np

from ..units import SAFETY
from .scalar import bisect_increasing

__all__ = ["log_delay_split", "stationary_share"]


def stationary_share(alpha: np.ndarray, beta: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``f(lambda)`` solving ``beta / (f (alpha f + beta)) = lambda`` (decreasing in lambda)."""
    bl = beta * lam
    return 2.0 * beta / (bl + np.sqrt(bl * bl + 4.0 * alpha * bl))


def log_delay_split(alpha, beta, lower, group, budget, iters: int = 200) -> np.ndarray:
    """The optimal ``f`` of the problem above; ``group[u]`` indexes ``budget``.

    ``alpha >= 0``, ``beta > 0``, ``lower >= 0`` with ``sum lower <= budget``
    per group (the caller relaxes bounds that cannot all hold). Groups
    without members are ignored.
    """
    alpha, beta, lower = (np.asarray(v, dtype=float) for v in (alpha, beta, lower))
    group, budget = np.asarray(group), np.asarray(budget, dtype=float)
    G = len(budget)
    if len(alpha) == 0:
        return np.zeros(0)
    cap = budget * (1.0 - SAFETY)
    count = np.bincount(group, minlength=G)
    # bracket on ln(lambda): every f(lambda) >= cap at lo, sum f(lambda) <= cap * 1e-30 + sum lower at hi
    lam_lo = beta / (cap[group] * (alpha * cap[group] + beta))
    lo = np.full(G, np.inf)
    np.minimum.at(lo, group, np.log(lam_lo))
    hi = np.log(np.maximum(count, 1) / cap) + 70.0
    lo = np.where(np.isfinite(lo), lo - 1.0, hi - 1.0)

    def neg_total(x):
        f = np.maximum(lower, stationary_share(alpha, beta, np.exp(x[group])))
        return -np.bincount(group, weights=f, minlength=G)

    x = bisect_increasing(neg_total, -cap, lo, hi, iters=iters)
    # x is the largest point found with sum f >= cap; one bracket width on, sum f < cap
    x = x + (hi - lo) / 2.0**iters
    return np.maximum(lower, stationary_share(alpha, beta, np.exp(x[group])))
