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
from ...solvers.scalar import golden_max

__all__ = ["bits_per_rb", "utility_tables", "Tables", "IDLE", "SEMANTIC", "RAW", "MODES", "SCHEMES",
           "schedule", "SAFETY"]

IDLE, SEMANTIC, RAW = 0, 1, 2
MODES = ("idle", "semantic", "raw")
#: ``adaptive``: semantic with the best (c, d) or raw (the paper's scheme);
#: ``raw``: raw data only (baseline TC); ``fixed``: c = C/2, d = D/2 (FSC).
SCHEMES = ("adaptive", "raw", "fixed")
#: Schedules send ``(1 - SAFETY)`` of the bits that exactly exhaust time or
#: energy, so that floating-point rounding never breaks a constraint.
SAFETY = 1e-9


def _device_arrays(inst):
    """Per (n, m) physical parameters, broadcastable to (N, M, 1)."""
    col = lambda v: np.asarray(v, dtype=float)[:, None, None]
    return dict(a=inst.snr_per_watt[:, :, None], W=inst.rb_bandwidth_hz, T=inst.deadline_s,
                E=col(inst.devices.energy_j), fmax=col(inst.devices.cpu_max_hz),
                pmax=col(inst.devices.power_max_w), gamma=col(inst.devices.gamma))


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

    def phi(t):
        tau = T - t
        with np.errstate(divide="ignore", invalid="ignore"):
            e_left = E - np.where(comp > 0, comp / np.where(t > 0, t, 1.0) ** 2, 0.0)
            p = np.minimum(pmax, np.maximum(e_left, 0.0) / tau)            # eqs. 12-13, 9c
            out = W * tau * np.log2(1.0 + a * p)                          # eqs. 4, 15
        return np.where(tau > 0, out, 0.0)

    t, g = golden_max(phi, t_lo, np.full_like(t_lo, T), iters=iters)
    g = np.where(feasible, g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(feasible & (c > 0), c / t, 0.0)
    return g, f


@dataclass
class Tables:
    """Per (device, BS, z) best schedule; arrays of shape (N, M, Z + 1)."""

    util: np.ndarray      # u_n^*(z) on BS m
    mode: np.ndarray      # IDLE / SEMANTIC / RAW
    cycles: np.ndarray    # c
    bits: np.ndarray      # d
    cpu_hz: np.ndarray    # f


def _app_params(inst):
    names = ("eta1", "eta2", "cycles_max", "beta1", "beta2", "beta3", "bits_max")
    return {k: inst.app(k)[:, None, None] for k in names}


def utility_tables(inst, scheme: str = "adaptive", zmax: int | None = None, grid: int = 48,
                   refine_iters: int = 24) -> Tables:
    """Best utility of each device on each BS with ``z = 0..zmax`` RBs (problem 9).

    ``scheme`` is one of :data:`SCHEMES`. ``g(c)`` is computed exactly at
    ``grid`` log-spaced values of ``c`` and interpolated between them;
    ``refine_iters`` golden-section steps in ``log c`` find the best ``c``.
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
        _semantic_tables(inst, phys, app, util_of, z, util, cycles, bits, cpu, grid, refine_iters)
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


def _semantic_tables(inst, phys, app, util_of, z, util, cycles, bits, cpu, grid, refine_iters):
    """Fill the semantic part of the tables in place (see module docstring).

    ``g`` and its optimal computing time ``t`` are computed exactly on a
    geometric grid of ``c``; between two grid points both are interpolated
    linearly in ``c``. Because the bits per RB are jointly concave in
    ``(c, t)``, the interpolated ``t`` achieves at least the interpolated
    ``g``: every value searched is achievable, and the chord error only
    costs a little utility. For each ``z`` the utility is log-concave in
    ``c``, so a golden section over the whole range finds its maximum.
    """
    C, D = app["cycles_max"], app["bits_max"]
    # A_c > 0 needs c > C exp(-eta2/eta1); c must be computable: t_lo(c) < T
    c_lo = C * np.exp(-app["eta2"] / app["eta1"])
    c_cap = np.minimum(phys["fmax"] * phys["T"],
                       np.cbrt(phys["E"] * phys["T"] ** 2 / np.maximum(phys["gamma"], 1e-300)))
    c_hi = np.minimum(C, c_cap * (1 - 1e-9))
    c_lo = np.minimum(c_lo * (1 + 1e-9), c_hi)
    x_lo, x_hi = np.log(c_lo), np.log(c_hi)                               # (N, 1, 1)
    xg = x_lo + (x_hi - x_lo) * np.linspace(0.0, 1.0, grid)[None, None, :]   # (N, 1, G)
    cg = np.broadcast_to(np.exp(xg), (xg.shape[0], phys["a"].shape[1], grid))
    gg, fg = bits_per_rb(cg, **phys)                                      # (N, M, G)
    tg = np.divide(cg, fg, out=np.full(gg.shape, phys["T"]), where=fg > 0)
    step = np.maximum((x_hi - x_lo) / (grid - 1), 1e-300)
    # u as a function of x = log c: A_c is linear in x (eq. of Sec. V)
    ac0 = app["eta2"] - app["eta1"] * np.log(C)
    N, M = gg.shape[:2]
    row = (np.arange(N * M).reshape(N, M, 1) * grid)             # flat offset of each (n, m) grid
    g_flat, t_flat = gg.reshape(-1), tg.reshape(-1)

    def interp(x, flat):
        pos = np.clip((x - x_lo) / step, 0.0, grid - 1.0)
        i = np.minimum(pos.astype(np.int64), grid - 2)
        c0 = np.exp(x_lo + i * step)
        w = np.clip((np.exp(x) - c0) / (c0 * np.expm1(step)), 0.0, 1.0)   # linear in c
        k = row + i
        return (1 - w) * flat[k] + w * flat[k + 1]

    def value(x):
        d = np.minimum(z * interp(x, g_flat) * (1 - SAFETY), D)
        a_c = np.maximum(ac0 + app["eta1"] * x, 0.0)
        with np.errstate(divide="ignore"):
            a_d = np.where(d > 0, app["beta1"] * np.exp(app["beta2"] * np.log1p(-d / D)) + app["beta3"], 0.0)
        return util_of(a_c * a_d / app["beta3"])

    shape = util.shape
    x, u = golden_max(value, np.broadcast_to(x_lo, shape), np.broadcast_to(x_hi, shape), iters=refine_iters)
    g, t = interp(x, g_flat), interp(x, t_flat)
    util[:] = np.where(z >= 1, u, 0.0)
    on = util > 0
    c = np.exp(x)
    cycles[:] = np.where(on, c, 0.0)
    bits[:] = np.where(on, np.minimum(z * g * (1 - SAFETY), D), 0.0)
    cpu[:] = np.where(on, c / np.where(on, t, 1.0), 0.0)


def schedule(inst, tables: Tables, bs: np.ndarray, rbs: np.ndarray) -> dict:
    """The solution variables of DESIGN.md for an association and RB allocation.

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
        p = (np.exp2(d / (np.maximum(rbs, 1) * inst.rb_bandwidth_hz * tau)) - 1.0) / a   # eq. 13
    p = np.where(served, p, 0.0)
    return {"bs": np.where(served, bs, -1), "rbs": np.where(served, rbs, 0),
            "mode": np.array([MODES[k] for k in mode], dtype=object),
            "cpu_hz": f, "power_w": p, "cycles": c, "bits": d}
