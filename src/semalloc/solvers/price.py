"""Search for a resource price: dual decomposition of one shared budget.

Many allocation subproblems split into per-user problems once a price
``zeta`` is put on a shared resource (bandwidth, power): each user answers
with its usage at that price, usage falls as the price rises, and the price
that makes total usage meet the budget is found by a safeguarded
one-dimensional search. A user whose answer jumps at the final price (a tie
between two optimal answers) gets the convex combination of its two answers
that uses exactly the budget, which is optimal when every per-user problem
is convex.

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

A ``respond`` that also returns ``d sum(usage) / d ln(zeta)`` gets Newton
steps (here ``-sum(x)``), and from a guess the search needs a few answers:

>>> calls = []
>>> def respond_with_slope(zeta):
...     calls.append(zeta)
...     x = w / max(zeta, 1e-300)
...     return x, (x,), -x.sum()
>>> zeta, (x,) = bisect_price(respond_with_slope, budget=12.0, hi=100.0, guess=2.0)
>>> round(zeta, 12), len(calls) <= 4
(0.5, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["bisect_price"]


@dataclass
class _Answer:
    """The users' answers at one price, with ``f = ln(total usage / budget)`` and ``slope = df / d ln(price)``
    (None when ``respond`` gives no derivative)."""

    price: float
    use: np.ndarray
    pay: tuple
    f: float
    slope: float | None


def bisect_price(respond: Callable[[float], tuple], budget: float, hi: float, guess: float | None = None,
                 jumps: Callable[[float, float], np.ndarray] | None = None, least: float = 0.0,
                 rtol: float = 1e-13, ftol: float = 1e-12, max_iter: int = 200) -> tuple[float, tuple]:
    """Least price ``zeta >= least`` (default 0) with ``sum(usage(zeta)) <= budget``, and the answers there.

    ``respond(zeta) -> (usage, payload)`` gives each user's usage (non-increasing
    in ``zeta``) and a tuple of arrays describing its answer (``usage`` is
    usually one of them); ``respond`` may return a third item, the derivative
    ``d sum(usage) / d ln(zeta)`` (<= 0) of the smooth piece it is on, which
    enables Newton steps. ``hi`` must be a price at which the budget holds;
    ``guess`` (e.g. the previous price of a sequence of similar problems) is
    where the search starts if given. If the budget holds at price ``least`` the
    answers there are returned; a price below ``1e-30 hi`` counts as ``least``
    (where usage only meets the budget above ``least``, arbitrarily close to it,
    the answers at ``least`` and at that floor are mixed). ``jumps(lo, hi)``, if given, returns the prices
    in ``(lo, hi)`` at which some user's usage jumps (it is called at most once).

    The search works on ``f = ln(usage / budget)`` against ``ln zeta`` and keeps
    the bracket of the largest price over budget and the least price within it.
    A step is *stalled* when two steps have not halved the nearer end's ``|f|``
    or the last Newton or falsi step did not halve it (usage jumps at the
    price, or the step's model is poor). Each step is, in this order of
    preference: while known jumps lie inside the bracket, a probe of one of
    them at ``z (1 +- rtol/4)``, the side nearer the secant's root first and
    the other side if the first did not settle it (the jump nearest the
    secant's root, or the middle one if the last probe left more than half of
    them inside; ``jumps`` is asked once, at the first stall); unless stalled,
    Newton's step from the newest answer (aimed ``0.9 ftol`` below the budget,
    so that it ends on the feasible side) if it falls inside the bracket;
    unless stalled, a regula falsi step (Illinois variant) once both ends are
    known; a geometric bisection; before both ends are known, a geometric step
    away from the known end that squares each time (1.5, 2.25, 5.1, ...). It
    stops when the bracket's relative width is ``rtol`` or the total usage at
    one end is within a factor ``1 +- ftol`` of the budget. If the end within
    budget is that close, its answers are returned; otherwise the answers at
    the two ends are mixed, ``theta * hi_answer + (1 - theta) * lo_answer``,
    so that total usage equals ``budget``; the price returned is mixed the
    same way.
    """
    def visit(price: float) -> _Answer:
        out = respond(price)
        total = float(out[0].sum())
        if budget > 0:
            f = float(np.log(total / budget)) if total > 0 else -np.inf
            slope = out[2] / total if len(out) > 2 and total > 0 else None
        else:
            f, slope = total - budget, None
        return _Answer(price, out[0], out[1], f, slope)

    lo = up = None                                  # largest price over budget, least price within it

    def keep(ans: _Answer) -> None:
        nonlocal lo, up
        if ans.f > 0:
            lo = ans if lo is None or ans.price > lo.price else lo
        else:
            up = ans if up is None or ans.price < up.price else up

    if guess is not None and least < guess < hi:
        last = visit(guess)
    else:
        last = visit(least)
        if last.f <= 0:
            return least, last.pay
        keep(last)
        last = visit(hi)
        if last.f > 0:
            raise ValueError(f"budget not met even at price {hi:g}")
    keep(last)
    floor = max(least, 1e-30 * hi)                  # prices below 1e-30 hi count as the least one
    grow, since, ref, f_ref, guards, side = 1.5, 0, np.inf, np.inf, 0, 0
    known, pending, leap, probed = None, None, False, np.inf   # jump prices; low side of the last probe
    for _ in range(max_iter):
        if up is not None and (-up.f <= ftol or up.price <= floor or (
                lo is not None and (lo.f <= ftol or up.price - lo.price <= rtol * up.price))):
            break
        a, b = (lo.price if lo is not None else least), (up.price if up is not None else hi)
        width = np.log(b / a) if a > 0 else np.inf
        near = min(lo.f if lo is not None else np.inf, -up.f if up is not None else np.inf)
        stalled = False
        if since == 0 or not np.isfinite(ref):
            ref, since, f_ref = width, 0, near
        elif since >= 2:                  # every two steps must halve the nearer end's |f|: if not, a jump
            stalled = near > 0.5 * f_ref
            ref, since, f_ref = width, 0, near
        stalled |= leap                   # a jump near, or the model of the step is poor here
        guards += stalled
        price, falsi, start = None, False, None
        both = lo is not None and up is not None and a > 0       # a bracket, in ln(price)
        if stalled and jumps is not None and known is None and both:
            known = np.asarray(jumps(a, b), dtype=float)
        inside = known[(known > a) & (known < b)] if known is not None else ()
        if pending is not None and a < pending < b:          # the jump's other side, if the side tried
            price, pending = pending, None                   # first did not settle it
        elif len(inside):                                    # probe the jump nearest the secant's root
            t = float(np.clip(lo.f / (lo.f - up.f), 0.0, 1.0)) if np.isfinite(lo.f) else 0.5
            guess_ln = np.log(a) + t * width
            middle = len(inside) > 0.5 * probed              # (the middle one if the last probe left
            z = float(inside[len(inside) // 2] if middle else   # more than half of them inside)
                      inside[np.argmin(np.abs(np.log(inside) - guess_ln))])
            probed, known = len(inside), known[known != z]
            sides = (z * (1 + 0.25 * rtol), z * (1 - 0.25 * rtol))   # the side nearer the secant's root first
            price, pending = sides if middle or guess_ln >= np.log(z) else sides[::-1]
            since = -1
        elif not stalled and last.slope is not None and last.slope < 0 and last.price > 0:
            cand = last.price * float(np.exp(np.clip(-(last.f + 0.9 * ftol) / last.slope, -30.0, 30.0)))
            price, start = (cand, min(near, abs(last.f))) if a < cand < b else (None, None)   # Newton
        if price is None and both:
            f_lo, f_up = lo.f * (0.5 if side == -1 else 1.0), up.f * (0.5 if side == 1 else 1.0)
            if not stalled and guards < 3 and np.isfinite(f_lo) and np.isfinite(f_up):   # Illinois: halve
                price, falsi = float(a * np.exp(np.clip(f_lo / (f_lo - f_up), 0.01, 0.99) * width)), True
                start = near
            else:
                price, since = float(np.sqrt(a * b)), -1         # geometric bisection
        elif price is None:                                      # one end known: step away from it
            price, grow = (min(a * grow, hi) if up is None else max(b / grow, floor)), min(grow * grow, 1e30)
        since += 1
        last = visit(price)
        if up is None and price == hi and last.f > 0:
            raise ValueError(f"budget not met even at price {hi:g}")
        side = (1 if last.f > 0 else -1) if falsi else 0
        leap = start is not None and abs(last.f) > 0.5 * start     # a Newton or falsi step did not halve |f|
        keep(last)
    if up is None:
        up = visit(hi)
        if up.f > 0:
            raise ValueError(f"budget not met even at price {hi:g}")
    if lo is None or -up.f <= ftol or not np.isfinite(lo.f):   # a far (or unbounded) end would only add
        return up.price, up.pay                                  # rounding to the mix
    s_lo, s_up = lo.use.sum(), up.use.sum()
    theta = (s_lo - budget) / (s_lo - s_up) if s_lo > s_up else 1.0
    mixed = tuple(theta * h + (1.0 - theta) * l for h, l in zip(up.pay, lo.pay))
    return float(theta * up.price + (1.0 - theta) * lo.price), mixed
