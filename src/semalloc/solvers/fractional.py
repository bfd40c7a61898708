"""Sum-of-ratios minimisation by Jong's modified Newton method.

Problem: ``min_x sum_n w_n h_n(x) / g_n(x)`` over a convex set, with
``h_n >= 0`` convex and ``g_n > 0`` concave (each ratio pseudoconvex, the sum
not). Jong (2012, Lemma 2.1 and Theorem 3.1; Li et al. Theorem 1 and
Algorithm 2) shows that ``x*`` is optimal iff it solves the convex problem
``min_x sum_n beta_n (h_n(x) - alpha_n g_n(x))`` with ``alpha_n = h_n/g_n``
and ``beta_n = w_n/g_n`` at ``x*``, i.e. iff ``phi(alpha, beta) = 0`` where

    phi_1n = -h_n(x) + alpha_n g_n(x),   phi_2n = -w_n + beta_n g_n(x)

(eq. 38) and ``x = x(alpha, beta)`` solves that convex problem. Newton's
method on ``phi`` with the Jacobian ``diag(g_n)`` (eqs. 40-41) and a
backtracking step ``xi**j`` (eqs. 39, 42) converges from any start.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.fractional import sum_of_ratios_newton
>>> # min (x1^2 + 1)/x1 + (x2^2 + 4)/x2 with x1 + x2 <= 10 -> x = (1, 2), value 2 + 4 = 6
>>> h = lambda x: x**2 + np.array([1.0, 4.0])
>>> g = lambda x: x
>>> def inner(alpha, beta):        # min beta (x^2 + c - alpha x): x = alpha/2 (budget slack)
...     return alpha / 2
>>> res = sum_of_ratios_newton(inner, h, g, np.array([5.0, 5.0]))
>>> np.round(res.x, 9), res.converged
(array([1., 2.]), True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["sum_of_ratios_newton", "RatioResult"]


@dataclass
class RatioResult:
    """Outcome of :func:`sum_of_ratios_newton`."""

    x: np.ndarray | tuple
    alpha: np.ndarray
    beta: np.ndarray
    iterations: int
    converged: bool
    residuals: list[float] = field(default_factory=list)   # relative ||phi||_inf per iteration


def _phi(h, g, x, alpha, beta, w):
    hx, gx = h(x), g(x)
    return np.concatenate([-hx + alpha * gx, -w + beta * gx]), hx, gx


def sum_of_ratios_newton(inner: Callable, h: Callable, g: Callable, x0, weights=1.0, max_iter: int = 100,
                         xi: float = 0.5, eps: float = 0.01, tol: float = 1e-11,
                         max_backtrack: int = 40) -> RatioResult:
    """Minimise ``sum_n w_n h_n(x)/g_n(x)`` (Li et al. Algorithm 2, Jong 2012).

    ``inner(alpha, beta) -> x`` solves ``min sum_n beta_n (h_n(x) - alpha_n g_n(x))``
    over the feasible set; ``h(x)``, ``g(x)`` give the numerators and
    denominators as arrays; ``x0`` is a feasible start (eq. 37). Stops when
    ``|phi_1n| <= tol h_n`` and ``|phi_2n| <= tol w_n`` for every ``n`` (the
    ratios and weights reproduce themselves) or after ``max_iter`` Newton
    steps, or when no backtracking step decreases ``||phi||`` (``converged``
    is then False: the theory assumes ``phi`` smooth, which a non-unique
    ``inner`` answer breaks). ``residuals`` records ``max_n`` of those relative
    residuals.
    """
    h0, g0 = h(x0), g(x0)
    w = np.broadcast_to(np.asarray(weights, dtype=float), np.shape(g0))
    alpha, beta = h0 / g0, w / g0                                        # eq. 37
    x = inner(alpha, beta)
    phi, hx, gx = _phi(h, g, x, alpha, beta, w)                          # eq. 38
    n = len(gx)
    scale = lambda hx: np.concatenate([np.maximum(hx, 1e-300), w])
    res = [float(np.max(np.abs(phi) / scale(hx)))]
    it = 0
    while res[-1] > tol and it < max_iter:
        sigma = -phi / np.concatenate([gx, gx])                          # eqs. 40-41
        norm0, step = np.linalg.norm(phi), 1.0
        for _ in range(max_backtrack):                                   # eq. 39
            a_t, b_t = alpha + step * sigma[:n], beta + step * sigma[n:]
            x_t = inner(a_t, b_t)
            phi_t, h_t, g_t = _phi(h, g, x_t, a_t, b_t, w)
            if np.linalg.norm(phi_t) <= (1 - eps * step) * norm0:
                break
            step *= xi
        else:
            break                   # no step decreases ||phi||: phi is not smooth here, Newton has stalled
        alpha, beta, x, phi, hx, gx = a_t, b_t, x_t, phi_t, h_t, g_t     # eq. 42
        it += 1
        res.append(float(np.max(np.abs(phi) / scale(hx))))
    return RatioResult(x, alpha, beta, it, res[-1] <= tol, res)
