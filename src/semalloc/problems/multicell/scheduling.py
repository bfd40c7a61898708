"""Stage 1 (He et al., Sec. IV-A): the best schedule ``(c, d, f, P)`` of one
device on one BS with ``z`` resource blocks, for every device, BS and ``z``.

The pieces, all vectorised over devices x BSs (x grid points):

* :func:`bits_per_rb` -- problem (10): for a computation workload ``c``, the
  most bits one RB carries, ``g(c)``, and the CPU frequency attaining it. By
  Theorem 2 time and energy are both spent (eqs. 11-12), unless the power cap
  binds first. With ``t = c / f`` the computing time, the bits per RB are
  ``W (T - t) log2(1 + a min(P_max, (E - gamma c^3 / t^2) / (T - t)))``
  (eqs. 13, 15 with the cap of 9c), a concave function of ``t``
  (perspective of a concave increasing function of a concave argument;
  docs/models.md), maximised by golden section on
  ``t in [max(c / f_max, sqrt(gamma c^3 / E)), T]`` (eq. 14).
* ``d_max(c, z) = z g(c)``, linear in ``z`` (Appendix C, eq. 21).
* :func:`utility_tables` -- problem (9) for every ``z``: the best ``c``
  maximises ``u(c, min(z g(c), D))``, a log-concave (so unimodal) function of
  ``c`` because ``g`` is concave; a golden section on ``log c`` finds it,
  with ``g`` (and the computing time attaining it) computed exactly on a grid
  and interpolated linearly in ``c`` in between, which by joint concavity
  is always achievable. Raw transmission (``c = 0``,
  ``d = raw_bits``, accuracy ``eta2``; Sec. III-B) is the other scheme.

Every table entry is the utility of an achievable schedule, so algorithms
that pick entries never overstate their objective; ``evaluate`` checks it.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.multicell.instance import generate
>>> from semalloc.problems.multicell.scheduling import utility_tables
>>> inst = generate(seed=0, devices=4, base_stations=2, rbs=[10])
>>> tab = utility_tables(inst)
>>> tab.util.shape                                  # (N, M, K + 1)
(4, 2, 11)
>>> bool(np.all(np.diff(tab.util, axis=2) >= -1e-12))   # more RBs never hurt
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...perf.workload import accuracy_cd, utility_of_accuracy
from ...solvers.scalar import bisect_increasing, golden_max
from ...units import SAFETY

__all__ = ["bits_per_rb", "max_cycles", "utility_tables", "Tables", "IDLE", "SEMANTIC", "RAW", "MODES", "SCHEMES",
           "schedule", "MIN_BITS"]

IDLE, SEMANTIC, RAW = 0, 1, 2
MODES = ("idle", "semantic", "raw")
#: ``adaptive``: semantic with the best (c, d) or raw (the paper's scheme);
#: ``raw``: raw data only (baseline TC); ``fixed``: c = C/2, d = D/2 (FSC).
SCHEMES = ("adaptive", "raw", "fixed")
#: A semantic transmission carries at least one bit (docs/models.md).
MIN_BITS = 1.0
#: Devices x BSs x RB counts handled per block of the table computation
#: (keeps the working arrays in cache).
_BLOCK = 1 << 16


def _device_arrays(inst):
    """Per (n, m) physical parameters, broadcastable to (N, M, 1)."""
    col = lambda v: np.asarray(v, dtype=float)[:, None, None]
    return dict(a=inst.snr_per_watt[:, :, None], W=inst.rb_bandwidth_hz, T=inst.deadline_s,
                E=col(inst.devices.energy_j), fmax=col(inst.devices.cpu_max_hz),
                pmax=col(inst.devices.power_max_w), gamma=col(inst.devices.gamma))


def _bits_at(t, comp, a, W, T, E, pmax):
    """Bits per RB after computing for ``t`` seconds with energy ``comp / t^2``
    (``comp = gamma c^3``), the rest of the time and energy on air."""
    tau = T - t
    with np.errstate(divide="ignore", invalid="ignore"):
        e_left = E - np.where(comp > 0, comp / np.where(t > 0, t, 1.0) ** 2, 0.0)
        p = np.minimum(pmax, np.maximum(e_left, 0.0) / tau)            # eqs. 12-13, 9c
        out = W * tau * np.log1p(a * p) / np.log(2.0)                 # eqs. 4, 15
    return np.where(tau > 0, out, 0.0)


def bits_per_rb(c, a, W, T, E, fmax, pmax, gamma, iters: int = 40):
    """``g(c)``: maximum bits per RB after computing ``c`` cycles; all inputs broadcast.

    Returns ``(g, f)``; ``g = 0`` (and ``f = 0``) where ``c`` cannot be
    computed within the deadline and energy budget.
    """
    c, a, E, fmax, pmax, gamma = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                       for v in (c, a, E, fmax, pmax, gamma)))
    comp = gamma * c**3                                       # eq. 3 with f = c / t: gamma c^3 / t^2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = np.maximum(np.where(c > 0, c / fmax, 0.0), np.sqrt(comp / np.where(E > 0, E, np.inf)))
    feasible = (t_lo < T) & (E > 0)
    t_lo = np.where(feasible, t_lo, T)

    t, g = golden_max(lambda t: _bits_at(t, comp, a, W, T, E, pmax), t_lo, np.full_like(t_lo, T), iters=iters)
    g = np.where(feasible, g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(feasible & (c > 0), c / t, 0.0)
    return g, f


def max_cycles(b, a, W, T, E, fmax, pmax, gamma, iters: int = 40, bracket=None):
    """``c_max(b)``: the most cycles a device can compute if each RB must carry ``b`` bits.

    The inverse of :func:`bits_per_rb`: with ``t`` the computing time and
    ``tau = T - t`` the air time, sending ``b`` bits per RB costs the power
    ``P = (2^(b / (W tau)) - 1) / a`` (eq. 13) and the energy ``P tau``;
    what is left bounds the cycles through eq. 3, ``gamma c^3 / t^2 <= E - P tau``,
    and the CPU through ``c <= f_max t``. The feasible ``(c, t, b)`` form a
    convex set (docs/models.md), so the most cycles is a concave function of
    ``t`` on ``[0, T - tau_min]``, ``tau_min`` the air time at ``P = P_max``
    (eq. 9c), maximised by golden section, or within ``bracket = (t0, t1)``
    when given. All inputs broadcast.

    Returns ``(c, t)``; ``c <= 0`` where ``b`` bits per RB cannot be sent at all.

    Examples
    --------
    >>> from semalloc.problems.multicell.scheduling import bits_per_rb, max_cycles
    >>> phys = dict(a=1e9, W=180e3, T=0.01, E=0.05, fmax=2e9, pmax=0.2, gamma=1e-28)
    >>> g, _ = bits_per_rb(5e6, **phys)
    >>> c, t = max_cycles(g, **phys)          # the inverse: back to 5e6 cycles
    >>> round(float(c) / 5e6, 6)
    1.0
    """
    b, a, E, fmax, pmax, gamma = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                       for v in (b, a, E, fmax, pmax, gamma)))
    ln2 = np.log(2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_min = b * ln2 / (W * np.log1p(a * pmax))          # P <= P_max (eq. 9c)
    t_hi = np.where(tau_min < T, T - tau_min, 0.0)
    for _ in range(4):                  # rounding must leave at least tau_min on air, or P > P_max
        t_hi = np.where((t_hi > 0) & (T - t_hi < tau_min), np.nextafter(t_hi, 0.0), t_hi)

    def cycles(t):
        tau = T - t
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            e_air = tau * np.expm1(ln2 * b / (W * tau)) / a                # eqs. 6, 7, 13
            e_comp = np.where(np.isfinite(e_air), E - e_air, -np.inf)
            c = np.minimum(fmax * t, np.cbrt(e_comp * t * t / gamma))       # eqs. 2, 3, 8d
        return np.where(np.isnan(c), -np.inf, c)

    lo, hi = (np.zeros_like(t_hi), t_hi) if bracket is None else (np.minimum(bracket[0], t_hi),
                                                                  np.minimum(bracket[1], t_hi))
    t, c = golden_max(cycles, lo, hi, iters=iters)
    ok = (tau_min < T) & (c > 0)
    return np.where(ok, c, 0.0), np.where(ok, t, 0.0)


@dataclass
class Tables:
    """Per (device, BS, z) best schedule; arrays of shape (N, M, Z + 1)."""

    util: np.ndarray      # u_n^*(z) on BS m
    mode: np.ndarray      # IDLE / SEMANTIC / RAW
    cycles: np.ndarray    # c
    bits: np.ndarray      # d
    cpu_hz: np.ndarray    # f


def _rows(params: dict, rows: slice) -> dict:
    """The parameters of the devices ``rows`` (arrays lead with the device axis)."""
    return {k: _rows_of(v, rows) for k, v in params.items()}


def _app_params(inst):
    names = ("eta1", "eta2", "cycles_max", "beta1", "beta2", "beta3", "bits_max")
    return {k: inst.app(k)[:, None, None] for k in names}


def utility_tables(inst, scheme: str = "adaptive", zmax: int | None = None, grid: int = 64,
                   refine_iters: int = 24) -> Tables:
    """Best utility of each device on each BS with ``z = 0..zmax`` RBs (problem 9).

    ``scheme`` is one of :data:`SCHEMES`. For semantic transmission the most
    cycles per bits-per-RB, ``c_max(b)``, is computed exactly at ``grid``
    log-spaced values of ``b`` and interpolated between them;
    ``refine_iters`` golden-section steps in ``log d`` find the best bits
    ``d``, which are then scheduled exactly (:func:`_semantic_tables`).
    """
    N, M = inst.gain.shape
    Z = int(inst.base_stations.rbs.max()) if zmax is None else int(zmax)
    z = np.arange(Z + 1, dtype=float)[None, None, :]
    phys, app = _device_arrays(inst), _app_params(inst)
    util_of = lambda acc: utility_of_accuracy(acc, inst.utility)
    shape = (N, M, Z + 1)
    util, mode = np.zeros(shape), np.zeros(shape, dtype=np.int8)
    cycles, bits, cpu = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    if scheme == "fixed":                      # FSC: c = C/2, d = D/2 (docs/models.md)
        c0, d0 = app["cycles_max"] / 2, app["bits_max"] / 2
        g, f = bits_per_rb(c0, **phys)
        ok = (z >= 1) & (z * g * (1 - SAFETY) >= d0)
        u0 = util_of(accuracy_cd(c0, d0, **app))
        util[:] = np.where(ok, u0, 0.0)
        mode[:] = np.where(ok & (util > 0), SEMANTIC, IDLE)
        cycles[:], bits[:], cpu[:] = np.where(ok, c0, 0), np.where(ok, d0, 0), np.where(ok, f, 0)
        return Tables(util, mode, cycles, bits, cpu)

    if scheme == "adaptive":
        possible, bound = _semantic_boundary(phys, app, Z, grid)
        step = max(1, _BLOCK // (M * (Z + 1)))
        for lo in range(0, N, step):
            rows = slice(lo, lo + step)
            util[rows], cycles[rows], bits[rows], cpu[rows] = _semantic_tables(
                _rows(phys, rows), _rows(app, rows), util_of, z, possible[rows], bound.rows(rows), grid,
                refine_iters)
        mode[util > 0] = SEMANTIC
    elif scheme != "raw":
        raise ValueError(f"unknown scheme {scheme!r}")

    g0, _ = bits_per_rb(0.0, **phys)                          # c = 0: all time and energy on air
    raw_bits = np.asarray(inst.devices.raw_bits, dtype=float)[:, None, None]
    raw_ok = (z >= 1) & (z * g0 * (1 - SAFETY) >= raw_bits)
    u_raw = util_of(app["eta2"])                              # raw data + largest model: A = eta2
    take = raw_ok & (u_raw >= util)
    util[:] = np.where(take, u_raw, util)
    mode[:] = np.where(take, RAW, mode)
    cycles[:] = np.where(take, 0.0, cycles)
    bits[:] = np.where(take, raw_bits, bits)
    cpu[:] = np.where(take, 0.0, cpu)
    return Tables(util, mode, cycles, bits, cpu)


class _Boundary:
    """The polygon through exact points ``(b, c, t)`` of the boundary
    ``c_max(b)`` (:func:`max_cycles`), one per (device, BS), sorted by ``b``.

    The feasible ``(c, t, b)`` are a convex set, so every point of a chord
    between two vertices is an achievable schedule with at least the
    chord's ``c``. Arrays are ``(n, M, V)``; ``b_lo`` and ``b_hi``
    (``(n, M, 1)``) bound the ``b`` looked up.
    """

    def __init__(self, b, c, t, b_lo, b_hi):
        order = np.argsort(b, axis=2, kind="stable")
        self.b, self.c, self.t = (np.take_along_axis(v, order, axis=2) for v in (b, c, t))
        self.b_lo, self.b_hi = b_lo, b_hi
        n, M, V = b.shape
        self._lb, self._span = np.log(b_lo), np.log(b_hi / b_lo) * (1 + 1e-12)
        self._row = np.arange(n * M, dtype=float).reshape(n, M, 1)
        self._first = self._row.astype(np.int64) * V
        x = (np.log(self.b) - self._lb) / self._span       # >= 0; > 1 at vertices beyond b_hi
        self._stride = float(np.ceil(np.max(x, initial=0.0, where=np.isfinite(x)))) + 1.0
        self._keys = (self._row * self._stride + x).reshape(-1)   # sorted: rows stride apart, each row by b
        self._flat = [v.reshape(-1) for v in (self.b, self.c, self.t)]

    @classmethod
    def through(cls, phys, c_pts, b_pts, b_lo, b_hi):
        """Vertices at workloads ``c_pts`` (:func:`bits_per_rb`) and at bits per RB
        ``b_pts`` (:func:`max_cycles`, whose first column must be ``b_lo``).
        Workload vertices sending less than ``b_lo`` are dropped (made copies
        of the vertex at ``b_lo``)."""
        bc, fc = bits_per_rb(c_pts, **phys)
        tc = np.divide(c_pts, fc, out=np.zeros_like(bc), where=fc > 0)
        cb, tb = max_cycles(b_pts, **phys, iters=30)
        low = ~(bc >= b_lo)
        bc, cc, tc = (np.where(low, v[..., :1], w) for v, w in ((b_pts, bc), (cb, c_pts), (tb, tc)))
        return cls(*(np.concatenate(pair, axis=2) for pair in ((bc, b_pts), (cc, cb), (tc, tb))), b_lo, b_hi)

    def rows(self, rows: slice) -> "_Boundary":
        return _Boundary(self.b[rows], self.c[rows], self.t[rows], _rows_of(self.b_lo, rows), self.b_hi[rows])

    def add(self, phys, b_pts) -> "_Boundary":
        """The polygon with vertices at ``b_pts`` added."""
        cb, tb = max_cycles(b_pts, **phys, iters=30)
        return _Boundary(*(np.concatenate(pair, axis=2) for pair in ((self.b, b_pts), (self.c, cb), (self.t, tb))),
                         self.b_lo, self.b_hi)

    def chord(self, b):
        """``(c, t, t_left, t_right)`` on the chord over ``b``."""
        k = np.searchsorted(self._keys, self._row * self._stride + (np.log(b) - self._lb) / self._span,
                            side="right") - 1
        k = np.clip(k, self._first, self._first + self.b.shape[2] - 2)
        fb, fc, ft = self._flat
        b0, b1 = fb[k], fb[k + 1]
        w = np.clip(np.divide(b - b0, b1 - b0, out=np.zeros_like(b), where=b1 > b0), 0.0, 1.0)
        return (1 - w) * fc[k] + w * fc[k + 1], (1 - w) * ft[k] + w * ft[k + 1], ft[k], ft[k + 1]


def _rows_of(v, rows):
    return v[rows] if np.ndim(v) == 3 else v


def _corners(phys, c_lo, c_hi, iters: int = 24):
    """Workloads where the CPU cap (eq. 8d) or the power cap (eq. 9c) starts to
    bind at the best computing time: the corners of ``g``, shape ``(n, M, 2)``.

    Found by bisection in ``log c`` on whether the cap binds (assumed to
    change once on ``[c_lo, c_hi]``; if not, the point returned is still on
    the curve, so it stays a valid vertex). The CPU cap binds when the bits
    fall as the computing time grows from its least value ``c / f_max``; the
    power cap binds when it does so at the time where ``(E - gamma c^3 / t^2) / (T - t)``,
    increasing in ``t``, reaches ``P_max``.
    """
    a, W, T, E, fmax, pmax, gamma = (phys[k] for k in ("a", "W", "T", "E", "fmax", "pmax", "gamma"))

    def falls_after(t, comp, cap):
        h = 1e-7 * T
        return _bits_at(t + h, comp, a, W, T, E, cap) <= _bits_at(t, comp, a, W, T, E, cap)

    def cpu_binds(c):
        comp = gamma * c**3
        return (c / fmax >= np.sqrt(comp / E)) & falls_after(c / fmax, comp, pmax)

    def power_binds(c):
        comp = gamma * c**3
        power = lambda t: (E - comp / t**2) / (T - t)
        t_x = bisect_increasing(power, np.broadcast_to(pmax, comp.shape), np.sqrt(comp / E), T, iters=40)
        return ~falls_after(t_x, comp, np.inf)

    x_lo, x_hi = np.log(c_lo), np.log(c_hi)
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for binds in (cpu_binds, power_binds):
            at_hi = binds(np.exp(x_hi))

            def step(x):
                b = binds(np.exp(x))
                return np.where(at_hi, b, ~b).astype(float)

            out.append(np.exp(bisect_increasing(step, np.full(at_hi.shape, 0.5), x_lo, x_hi, iters=iters)))
    return np.concatenate(out, axis=2)


def _semantic_boundary(phys, app, Z, grid):
    """The search range and first polygon of :func:`_semantic_tables`, for all devices."""
    C = app["cycles_max"]
    n, M = phys["a"].shape[:2]
    c0 = C * np.exp(-app["eta2"] / app["eta1"]) * (1 + 1e-9)   # A_c(c0) = 0
    c_hi = np.minimum(C, np.minimum(phys["fmax"] * phys["T"],
                                    np.cbrt(phys["E"] * phys["T"] ** 2 / phys["gamma"])))   # t = T
    g0, _ = bits_per_rb(c0, **phys)                            # (n, M, 1)
    b_lo, b_hi = MIN_BITS / max(Z, 1), np.minimum(app["bits_max"], g0)   # bits per RB worth searching
    possible = (b_hi > b_lo) & (c_hi > c0)
    b_hi, c_hi = np.where(possible, b_hi, 2 * b_lo), np.where(possible, c_hi, 2 * c0)
    s = np.linspace(0.0, 1.0, grid // 2)
    c_pts = np.concatenate([c0 * (c_hi / c0) ** (1 - (1 - s) ** 2),        # denser towards c_hi
                            _corners(phys, c0, c_hi)], axis=2)
    b_pts = np.broadcast_to(b_lo * (b_hi / b_lo) ** s, (n, M, s.size))
    return possible, _Boundary.through(phys, c_pts, b_pts, b_lo, b_hi)


def _semantic_tables(phys, app, util_of, z, possible, bound, grid, refine_iters):
    """The semantic part of the tables for the devices of ``phys``/``app`` (see module docstring).

    Returns ``(util, cycles, bits, cpu)``, each shaped ``(n, M, Z + 1)``.

    A device sending ``d`` bits over ``z`` RBs can compute at most
    ``c_max(d / z)`` cycles (:func:`max_cycles`), and the utility increases
    in both ``c`` and ``d``, so the best schedule maximises
    ``u(min(c_max(d / z), C), d)`` over ``d in [MIN_BITS, min(D, z b_hi)]``,
    ``b_hi = g(c0)`` the bits per RB that leave the least useful workload
    ``c0 = C exp(-eta2 / eta1)`` (``A_c(c0) = 0``). ``c_max`` is concave, so
    this is log-concave in ``d`` and a golden section on ``log d`` finds the
    optimum. Parametrising by ``d`` rather than ``c`` keeps a maximum at
    ``d = D`` a bound of the search rather than a kink of ``min(z g(c), D)``.

    During the search ``c_max`` is the polygon ``bound`` (:class:`_Boundary`):
    vertices at geometric ``c`` (where ``b`` falls steeply), at geometric
    ``b`` (where ``c`` does), and at the corners where the CPU or power cap
    starts to bind (:func:`_corners`), where the optimum often sits. A first
    search at a few ``z`` locates the range of the optimal ``b = d / z``;
    ``grid`` more vertices over that range, and a second search at every
    ``z``, refine it. The chosen
    ``d`` is then scheduled with ``c_max(d / z)`` searched exactly between
    the chord's end points, and never below the chord.
    """
    C, D = app["cycles_max"], app["bits_max"]

    def utility(c, d):
        return util_of(accuracy_cd(np.minimum(c, C), d, app["eta1"], app["eta2"], C,
                                   app["beta1"], app["beta2"], app["beta3"], D))

    def best_bits(z, bound, iters):
        """The best ``d`` for every ``z`` (``(n, M, len(z))``) on the polygon, and where it is > 0."""
        d_lo = MIN_BITS / (1 - 2 * SAFETY)                     # still >= MIN_BITS after the margin
        d_hi = np.where(possible & (z >= 1), np.minimum(D, z * bound.b_hi), 0.0)
        on = d_hi > d_lo
        zf = np.maximum(z, 1)
        x_lo, x_hi = np.full(on.shape, np.log(d_lo)), np.log(np.where(on, d_hi, 2 * d_lo))
        x, _ = golden_max(lambda x: utility(bound.chord(np.exp(x) / zf)[0], np.exp(x)), x_lo, x_hi, iters=iters)
        return np.exp(x), on

    # first pass at a few z (b* = d*/z moves monotonically with z): where are the optima?
    Z = z.shape[-1] - 1
    z_few = np.unique(np.round(np.geomspace(1, max(Z, 1), 8)))[None, None, :]
    d, on = best_bits(z_few, bound, refine_iters)
    lb = np.log(d / z_few)
    lo = np.min(np.where(on, lb, np.inf), axis=2, keepdims=True)
    hi = np.max(np.where(on, lb, -np.inf), axis=2, keepdims=True)
    pad = 2 * np.log(bound.b_hi / bound.b_lo) / grid
    lo = np.where(np.isfinite(lo), np.maximum(lo - pad, np.log(bound.b_lo)), np.log(bound.b_lo))
    hi = np.where(np.isfinite(hi), np.minimum(hi + pad, np.log(bound.b_hi)), lo)
    bound = bound.add(phys, np.exp(lo + (hi - lo) * np.linspace(0.0, 1.0, grid)))
    # second pass at every z on the refined polygon
    d, on = best_bits(z, bound, refine_iters)
    zf = np.maximum(z, 1)
    c_ch, t_ch, t0, t1 = bound.chord(d / zf)
    c, t = max_cycles(d / zf, **phys, bracket=(np.minimum(t0, t1), np.maximum(t0, t1)), iters=12)
    better = c > c_ch
    c, t = np.minimum(np.where(better, c, c_ch), C), np.where(better, t, t_ch)
    bits = d * (1 - SAFETY)                    # d exactly exhausts time or energy: keep the margin
    util = np.where(on, utility(c, bits), 0.0)
    on = util > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cpu = np.where(on, c / t, 0.0)
    return util, np.where(on, c, 0.0), np.where(on, bits, 0.0), cpu


def schedule(inst, tables: Tables, bs: np.ndarray, rbs: np.ndarray) -> dict:
    """The solution variables (docs/formats.md) for an association and RB allocation.

    Each device takes its table entry; its power is the least that meets the
    deadline (eq. 13). A device without RBs, or whose entry has no utility,
    is ``idle`` with ``bs = -1`` and nothing spent.
    """
    N = len(bs)
    n = np.arange(N)
    bs, rbs = np.asarray(bs, dtype=np.int64), np.asarray(rbs, dtype=np.int64)
    m = np.maximum(bs, 0)
    zc = np.minimum(rbs, tables.util.shape[2] - 1)
    served = (bs >= 0) & (rbs >= 1) & (tables.util[n, m, zc] > 0)
    mode = np.where(served, tables.mode[n, m, zc], IDLE)
    c = np.where(served, tables.cycles[n, m, zc], 0.0)
    d = np.where(served, tables.bits[n, m, zc], 0.0)
    f = np.where(served, tables.cpu_hz[n, m, zc], 0.0)
    tau = inst.deadline_s - np.divide(c, f, out=np.zeros(N), where=f > 0)
    a = inst.snr_per_watt[n, m]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = np.expm1(np.log(2.0) * d / (np.maximum(rbs, 1) * inst.rb_bandwidth_hz * tau)) / a   # eq. 13
    # at the power cap, rounding in tau (relative eps T / tau) must not push P over it;
    # the time this costs is eps T, far inside the deadline's tolerance
    p = np.where(served, np.minimum(p, inst.devices.power_max_w), 0.0)
    return {"bs": np.where(served, bs, -1), "rbs": np.where(served, rbs, 0),
            "mode": np.array([MODES[k] for k in mode], dtype=object),
            "cpu_hz": f, "power_w": p, "cycles": c, "bits": d}
