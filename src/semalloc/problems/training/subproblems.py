"""The subproblems of Li et al. Sec. V, each solved from its KKT conditions.

- :func:`solve_p3`: P3 (eq. 18) for fixed ``(p, B)``: ``rho`` from the PSNR
  constraint (eq. 20, 32), then ``f, h`` as functions of the multiplier
  ``beta_n`` (eqs. 26-29), ``beta_n(T)`` from the binding time (eq. 30) and
  ``T`` from ``sum_n beta_n(T) = w_1`` (eq. 31; monotone in ``T``: the
  safeguarded Newton search of :mod:`semalloc.solvers.price` where the paper
  bisects, same root).
- :func:`solve_p7`: P7 (eq. 34) for fixed ``(gamma, delta)``: each device's
  ``(p, B)`` from the stationarity conditions (eqs. 44, 47-53) at a bandwidth
  price ``zeta``, and ``zeta`` from ``sum_n B_n = B_total`` (eqs. 54-56) by
  the same search (where the paper bisects), with the prices at which a
  device's answer jumps between its two branches supplied to it.
- :func:`solve_p4`: P4 (eq. 19) by Algorithm 2 (sum-of-ratios Newton on P7).
- :func:`solve_p4_direct` (:func:`p4_water_filling` from a :class:`P4Context`):
  the same P4 solved in one water-filling. Energy
  falls with upload time, so the rate constraint (33a) binds and P4 is the
  separable convex problem ``min sum_n tau_n (B_n/a_n)(2^(r_n/B_n) - 1)``,
  ``sum B_n <= B_total``; the bandwidth price gives ``B_n`` in closed form.

Closed forms use the Lambert W function for the inverses of
``q(S) = (1+S) ln(1+S) - S``, ``psi(S) = ln(1+S) - S/(1+S)`` and
``ln(1+x)/x``, each polished by Newton steps.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.training.instance import generate
>>> from semalloc.problems.training.algorithms import average_point
>>> from semalloc.problems.training.subproblems import solve_p3, solve_p4, solve_p4_direct
>>> inst = generate(seed=2, devices=6)
>>> a = average_point(inst)
>>> p, B = a["power_w"], a["bandwidth_hz"]
>>> s3 = solve_p3(inst, p, B)
>>> p4 = solve_p4(inst, s3, B)
>>> p4d = solve_p4_direct(inst, s3)
>>> bool(np.isclose(p4.energy, p4d.energy, rtol=1e-8))
True
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from scipy.special import lambertw

from ...solvers.fractional import sum_of_ratios_newton
from ...solvers.price import Answer, price_for_budget
from ...solvers.scalar import newton_root
from ...units import LN2
from .evaluate import metrics

__all__ = ["q", "psi", "inv_q", "inv_psi", "inv_log_ratio", "solve_p3", "P3Solution", "P4Context",
           "solve_p7", "solve_p4", "solve_p4_direct", "p4_water_filling", "P4Solution", "Infeasible",
           "SNR_MARGIN"]

_INV_E = float(np.exp(-1.0))            # the branch point of W is -1/e
#: Relative margin by which the SNR exceeds its requirement (the PSNR floor, 16e)
#: against rounding: a margin above a requirement, not under a budget like
#: :data:`semalloc.units.SAFETY`, hence its own name; 10x it is the window that
#: absorbs inv_log_ratio's rounding at full power. 1e-10 is the value the tests
#: and figures were made with.
SNR_MARGIN = 1e-10


class Infeasible(Exception):
    """A subproblem has no feasible point; ``devices`` are the culprits."""

    def __init__(self, devices, reason: str):
        self.devices = np.atleast_1d(devices)
        super().__init__(reason)


# ----------------------------------------------------------------------------- scalar inverses

def inv_q(y) -> np.ndarray:
    """``S >= 0`` with ``(1+S) ln(1+S) - S = y`` (``y >= 0``): Lambert W (``sqrt(2y)`` near
    its branch point), then one Newton step."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _inv_q(np.maximum(np.asarray(y, dtype=float), 0.0))


def _inv_q(y: np.ndarray) -> np.ndarray:                # the caller ignores float warnings
    s = np.where(y < 1e-8, np.sqrt(2.0 * y), np.expm1(1.0 + lambertw(np.maximum((y - 1.0) / np.e, -_INV_E)).real))
    l1 = np.log1p(s)
    s = np.where(y > 0, s - ((1 + s) * l1 - s - y) / l1, 0.0)       # NaN where s overflowed: inf below
    return np.where(np.isnan(s), np.inf, np.maximum(s, 0.0))


