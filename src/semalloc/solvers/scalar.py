"""Vectorised one-dimensional searches: many independent problems at once.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.scalar import golden_max, bisect_increasing
>>> x, fx = golden_max(lambda x: -(x - np.array([0.3, 2.0])) ** 2, np.zeros(2), np.full(2, 3.0))
>>> np.round(x, 6)
array([0.3, 2. ])
>>> np.round(bisect_increasing(lambda x: x ** 3, np.array([8.0, 27.0]), 0.0, 10.0), 9)
array([2., 3.])
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["golden_max", "bracket", "bisect_increasing", "newton_root"]

_INVPHI = (np.sqrt(5.0) - 1.0) / 2.0


def golden_max(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray,
               iters: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Maximise unimodal ``f`` elementwise on ``[lo, hi]`` by golden-section search.

    ``f`` maps an array shaped like ``lo`` to values of the same shape. After
    ``iters`` iterations the bracket has shrunk by ``0.618**iters`` (1e-13 for
    the default 60). The returned point is the best of the final interior
    point and both original end points, so a maximum on the boundary is found.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    a, b = lo.copy(), hi.copy()
    c, d = b - _INVPHI * (b - a), a + _INVPHI * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        left = fc >= fd                      # maximum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        d_new, c_new = np.where(left, c, a + _INVPHI * (b - a)), np.where(left, b - _INVPHI * (b - a), d)
        # one fresh evaluation per element: the new c (left) or the new d (right)
        x_new = np.where(left, c_new, d_new)
        f_new = f(x_new)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_new, d_new
    x = np.where(fc >= fd, c, d)
    fx = np.maximum(fc, fd)
    for edge in (lo, hi):
        fe = f(edge)
        better = fe > fx
        x, fx = np.where(better, edge, x), np.where(better, fe, fx)
    return x, fx


def bracket(below: Callable[[np.ndarray], np.ndarray], lo, hi, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise bisection of a monotone predicate: ``below(x)`` is True left
    of a boundary in ``[lo, hi]`` and False right of it. Returns the final
    bracket ``(a, b)`` (width ``(hi - lo) / 2**iters``): ``a`` the last point
    found below, ``b`` the last point found above (``lo``/``hi`` if none).

    Examples
    --------
    >>> a, b = bracket(lambda x: x * x <= 2.0, np.array([0.0]), np.array([2.0]), iters=40)
    >>> bool(a[0] <= 2 ** 0.5 <= b[0] and b[0] - a[0] < 1e-11)
    True
    """
    a, b = np.array(lo, dtype=float, copy=True), np.array(hi, dtype=float, copy=True)
    for _ in range(iters):
        mid = 0.5 * (a + b)
        ok = below(mid)
        a, b = np.where(ok, mid, a), np.where(ok, b, mid)
    return a, b


def bisect_increasing(f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, lo, hi,
                      iters: int = 100) -> np.ndarray:
    """Solve ``f(x) = target`` elementwise for non-decreasing ``f`` on ``[lo, hi]``.

    Returns the largest ``x`` found with ``f(x) <= target`` (to bracket width
    ``(hi - lo) / 2**iters``); ``lo`` where even ``f(lo) > target``.
    """
    target = np.asarray(target, dtype=float)
    a = np.broadcast_to(np.asarray(lo, dtype=float), target.shape)
    b = np.broadcast_to(np.asarray(hi, dtype=float), target.shape)
    return bracket(lambda x: f(x) <= target, a, b, iters)[0]


def newton_root(f: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], lo, hi, x0=None,
                rtol: float = 1e-15, iters: int = 60) -> np.ndarray:
    """Root of ``f`` elementwise in ``[lo, hi]`` (``0 < lo < hi``), where ``f(lo) <= 0 < f(hi)``,
    by Newton's method kept inside the bracket: a Newton step that leaves it is replaced by a
    geometric bisection (``sqrt(lo hi)``), so the bracket shrinks on every step.

    ``f(x, mask) -> (value, derivative)`` is called on ``x[mask]`` (the elements not yet within
    ``rtol`` relative); ``mask`` tells which elements they are. ``x0`` is the first point
    (default ``sqrt(lo hi)``). Returns the last Newton point, or the middle of the final bracket.

    Examples
    --------
    >>> fd = lambda x, m: (x ** 3 - np.array([2.0, 5.0])[m], 3 * x ** 2)
    >>> r = newton_root(fd, np.array([1e-3, 1e-3]), np.array([10.0, 10.0]))
    >>> bool(np.allclose(r ** 3, [2.0, 5.0], rtol=1e-14))
    True
    """
    a, b = np.array(lo, dtype=float, copy=True), np.array(hi, dtype=float, copy=True)
    x = np.sqrt(a * b) if x0 is None else np.array(x0, dtype=float, copy=True)
    live = np.ones(x.shape, dtype=bool)
    for _ in range(iters):
        if not live.any():
            break
        xs = x[live]
        fx, dfx = f(xs, live)
        up = fx > 0
        a[live], b[live] = np.where(up, a[live], xs), np.where(up, xs, b[live])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = xs - fx / dfx
        al, bl = a[live], b[live]
        close = np.abs(step - xs) <= rtol * xs
        done = (fx == 0) | close | (bl - al <= rtol * bl)
        x[live] = np.where(fx == 0, xs, np.where(close | ((step > al) & (step < bl)), step, np.sqrt(al * bl)))
        live[np.flatnonzero(live)[done]] = False
    return x
