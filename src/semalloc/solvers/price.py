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
>>> from semalloc.solvers.price import Answer, price_for_budget
>>> w = np.array([1.0, 2.0, 3.0])
>>> def respond(zeta):              # max w log(x) - zeta x  ->  x = w / zeta
...     x = w / max(zeta, 1e-300)
...     return Answer(x, (x,))
>>> zeta, (x,) = price_for_budget(respond, budget=12.0, hi=100.0)
>>> round(zeta, 9), np.round(x, 9)
(0.5, array([2., 4., 6.]))

An answer that also gives ``d sum(usage) / d ln(zeta)`` gets Newton steps
(here ``-sum(x)``), and from a guess the search needs a few answers:

>>> calls = []
>>> def respond_with_slope(zeta):
...     calls.append(zeta)
...     x = w / max(zeta, 1e-300)
...     return Answer(x, (x,), slope=-x.sum())
>>> zeta, (x,) = price_for_budget(respond_with_slope, budget=12.0, hi=100.0, guess=2.0)
>>> round(zeta, 12), len(calls) <= 4
(0.5, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Answer", "price_for_budget"]


class Answer(NamedTuple):
    """The users' answer to one price, as ``respond(zeta)`` gives it to :func:`price_for_budget`.

    Attributes
    ----------
    usage : numpy.ndarray
        Each user's usage of the resource, non-increasing in the price.
    payload : tuple of numpy.ndarray
        The arrays that describe the answer (``usage`` is usually one of
        them); the search returns them, mixed between two prices if need be.
    slope : float or None
        ``d sum(usage) / d ln(zeta)`` (<= 0) on the smooth piece the price is
        on, which enables Newton steps; None if not known.
    """

    usage: np.ndarray
    payload: tuple
    slope: float | None = None


@dataclass
class _Point:
    """The answer at one price visited, with ``f = ln(total usage / budget)`` and
    ``slope = df / d ln(price)`` (None when the answer gives no slope)."""

    price: float
    answer: Answer
    f: float
    slope: float | None


class _Step(NamedTuple):
    """The next price to visit and what the step rule that chose it expects of it."""

    price: float
    halve: float | None = None        # a Newton or falsi step should halve this |f|; if not, the next stalls
    falsi: bool = False               # a regula falsi step (Illinois weights the end it keeps)
    restart: bool = False             # a jump probe or a bisection restarts the two-step stall count


def price_for_budget(respond: Callable[[float], Answer], budget: float, hi: float, guess: float | None = None,
                     jumps: Callable[[float, float], np.ndarray] | None = None, least: float = 0.0,
                     rtol: float = 1e-13, ftol: float = 1e-12, max_iter: int = 200) -> tuple[float, tuple]:
    """Least price ``zeta >= least`` with ``sum(usage(zeta)) <= budget``, and the answers' payload there.

    Parameters
    ----------
    respond : callable
        ``respond(zeta) -> Answer``: the users' usage at price ``zeta``
        (non-increasing in ``zeta``), the payload, and optionally the slope.
    budget : float
        The shared budget that total usage must not exceed.
    hi : float
        A price at which the budget holds (``ValueError`` if it does not).
    guess : float, optional
        Where the search starts (e.g. the price of the previous problem of a
        sequence of similar ones), if inside ``(least, hi)``.
    jumps : callable, optional
        ``jumps(lo, hi)``: the prices in ``(lo, hi)`` at which some user's
        usage jumps; called at most once, at the first stall.
    least : float
        The least price allowed. If the budget holds there, its answer is
        returned; a price below ``1e-30 hi`` counts as ``least`` (where usage
        only meets the budget above ``least``, arbitrarily close to it, the
        answers at ``least`` and at that floor are mixed).
    rtol, ftol : float
        The search stops when the bracket's relative width is ``rtol`` or the
        total usage at one end is within a factor ``1 +- ftol`` of the budget.
    max_iter : int
        At most this many steps after the start.

    Returns
    -------
    price : float
    payload : tuple of numpy.ndarray
        If the end within budget is within ``ftol`` of it, its payload;
        otherwise the payloads at the two ends mixed,
        ``theta * up + (1 - theta) * lo``, so that total usage equals
        ``budget``; the price returned is mixed the same way.

    Notes
    -----
    The search works on ``f = ln(usage / budget)`` against ``ln zeta`` and
    keeps the bracket of the largest price over budget and the least price
    within it; each step takes the first rule of :class:`_Bracket` that
    applies: a jump probe, Newton, regula falsi (Illinois), geometric
    bisection, or (one end known) a growing step away from the known end.
    """
    search = _Bracket(respond, budget, hi, least, jumps, rtol, ftol)
    if search.start(guess):
        return least, search.last.answer.payload
    for _ in range(max_iter):
        if search.done():
            break
        search.step()
    return search.settle()


class _Bracket:
    """One price search: the bracket ``lo < up`` (the largest price over budget, the least price
    within it), the newest point ``last``, and the state of the step rules.

    A step is *stalled* when two steps have not halved the nearer end's ``|f|``
    or the last Newton or falsi step did not halve it (usage jumps at the
    price, or the step's model is poor). Each step takes, in this order of
    preference, :meth:`probe_jump`, :meth:`newton` (unless stalled),
    :meth:`falsi` (unless stalled, once both ends are known), :meth:`bisect`
    (both ends known), :meth:`step_out` (one end known).
    """

    def __init__(self, respond, budget, hi, least, jumps, rtol, ftol):
        self.respond, self.budget, self.hi, self.least = respond, budget, hi, least
        self.jumps, self.rtol, self.ftol = jumps, rtol, ftol
        self.floor = max(least, 1e-30 * hi)             # prices below 1e-30 hi count as the least one
        self.lo = self.up = self.last = None
        # the stall monitor: steps since the last reset, whether the bracket had no lower end then,
        # the nearer end's |f| then, the stalls so far, and whether the last Newton/falsi step missed
        self.since, self.open_ref, self.f_ref, self.guards, self.leap = 0, True, np.inf, 0, False
        self.side = 0                                   # the end the last falsi step kept: 1 up, -1 lo
        self.grow = 1.5                                 # the next step_out factor
        # jump prices not probed yet; the other side of the last probe; jumps inside at the last probe
        self.known, self.pending, self.probed = None, None, np.inf

    def visit(self, price: float) -> _Point:
        """The answer at ``price``; ``ValueError`` if that is ``hi``, over budget, with no end within it."""
        ans = self.respond(price)
        total = float(ans.usage.sum())
        if self.budget > 0:
            f = float(np.log(total / self.budget)) if total > 0 else -np.inf
            slope = ans.slope / total if ans.slope is not None and total > 0 else None
        else:
            f, slope = total - self.budget, None
        if price == self.hi and f > 0 and self.up is None:
            raise ValueError(f"budget not met even at price {self.hi:g}")
        return _Point(price, ans, f, slope)

    def keep(self, point: _Point) -> None:
        """Narrow the bracket with ``point``."""
        if point.f > 0:
            if self.lo is None or point.price > self.lo.price:
                self.lo = point
        elif self.up is None or point.price < self.up.price:
            self.up = point

    def start(self, guess: float | None) -> bool:
        """Visit ``guess`` if it lies in ``(least, hi)``, else ``least`` and ``hi``; True if the
        budget holds at ``least`` (``last`` is then its point)."""
        if guess is not None and self.least < guess < self.hi:
            self.last = self.visit(guess)
        else:
            self.last = self.visit(self.least)
            if self.last.f <= 0:
                return True
            self.keep(self.last)
            self.last = self.visit(self.hi)
        self.keep(self.last)
        return False

    def done(self) -> bool:
        """The end within budget is within ``ftol`` of it or at the floor, the end over budget is
        within ``ftol``, or the bracket is ``rtol`` narrow."""
        lo, up = self.lo, self.up
        return up is not None and (-up.f <= self.ftol or up.price <= self.floor or (
            lo is not None and (lo.f <= self.ftol or up.price - lo.price <= self.rtol * up.price)))

    def step(self) -> None:
        """Visit the price of the first step rule that applies."""
        lo, up = self.lo, self.up
        a, b = (lo.price if lo is not None else self.least), (up.price if up is not None else self.hi)
        width = np.log(b / a) if a > 0 else np.inf                 # the bracket in ln(price)
        near = min(lo.f if lo is not None else np.inf, -up.f if up is not None else np.inf)
        stalled = self.stalled(width, near)
        both = lo is not None and up is not None and a > 0
        if stalled and self.jumps is not None and self.known is None and both:
            self.known = np.asarray(self.jumps(a, b), dtype=float)
        step = self.probe_jump(a, b, width)
        if step is None and not stalled:
            step = self.newton(a, b, near)
        if step is None and both and not stalled:
            step = self.falsi(a, width, near)
        if step is None:
            step = self.bisect(a, b) if both else self.step_out(a, b)
        self.since = 0 if step.restart else self.since + 1
        self.last = self.visit(step.price)
        self.side = (1 if self.last.f > 0 else -1) if step.falsi else 0
        self.leap = step.halve is not None and abs(self.last.f) > 0.5 * step.halve
        self.keep(self.last)

    def stalled(self, width: float, near: float) -> bool:
        """Every two steps must halve the nearer end's ``|f|`` (if not, a jump is near), and a Newton
        or falsi step must halve it (if not, its model is poor here)."""
        stalled = False
        if self.since == 0 or self.open_ref:
            self.open_ref, self.since, self.f_ref = not math.isfinite(width), 0, near
        elif self.since >= 2:
            stalled = near > 0.5 * self.f_ref
            self.open_ref, self.since, self.f_ref = not math.isfinite(width), 0, near
        stalled |= self.leap
        self.guards += stalled
        return stalled

    def probe_jump(self, a: float, b: float, width: float) -> _Step | None:
        """While known jumps lie inside the bracket, probe one at ``z (1 +- rtol/4)``: the side nearer
        the secant's root first, the other side next if the first did not settle it. The jump is the
        one nearest the secant's root, or the middle one if the last probe left more than half of
        them inside."""
        if self.pending is not None and a < self.pending < b:
            price, self.pending = self.pending, None
            return _Step(price)
        inside = self.known[(self.known > a) & (self.known < b)] if self.known is not None else ()
        if not len(inside):
            return None
        lo, up = self.lo, self.up
        t = float(np.clip(lo.f / (lo.f - up.f), 0.0, 1.0)) if np.isfinite(lo.f) else 0.5
        guess_ln = np.log(a) + t * width                                   # the secant's root
        middle = len(inside) > 0.5 * self.probed
        z = float(inside[len(inside) // 2] if middle else inside[np.argmin(np.abs(np.log(inside) - guess_ln))])
        self.probed, self.known = len(inside), self.known[self.known != z]
        sides = (z * (1 + 0.25 * self.rtol), z * (1 - 0.25 * self.rtol))
        price, self.pending = sides if middle or guess_ln >= np.log(z) else sides[::-1]
        return _Step(price, restart=True)

    def newton(self, a: float, b: float, near: float) -> _Step | None:
        """Newton's step from the newest point, aimed ``0.9 ftol`` below the budget (so that it ends
        on the feasible side), if it has a slope and the step falls inside the bracket."""
        last = self.last
        if not (last.slope is not None and last.slope < 0 and last.price > 0):
            return None
        price = last.price * float(np.exp(np.clip(-(last.f + 0.9 * self.ftol) / last.slope, -30.0, 30.0)))
        return _Step(price, halve=min(near, abs(last.f))) if a < price < b else None

    def falsi(self, a: float, width: float, near: float) -> _Step | None:
        """A regula falsi step in ``ln(price)``, Illinois variant (the ``f`` of the end the last
        falsi step kept is halved), while fewer than three steps have stalled."""
        f_lo = self.lo.f * (0.5 if self.side == -1 else 1.0)
        f_up = self.up.f * (0.5 if self.side == 1 else 1.0)
        if self.guards >= 3 or not (math.isfinite(f_lo) and math.isfinite(f_up)):
            return None
        return _Step(float(a * np.exp(np.clip(f_lo / (f_lo - f_up), 0.01, 0.99) * width)), halve=near, falsi=True)

    @staticmethod
    def bisect(a: float, b: float) -> _Step:
        """A geometric bisection."""
        return _Step(float(np.sqrt(a * b)), restart=True)

    def step_out(self, a: float, b: float) -> _Step:
        """Before both ends are known, a geometric step away from the known end that squares each
        time (1.5, 2.25, 5.1, ...)."""
        price = min(a * self.grow, self.hi) if self.up is None else max(b / self.grow, self.floor)
        self.grow = min(self.grow * self.grow, 1e30)
        return _Step(price)

    def settle(self) -> tuple[float, tuple]:
        """The price and payload: the end within budget's if it is within ``ftol`` (or the other end is
        unbounded), else the two ends' mixed so that total usage equals the budget."""
        lo, up = self.lo, self.up
        if up is None:
            up = self.visit(self.hi)
        if lo is None or -up.f <= self.ftol or not np.isfinite(lo.f):   # a far (or unbounded) end would only
            return up.price, up.answer.payload                           # add rounding to the mix
        s_lo, s_up = lo.answer.usage.sum(), up.answer.usage.sum()
        theta = (s_lo - self.budget) / (s_lo - s_up) if s_lo > s_up else 1.0
        mixed = tuple(theta * h + (1.0 - theta) * l for h, l in zip(up.answer.payload, lo.answer.payload))
        return float(theta * up.price + (1.0 - theta) * lo.price), mixed