def inv_psi(y) -> np.ndarray:
    """``S >= 0`` with ``ln(1+S) - S/(1+S) = y`` (``y >= 0``): Lambert W (``sqrt(2y)`` near
    its branch point), then one Newton step."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _inv_psi(np.maximum(np.asarray(y, dtype=float), 0.0))


def _inv_psi(y: np.ndarray) -> np.ndarray:              # the caller ignores float warnings
    s = np.where(y < 1e-8, np.sqrt(2.0 * y), -1.0 / lambertw(np.maximum(-np.exp(-(y + 1.0)), -_INV_E)).real - 1.0)
    t = s / (1 + s)
    s = np.where(y > 0, s - (np.log1p(s) - t - y) / (t / (1 + s)), 0.0)   # NaN where W underflowed: inf
    return np.where(np.isnan(s), np.inf, np.maximum(s, 0.0))


def q(s):
    """``q(S) = (1+S) ln(1+S) - S``."""
    return (1 + s) * np.log1p(s) - s


def psi(s):
    """``psi(S) = ln(1+S) - S/(1+S)``."""
    return np.log1p(s) - s / (1 + s)


def inv_log_ratio(y) -> np.ndarray:
    """``x > 0`` with ``ln(1+x)/x = y`` for ``0 < y < 1``; NaN where ``y >= 1`` (no solution)."""
    y = np.asarray(y, dtype=float)
    ok = (y > 0) & (y < 1)
    yy = np.where(ok, y, 0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        x = -lambertw(-yy * np.exp(-yy), k=-1).real / yy - 1.0
        for _ in range(2):
            d = 1.0 / (1.0 + x) - yy
            x = np.where(d != 0, x - (np.log1p(x) - yy * x) / np.where(d != 0, d, 1.0), x)
    return np.where(ok, x, np.nan)


def _log2_1p(s):
    return np.log1p(s) / LN2


# ----------------------------------------------------------------------------- P3

@dataclass
class P3Solution:
    """The ``{f, h, rho, T}`` block of P2: ``f, h, rho`` per device and the round time ``T``
    (P3's optimum, or the block of a given allocation, the input of P4); at P3's optimum also
    ``beta``, the multipliers of the time constraints (17a) (eqs. 26-27, 0 where slack)."""

    f: np.ndarray
    h: np.ndarray
    rho: np.ndarray
    T: float
    beta: np.ndarray | None = None

    @classmethod
    def of(cls, inst, v: dict) -> "P3Solution":
        """The block of allocation ``v`` with ``T`` its round time ``max_n T_n``."""
        return cls(v["cpu_hz"], v["bs_cpu_hz"], v["rho"], metrics(inst, v).round_time_s)

    def upload_budget(self, inst) -> np.ndarray:
        """``T - T^cmp - T^S``: the time left for the upload (eq. 17a)."""
        c1, c2 = inst.cycles
        return self.T - c1 / self.f - c2 / self.h


def _common_speed(R, c1, c2, fmax, hmax):
    """Unconstrained speed ``u`` (eqs. 26-27: f = h = u before capping) with
    ``c1/min(u, fmax) + c2/min(u, hmax) = R`` and its derivative ``du/dR``; ``u`` is inf
    where even full speed is too slow."""
    lo_cap, hi_cap = np.minimum(fmax, hmax), np.maximum(fmax, hmax)
    f_caps = fmax <= hmax
    r_cap = np.where(f_caps, c1 / fmax, c2 / hmax)          # time of the unit that caps first
    c_free = np.where(f_caps, c2, c1)
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = (c1 + c2) / R                                   # neither capped
        u2 = np.where(R > r_cap, c_free / (R - r_cap), np.inf)   # one capped
        free = (R > 0) & (u1 <= lo_cap)
        u = np.where(free, u1, np.where(u2 <= hi_cap, u2, np.inf))
        return u, np.where(free, -u1 / R, -u2 / (R - r_cap))


def solve_p3(inst, p: np.ndarray, B: np.ndarray, guess: float | None = None) -> P3Solution:
    """P3 for fixed ``(p, B)``: eqs. (20), (26)-(32); ``guess`` (e.g. the previous round time)
    starts the search on ``T``. Raises :class:`Infeasible` if some device's SNR is too low for
    its PSNR even at ``rho_max``."""
    dev = inst.devices
    snr = p * inst.snr_per_hz / B
    rho_bar = inst.model.rho_needed(dev.psnr_min_db, snr)                    # eq. 20
    bad = np.nonzero(rho_bar > dev.rho_max * (1 + 1e-12))[0]
    if len(bad):
        raise Infeasible(bad, "P3 infeasible: SNR too low for psnr_min_db at rho_max")
    rho = np.clip(rho_bar, dev.rho_min, dev.rho_max)                         # eq. 32
    t_up = rho * inst.raw_bits / (B * _log2_1p(snr))                         # eq. 7
    c1, c2 = inst.cycles
    fmax, hmax = dev.cpu_max_hz, dev.bs_cpu_max_hz
    k = 2.0 * inst.w_energy * inst.kappa                                     # beta = k u^3 (eqs. 26-27)

    def betas(T):                                                            # eq. 30: beta_n(T), d sum / d ln T
        u, du = _common_speed(T - t_up, c1, c2, fmax, hmax)
        with np.errstate(invalid="ignore"):
            return Answer(k * u**3, (), float(np.sum(3.0 * k * u * u * du)) * T)

    t_lo = float(np.max(t_up + c1 / fmax + c2 / hmax))                       # every device at full speed
    u_star = np.cbrt(inst.w_time / (inst.N * k))                             # beta_n <= w1/N at t_hi
    t_hi = float(np.max(t_up + c1 / np.minimum(u_star, fmax) + c2 / np.minimum(u_star, hmax))) * (1 + 1e-12)
    # eq. 31: the least T >= t_lo with sum_n beta_n(T) <= w_1 (the sum falls with T)
    T = t_lo if t_hi <= t_lo else price_for_budget(betas, inst.w_time, t_hi, guess=guess, least=t_lo)[0]
    u = _common_speed(T - t_up, c1, c2, fmax, hmax)[0]
    f, h = np.minimum(u, fmax), np.minimum(u, hmax)                          # eqs. 28-29
    return P3Solution(f, h, rho, T, np.where(np.isfinite(u), k * u**3, 0.0))


# ----------------------------------------------------------------------------- P4 / P7

@dataclass
class P4Context:
    """Per-device constants of P4 for fixed ``(f, h, rho, T)``.

    ``bits`` = rho d D, ``a`` = g/N0, ``r_min`` (eq. 33a, the rate that meets
    the upload budget), ``s_min`` (eq. 33b), ``s_rp`` the SNR at full power
    and rate ``r_min`` (the least bandwidth ``b_lo`` a device can live with).
    """

    bits: np.ndarray
    a: np.ndarray
    p_max: np.ndarray
    tau: np.ndarray
    r_min: np.ndarray
    s_min: np.ndarray
    s_rp: np.ndarray
    b_lo: np.ndarray
    budget: float

    @classmethod
    def build(cls, inst, rho: np.ndarray, tau: np.ndarray) -> "P4Context":
        dev = inst.devices
        bits = rho * inst.raw_bits
        a = inst.snr_per_hz
        with np.errstate(divide="ignore", invalid="ignore"):
            r_min = np.where(tau > 0, bits / tau, np.inf)
            s_min = inst.model.snr_needed(dev.psnr_min_db, rho) * (1 + SNR_MARGIN)
            s_rp = inv_log_ratio(r_min * LN2 / (a * dev.power_max_w))
            # full power at the least SNR is a boundary point: absorb the rounding of SNR_MARGIN
            s_rp = np.where((s_rp < s_min) & (s_rp >= s_min * (1 - 10 * SNR_MARGIN)), s_min, s_rp)
            b_lo = a * dev.power_max_w / s_rp
        bad = np.nonzero(~(s_rp >= s_min))[0]
        if len(bad):
            raise Infeasible(bad, "P4 infeasible: upload budget too short at full power and least SNR")
        if b_lo.sum() > inst.bandwidth_hz * (1 + 1e-12):
            raise Infeasible(np.argsort(-b_lo)[:1], "P4 infeasible: least bandwidths exceed B_total")
        # a start that uses all of B_total at full power sits on the boundary: absorb rounding
        return cls(bits, a, dev.power_max_w, tau, r_min, s_min, s_rp, b_lo,
                   max(float(inst.bandwidth_hz), float(b_lo.sum())))

    def rate(self, p, B):
        return B * _log2_1p(p * self.a / B)                                  # eq. 6

    def least_power(self, B):
        """The least power meeting (33a) and (33b) at bandwidth ``B``: Algorithm 2's start
        (feasible, eq. 37, and with every rate at ``r_min``, where the Newton method of a
        start with slack can cycle between the two branches of P7, docs/models.md)."""
        with np.errstate(over="ignore"):
            return np.minimum(np.maximum(B / self.a * np.expm1(self.r_min * LN2 / B), self.s_min * B / self.a),
                              self.p_max)


@dataclass
class P4Solution:
    """``(p, B)`` solving P4, its upload energy and solver statistics."""

    p: np.ndarray
    B: np.ndarray
    energy: float
    iterations: int = 0
    price: float = 0.0
    converged: bool = True


def _rate_bound_answer(y, rl, s_min, s_rp):
    """A device's answer with its rate at ``r_min`` (``rl = r_min ln 2``) at price-scaled
    ``y = q(S)``: SNR ``S = q^-1(y)`` clipped to ``[s_min, s_rp]``, bandwidth
    ``B = r_min / log2(1 + S)`` and ``dB / d ln(zeta)`` (``q'(S) = ln(1+S)``; 0 where S is
    clipped). Used by P7's r = r_min branch and the direct P4; float warnings are the caller's."""
    s_free = _inv_q(y)
    s = np.minimum(np.maximum(s_free, s_min), s_rp)
    l = np.log1p(s)
    B = rl / l
    return B, s, np.where(s == s_free, -B * y / ((1 + s) * l * l), 0.0)


@dataclass(frozen=True, eq=False)
class _P7Constants:
    """Per-device constants of P7 (eq. 34) at fixed ``(gamma, delta)``, in the forms its two
    answers use: at price ``zeta`` device ``n`` pays ``zeta' = zeta / gamma_n`` per Hz, its SNR
    solves ``psi(S) = zeta ln2 / (delta gamma)`` on the ``p = p_max`` branch (eq. 50) and
    ``q(S) = zeta a / (c gamma)`` on the ``r = r_min`` branch (eqs. 47, 49); ``c`` = bits,
    ``a`` = g/N0 as in :class:`P4Context`."""

    inv_gamma: np.ndarray           # zeta' / zeta = 1 / gamma
    psi_per_price: np.ndarray       # psi(S) / zeta on p = p_max: ln2 / (delta gamma)
    q_per_price: np.ndarray         # q(S) / zeta on r = r_min: a / (c gamma)
    a_pmax: np.ndarray              # a p_max: B S on p = p_max
    pmax_bits: np.ndarray           # p_max c
    delta_ln2: np.ndarray           # delta / ln2
    delta_rmin: np.ndarray          # delta r_min
    rmin_ln2: np.ndarray            # r_min ln2
    b_lo: np.ndarray                # the least bandwidth (full power, rate r_min)
    b_smax: np.ndarray              # a p_max / S_min: the most bandwidth at full power
    s_min: np.ndarray
    s_rp: np.ndarray
    a: np.ndarray
    p_max: np.ndarray
    bits: np.ndarray

    @classmethod
    def of(cls, ctx: P4Context, gamma: np.ndarray, delta: np.ndarray) -> "_P7Constants":
        c, a, pm = ctx.bits, ctx.a, ctx.p_max
        return cls(1.0 / gamma, LN2 / (delta * gamma), a / (c * gamma), a * pm, pm * c, delta / LN2,
                   delta * ctx.r_min, ctx.r_min * LN2, ctx.b_lo, a * pm / ctx.s_min, ctx.s_min, ctx.s_rp, a, pm, c)

    def take(self, devices) -> "_P7Constants":
        """The constants of ``devices`` (indices or a mask)."""
        return _P7Constants(*(getattr(self, f.name)[devices] for f in fields(self)))

    def answers(self, zeta: float) -> tuple["_Branch", "_Branch"]:
        """Both candidate answers at price ``zeta``: ``p = p_max`` (full power) and ``r = r_min``
        (rate bound)."""
        zp = zeta * self.inv_gamma
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y1 = zeta * self.psi_per_price                                   # p = p_max: eq. (50)
            s1 = _inv_psi(y1)
            b1_free = self.a_pmax / s1
            b1 = np.minimum(np.maximum(b1_free, self.b_lo), self.b_smax)
            v1 = self.pmax_bits - self.delta_ln2 * b1 * np.log1p(self.a_pmax / b1) + zp * b1
            d1 = np.where(b1 == b1_free, -b1 * y1 * ((1 + s1) / s1) ** 2, 0.0)   # psi'(S) = S / (1+S)^2
            b2, s2, d2 = _rate_bound_answer(zeta * self.q_per_price, self.rmin_ln2,   # r = r_min: eqs. (47), (49)
                                            self.s_min, self.s_rp)
            p2 = np.minimum(s2 * b2 / self.a, self.p_max)
            v2 = p2 * self.bits - self.delta_rmin + zp * b2
        return _Branch(b1, self.p_max, v1, d1), _Branch(b2, p2, v2, d2)


class _Branch(NamedTuple):
    """One candidate answer of P7's devices at a price: bandwidth, power, the value
    ``p c - delta r + zeta' B`` and ``dB / d ln(zeta)`` (0 where S is clipped)."""

    bandwidth: np.ndarray
    power: np.ndarray
    value: np.ndarray
    slope: np.ndarray


class _P7Answers:
    """The devices' answers to bandwidth prices for :func:`price_for_budget`, remembering at each
    price visited the value gap ``v1 - v2`` of the two branches, from which :meth:`jumps` finds
    the prices where a device switches branch."""

    def __init__(self, constants: _P7Constants):
        self.constants, self.gaps = constants, {}

    def respond(self, zeta: float) -> Answer:
        """Each device's cheaper answer at ``zeta``: usage ``B``, payload ``(p, B)``."""
        full, bound = self.constants.answers(zeta)
        self.gaps[zeta] = full.value - bound.value
        first = full.value <= bound.value
        B = np.where(first, full.bandwidth, bound.bandwidth)
        return Answer(B, (np.where(first, full.power, bound.power), B),
                      float(np.where(first, full.slope, bound.slope).sum()))

    def jumps(self, lo: float, hi: float) -> np.ndarray:
        """Prices in ``(lo, hi)`` (two prices visited) where a device leaves the p = p_max branch for
        r = r_min: the root of ``v1 - v2``, whose derivative in ``zeta`` is ``(b1 - b2) / gamma``
        (envelope theorem)."""
        j = np.flatnonzero((self.gaps[lo] <= 0) & (self.gaps[hi] > 0))
        if not len(j):
            return np.empty(0)
        switching = self.constants.take(j)

        def gap(z, live):
            k = switching if live.all() else switching.take(live)
            full, bound = k.answers(z)
            return full.value - bound.value, (full.bandwidth - bound.bandwidth) * k.inv_gamma

        g_lo, g_hi = self.gaps[lo][j], self.gaps[hi][j]
        start = lo * (hi / lo) ** (g_lo / (g_lo - g_hi))                   # the secant in ln(zeta)
        return np.sort(newton_root(gap, np.full(len(j), lo), np.full(len(j), hi), start))


def solve_p7(ctx: P4Context, gamma: np.ndarray, delta: np.ndarray,
             guess: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """P7 (eq. 34) for fixed ``(gamma, delta)``: returns ``(p, B, zeta)``; ``guess``
    (the price of a nearby P7) starts the price search.

    At price ``zeta`` device ``n`` minimises ``p c - delta r + zeta' B``
    (``zeta' = zeta/gamma_n``, ``c`` = bits) over ``p <= p_max``,
    ``r >= r_min``, ``S >= S_min``. For fixed ``S`` this is linear in ``B``,
    so the optimum has ``p = p_max`` (case 2 of eq. 48, ``iota > 0``) or
    ``r = r_min`` (case 2 of eq. 53, ``eta > 0``):

    - ``p = p_max``: eq. (44b) with ``eta = nu = 0`` reads
      ``delta psi(S) / ln 2 = zeta'``, so ``S = psi^-1(zeta' ln2 / delta)``,
      ``B = a p_max / S`` clipped to ``[b_lo, a p_max / S_min]`` (eq. 50);
    - ``r = r_min``: eqs. (44a)-(44b) with ``iota = 0`` give
      ``q(S) = zeta' a / c``; ``S`` clipped to ``[S_min, s_rp]``,
      ``B = r_min / log2(1+S)``, ``p = S B / a`` (eqs. 47, 49).

    The cheaper answer is taken; ``zeta`` solves ``sum B = B_total`` (eq. 55).
    """
    c, a, pm = ctx.bits, ctx.a, ctx.p_max
    answers = _P7Answers(_P7Constants.of(ctx, gamma, delta))
    hi = 2.0 * float(np.max(gamma * np.maximum(delta * psi(ctx.s_rp) / LN2, c * q(ctx.s_rp) / a)))
    # eq. (55): the least price with sum B <= B_total
    zeta, (p, B) = price_for_budget(answers.respond, ctx.budget, hi, guess=guess, jumps=answers.jumps)
    return np.minimum(p, pm), B, zeta


def solve_p4(inst, s3: P3Solution, B0: np.ndarray, tol: float = 1e-11,
             max_iter: int = 100) -> P4Solution:
    """P4 (eq. 19) by Algorithm 2 from ``(least power, B0)``: Newton on ``phi(delta, gamma)``
    (eqs. 36-42), P7 inside.

    Safeguard: P7's objective is positively homogeneous in each device's ``(p, B)``, so its
    answer jumps between the ``p = p_max`` and ``r = r_min`` branches and ``phi`` is not
    smooth; where Newton stalls or runs out of steps (``converged`` False) the answer is
    :func:`solve_p4_direct`'s, the same global optimum of P4 (Theorem 1), if it is better.
    """
    ctx = P4Context.build(inst, s3.rho, s3.upload_budget(inst))
    h = lambda x: x[0] * ctx.bits                                            # numerator p rho d D
    g = lambda x: ctx.rate(x[0], x[1])                                       # denominator r_n
    x0 = (ctx.least_power(B0), B0)
    # the first price search starts at the median of the prices at which each device would keep
    # its start on the r = r_min branch (q(S) = zeta a / (gamma c), gamma = w / r at the start);
    # each later one at the previous price
    own = np.sort(inst.w_energy / g(x0) * ctx.bits * q(x0[0] * ctx.a / B0) / ctx.a)
    last = [float(own[len(own) // 2])]

    def p7(alpha, beta):
        p, B, last[0] = solve_p7(ctx, beta, alpha, guess=last[0] or None)
        return p, B

    res = sum_of_ratios_newton(p7, h, g, x0, weights=inst.w_energy, tol=tol, max_iter=max_iter)
    p, B = res.x
    sol = P4Solution(p, B, float(np.sum(h(res.x) / g(res.x))), res.iterations, converged=res.converged)
    if not res.converged:
        direct = p4_water_filling(ctx)
        if direct.energy < sol.energy:
            return P4Solution(direct.p, direct.B, direct.energy, res.iterations, direct.price, converged=False)
    return sol


def solve_p4_direct(inst, s3: P3Solution) -> P4Solution:
    """P4 at P3's ``rho`` and upload budget: :func:`p4_water_filling` of their :class:`P4Context`."""
    return p4_water_filling(P4Context.build(inst, s3.rho, s3.upload_budget(inst)))


def p4_water_filling(ctx: P4Context) -> P4Solution:
    """P4 of ``ctx`` as one water-filling on the bandwidth price (see the module docstring).

    With the rate at ``r_min`` the upload energy of device ``n`` is
    ``e_n(B) = tau_n (B/a_n) (2^(r_min/B) - 1)``, convex and decreasing in
    ``B`` up to ``B_sat = r_min / log2(1 + S_min)`` (beyond it the SNR would
    drop below ``S_min``). ``e_n'(B) = -(tau_n/a_n) q(S)``, so at price
    ``zeta`` the SNR is ``q^-1(zeta a_n / tau_n)`` and
    ``B = r_min / log2(1 + S)`` clipped to ``[b_lo, B_sat]``.
    """
    rl = ctx.r_min * LN2

    def respond(zeta):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            B, _, d = _rate_bound_answer(zeta * ctx.a / ctx.tau, rl, ctx.s_min, ctx.s_rp)
        return Answer(B, (B,), float(d.sum()))

    hi = 2.0 * float(np.max(ctx.tau * q(ctx.s_rp) / ctx.a))
    zeta, (B,) = price_for_budget(respond, ctx.budget, hi)
    with np.errstate(over="ignore"):
        p = np.minimum(B / ctx.a * np.expm1(ctx.r_min * LN2 / B), ctx.p_max)
    return P4Solution(p, B, float(np.sum(p * ctx.bits / ctx.rate(p, B))), 0, zeta)
