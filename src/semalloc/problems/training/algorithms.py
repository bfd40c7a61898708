"""Every training algorithm: the paper's ``alternating`` (Algorithm 3), its four
baselines (Sec. VII-D), the multi-start NLP reference ``exact`` and our ``best``.

============  ===============================================================
name          what it does
============  ===============================================================
alternating   Algorithm 3, P4 first, from the fastest allocation (every
              resource at its maximum; ``start="average"``: the Average
              allocation): P4 by Algorithm 2 (sum-of-ratios Newton, P7 by
              KKT + a search on the price), then P3 by KKT + a search on T,
              in turn until the objective settles (``first="p3"``: P3 first)
alg3_printed  Algorithm 3 as printed: from a random feasible (p, B) (the
              Random allocation of ``seed``), P3 then P4 in turn until
              ``||sol(k+1) - sol(k)|| <= tol`` (epsilon, step 7)
random        p, f, h, rho truncated-normal around the middle of their
              ranges (std = width/10), B in [B/(1.25N), B/(0.8N)] summing to B
average       B/N, p_max/2, f_max/2, h_max/2, (rho_min + rho_max)/2
pb_only       f, h, rho as ``average``; p, B optimised (P4 with T searched)
fhr_only      p, B as ``average``; f, h, rho optimised (P3)
exact         best of many local optima of SLSQP on P1 (epigraph form)
best          block-coordinate descent on P1 from alternating's answer: P3
              alternating with P4 whose round time T is searched too;
              then, for N <= ``reduced_max_devices`` (default 100), SLSQP over (p, B)
              with P3 solved inside (:func:`reduced_functions`) and block
              descent again; then, for N <= ``polish_max_devices`` (default 20), SLSQP
              on all of P1 (analytic gradients); each step kept only if it
              lowers the objective, so never worse than alternating
============  ===============================================================

Baselines that fix ``(p, B)`` or ``rho`` meet the PSNR constraint (16e) by
raising ``rho`` (up to ``rho_max``) and, if that is not enough, by giving up
bandwidth until the SNR suffices (docs/models.md); they never add resources.
An instance where some device's ``psnr_min_db`` is above the PSNR model's
ceiling at ``rho_max`` gets status ``infeasible`` with the devices named.
"""
from __future__ import annotations

import functools
import time
from typing import Literal

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.stats import truncnorm

from ...errors import InputError
from ...solvers.scalar import bracket
from ...units import LN2
from .evaluate import evaluate, metrics
from .subproblems import (
    SNR_MARGIN,
    Infeasible,
    P3Solution,
    P4Context,
    inv_log_ratio,
    p4_water_filling,
    solve_p3,
    solve_p4,
)

__all__ = ["register", "ALGORITHMS", "alternating", "block_descent", "average_point", "fastest_point", "start_point",
           "repair_psnr", "optimise_pb", "p1_functions", "reduced_functions", "STARTS"]


def _vars(p, B, f, h, rho) -> dict:
    return {"power_w": p, "bandwidth_hz": B, "cpu_hz": f, "bs_cpu_hz": h, "rho": rho}


def _objective(inst, v: dict) -> float:
    m = metrics(inst, v)
    return inst.w_time * m.round_time_s + inst.w_energy * m.total_energy_j


def repair_psnr(inst, p, B, rho):
    """Raise ``rho`` to meet (16e); where ``rho_max`` is not enough, cut ``B`` until the SNR is."""
    dev, model = inst.devices, inst.model
    rho = np.clip(np.maximum(rho, model.rho_needed(dev.psnr_min_db, p * inst.snr_per_hz / B)), dev.rho_min,
                  dev.rho_max)
    s_need = model.snr_needed(dev.psnr_min_db, rho) * (1 + SNR_MARGIN)
    return p, np.minimum(B, p * inst.snr_per_hz / s_need), rho


def average_point(inst) -> dict:
    """The Average Allocation (Sec. VII-D ii), repaired for the PSNR constraint."""
    d = inst.devices
    p, B, rho = repair_psnr(inst, d.power_max_w / 2, np.full(inst.N, inst.bandwidth_hz / inst.N),
                            (d.rho_min + d.rho_max) / 2)
    return _vars(p, B, d.cpu_max_hz / 2, d.bs_cpu_max_hz / 2, rho)


def fastest_point(inst) -> dict:
    """Every resource at its maximum: ``p_max``, ``B_total / N``, ``f_max``, ``h_max`` and the
    least ``rho`` that meets (16e) there (repaired as the baselines are): the start of
    ``alternating`` (docs/models.md, "Start and order of Algorithm 3")."""
    d = inst.devices
    p, B, rho = repair_psnr(inst, d.power_max_w, np.full(inst.N, inst.bandwidth_hz / inst.N), d.rho_min)
    return _vars(p, B, d.cpu_max_hz, d.bs_cpu_max_hz, rho)


#: Starts of Algorithm 3 (its sol^(0)) by name.
STARTS = {"fastest": "every resource at its maximum (fastest_point)",
          "average": "the Average allocation (average_point)",
          "random": "the Random baseline's allocation for a seed: a random feasible (p, B)"}


def start_point(inst, start: str, seed: int = 0) -> dict:
    """The allocation named ``start`` (a key of :data:`STARTS`; ``seed`` for ``"random"``)."""
    if start not in STARTS:
        raise InputError("start", f"must be one of {sorted(STARTS)}, got {start!r}", "training")
    return _random_point(inst, seed) if start == "random" else \
        {"fastest": fastest_point, "average": average_point}[start](inst)


def _rate_terms(a, p, B):
    """SNR ``S = p a / B``, rate ``r = B log2(1 + S)`` (eq. 6) and its partial derivatives
    ``dr/dp``, ``dr/dB``."""
    S = p * a / B
    l = np.log1p(S)
    return S, B * l / LN2, a / ((1 + S) * LN2), (l - S / (1 + S)) / LN2


def _within_budget(inst, B):
    """``B`` scaled down, if need be, to just under ``B_total`` (rounding of a solver's answer)."""
    return B * min(1.0, inst.bandwidth_hz * (1 - 1e-12) / B.sum())


def _from_p3(p, B, s3: P3Solution) -> dict:
    return _vars(p, B, s3.f, s3.h, s3.rho)


def _scaled(inst, v: dict) -> np.ndarray:
    """``sol = (p/p_max, B/B_total, f/f_max, h/h_max, rho)``: the allocation as one vector of
    numbers in [0, 1], where Algorithm 3's ``||sol^(k+1) - sol^(k)||`` is measured."""
    d = inst.devices
    return np.concatenate([v["power_w"] / d.power_max_w, v["bandwidth_hz"] / inst.bandwidth_hz,
                           v["cpu_hz"] / d.cpu_max_hz, v["bs_cpu_hz"] / d.bs_cpu_max_hz, v["rho"]])


def alternating(inst, start: dict, first: str = "p4", max_iter: int = 50, tol: float = 1e-9,
                stop: str = "objective"):
    """Algorithm 3 from the allocation ``start`` (sol^(0)): P3 (eq. 32) and P4
    (Algorithm 2) in turn, one of each per iteration.

    ``first="p3"`` is the printed loop (steps 4-5: P3 at ``(p^(k), B^(k))``, then P4 at
    P3's answer; it never reads the start's ``f, h, rho``) and returns sol^(k+1) after P4
    (step 6); ``first="p4"`` (ours) begins with P4 at the start's ``(f, h, rho)`` and round
    time ``T0`` and returns the allocation after P3. ``stop="solution"`` stops, as step 7,
    when ``||sol^(k+1) - sol^(k)||_2 <= tol`` on :func:`_scaled` allocations;
    ``stop="objective"`` when one iteration lowers the objective by at most ``tol``
    (relative). Returns the variables and stats: the objective of the start and after every
    step (``history``), iterations, Newton steps, and ``p4_newton_stalls``, the P4 steps
    whose Newton method stalled and took :func:`p4_water_filling`'s answer."""
    if first not in ("p3", "p4"):
        raise InputError("first", f"must be 'p3' or 'p4', got {first!r}", "training")
    if stop not in ("objective", "solution"):
        raise InputError("stop", f"must be 'objective' or 'solution', got {stop!r}", "training")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InputError("max_iter", f"must be a positive integer, got {max_iter!r}", "training")
    p, B, v = start["power_w"], start["bandwidth_hz"], start
    s3 = P3Solution.of(inst, start)
    history, newton, stalls, moved = [_objective(inst, v)], 0, 0, np.inf
    for k in range(1, max_iter + 1):
        before = v
        for step in ((first, "p3") if first == "p4" else ("p3", "p4")):
            if step == "p3":
                s3 = solve_p3(inst, p, B, guess=s3.T)
            else:
                s4 = solve_p4(inst, s3, B)
                newton, stalls = newton + s4.iterations, stalls + (not s4.converged)
                p, B = s4.p, s4.B
            v = _from_p3(p, B, s3)
            history.append(_objective(inst, v))
        moved = float(np.linalg.norm(_scaled(inst, v) - _scaled(inst, before)))
        if (moved if stop == "solution" else (history[-3] - history[-1]) / abs(history[-3])) <= tol:
            break
    return v, {"iterations": k, "newton_iterations": newton, "p4_newton_stalls": stalls, "first": first,
               "stop": stop, "last_move": moved, "history": history}


def _least_bandwidth(inst, rho, tau) -> np.ndarray:
    """Bandwidth each device needs at full power to upload within ``tau`` (inf if it cannot)."""
    a, pm = inst.snr_per_hz, inst.devices.power_max_w
    with np.errstate(divide="ignore", invalid="ignore"):
        x = inv_log_ratio(rho * inst.raw_bits * LN2 / (np.where(tau > 0, tau, np.nan) * a * pm))
        return np.where(np.isfinite(x) & (x > 0), a * pm / x, np.inf)


def optimise_pb(inst, f, h, rho, t_max: float):
    """Best ``(p, B)`` and round time for fixed ``(f, h, rho)``: P4 (solved
    directly) inside a bounded 1-D search on ``T`` (Brent) over
    ``[T_lo, t_max]``, ``T_lo`` the least round time P4 can meet.
    Returns ``(p, B, T, value)`` or None when P4 is infeasible up to ``t_max``."""
    c1, c2 = inst.cycles
    fixed = c1 / f + c2 / h
    e_fixed = inst.kappa * float(np.sum(c1 * f**2 + c2 * h**2))
    s_min = inst.model.snr_needed(inst.devices.psnr_min_db, rho) * (1 + SNR_MARGIN)
    a, pm = inst.snr_per_hz, inst.devices.power_max_w
    # least upload time: full power at the least SNR (the largest bandwidth the PSNR allows)
    b_top = a * pm / s_min
    t_least = float(np.max(fixed + rho * inst.raw_bits / (b_top * np.log1p(s_min) / LN2)))
    bw = lambda T: float(np.sum(_least_bandwidth(inst, rho, T - fixed)))
    if bw(t_max) > inst.bandwidth_hz:
        return None
    t_lo = t_least if bw(t_least) <= inst.bandwidth_hz else \
        float(bracket(lambda T: bw(T) > inst.bandwidth_hz, t_least, t_max, iters=80)[1])
    t_lo *= 1 + 1e-12
    seen = {}

    def value(T):
        try:
            sol = p4_water_filling(P4Context.build(inst, rho, T - fixed))
        except Infeasible:
            return np.inf
        val = inst.w_time * T + inst.w_energy * (e_fixed + sol.energy)
        seen[T] = (val, sol)
        return val

    value(t_lo)
    if t_max > t_lo:
        minimize_scalar(value, bounds=(t_lo, t_max), method="bounded", options={"xatol": 1e-9 * t_max, "maxiter": 200})
    if not seen:
        return None
    T = min(seen, key=lambda t: seen[t][0])
    val, sol = seen[T]
    return sol.p, sol.B, T, val


def block_descent(inst, p, B, max_iter: int = 100, tol: float = 1e-9):
    """``best``: P3 alternating with P4 whose round time is searched as well
    (:func:`optimise_pb`), i.e. exact block-coordinate descent on P1 over
    ``{f, h, rho}`` and ``{p, B}``. Each step is optimal for its block, so the
    objective never increases."""
    s3 = solve_p3(inst, p, B)
    v = _from_p3(p, B, s3)
    obj = _objective(inst, v)
    history = [obj]
    for k in range(1, max_iter + 1):
        out = optimise_pb(inst, s3.f, s3.h, s3.rho, obj / inst.w_time)
        if out is None:
            break
        p_new, B_new = out[0], out[1]
        s3_new = solve_p3(inst, p_new, B_new, guess=s3.T)
        v_new = _from_p3(p_new, B_new, s3_new)
        obj_new = _objective(inst, v_new)
        if not obj_new < obj:
            break
        improved = obj - obj_new
        p, B, s3, v, obj = p_new, B_new, s3_new, v_new, obj_new
        history.append(obj)
        if improved <= tol * abs(obj):
            break
    return v, {"iterations": k, "history": history}


def _infeasible(inst):
    """Status ``infeasible`` naming every device whose PSNR target is above the model's ceiling."""
    bad = inst.unreachable()
    if not len(bad):
        return None
    ceil = inst.model.ceiling(inst.devices.rho_max)
    msg = "; ".join(f"device {i}: psnr_min_db {inst.devices.psnr_min_db[i]:.4g} dB is above the PSNR "
                    f"ceiling {ceil[i]:.4g} dB reachable at rho_max" for i in bad[:10])
    return average_point(inst), "infeasible", {"infeasible_devices": bad.tolist()}, msg


def _random_point(inst, seed: int) -> dict:
    """Random Allocation (Sec. VII-D i): truncated normal, mean mid-range, std width/10."""
    rng = np.random.default_rng(seed)
    d, N = inst.devices, inst.N

    def tn(lo, hi):
        lo, hi = np.broadcast_to(lo, (N,)), np.broadcast_to(hi, (N,))
        return truncnorm.rvs(-5.0, 5.0, loc=(lo + hi) / 2, scale=(hi - lo) / 10, size=N, random_state=rng)

    p, f, h, rho = tn(0.0, d.power_max_w), tn(0.0, d.cpu_max_hz), tn(0.0, d.bs_cpu_max_hz), tn(d.rho_min, d.rho_max)
    B = tn(inst.bandwidth_hz / (1.25 * N), inst.bandwidth_hz / (0.8 * N))
    B *= inst.bandwidth_hz / B.sum() * (1 - 1e-12)
    p, B, rho = repair_psnr(inst, p, B, rho)
    return _vars(p, B, f, h, rho)


def p1_functions(inst, t_ref: float, ref: float) -> dict:
    """P1 in epigraph form on scaled variables ``x = (p/p_max, B/B_total, f/f_max,
    h/h_max, rho, T/t_ref)``: objective / ``ref`` and its gradient, the
    constraints (17a), (16c), (16e) as ``>= 0`` and their Jacobian, ``split(x)``
    back to SI units, and the bounds."""
    d, N = inst.devices, inst.N
    c1, c2 = inst.cycles
    a, bits, w1, w2, kap = inst.snr_per_hz, inst.raw_bits, inst.w_time, inst.w_energy, inst.kappa
    pm, fm, hm, Bt = d.power_max_w, d.cpu_max_hz, d.bs_cpu_max_hz, inst.bandwidth_hz
    model = inst.model
    lo = 1e-9
    blocks = np.arange(5 * N).reshape(5, N)                               # column indices of p, B, f, h, rho

    def split(x):
        return (x[:N] * pm, np.maximum(x[N:2 * N], lo) * Bt, np.maximum(x[2 * N:3 * N], lo) * fm,
                np.maximum(x[3 * N:4 * N], lo) * hm, x[4 * N:5 * N], x[-1] * t_ref)

    def parts(x):
        """Everything the objective, the constraints and their gradients need, unscaled."""
        p, B, f, h, rho, T = split(x)
        S, r, r_p, r_B = _rate_terms(a, p, B)                               # eq. 6
        t_up = rho * bits / r                                               # eq. 7
        return p, B, f, h, rho, T, S, r, r_p, r_B, t_up

    def obj(x):
        p, B, f, h, rho, T, S, r, r_p, r_B, t_up = parts(x)
        e = kap * (c1 * f**2 + c2 * h**2) + p * t_up
        return (w1 * T + w2 * e.sum()) / ref

    def obj_grad(x):
        p, B, f, h, rho, T, S, r, r_p, r_B, t_up = parts(x)
        g = np.empty(5 * N + 1)
        g[blocks[0]] = w2 * (t_up - p * t_up / r * r_p) * pm
        g[blocks[1]] = w2 * (-p * t_up / r * r_B) * Bt
        g[blocks[2]] = w2 * 2 * kap * c1 * f * fm
        g[blocks[3]] = w2 * 2 * kap * c2 * h * hm
        g[blocks[4]] = w2 * p * bits / r
        g[-1] = w1 * t_ref
        return g / ref

    def cons(x):
        p, B, f, h, rho, T, S, r, r_p, r_B, t_up = parts(x)
        time_gap = (T - (t_up + c1 / f + c2 / h)) / t_ref                  # (17a)
        psnr_gap = (model.psnr(rho, S) - d.psnr_min_db) / 10.0               # (16e)
        return np.concatenate([time_gap, [1.0 - x[N:2 * N].sum()], psnr_gap])

    def cons_jac(x):
        p, B, f, h, rho, T, S, r, r_p, r_B, t_up = parts(x)
        J = np.zeros((2 * N + 1, 5 * N + 1))
        rows = np.arange(N)
        J[rows, blocks[0]] = t_up / r * r_p * pm / t_ref
        J[rows, blocks[1]] = t_up / r * r_B * Bt / t_ref
        J[rows, blocks[2]] = c1 / f**2 * fm / t_ref
        J[rows, blocks[3]] = c2 / h**2 * hm / t_ref
        J[rows, blocks[4]] = -bits / r / t_ref
        J[rows, -1] = 1.0
        J[N, blocks[1]] = -1.0
        dP_drho, dP_ds = model.gradient(rho, S)
        J[N + 1 + rows, blocks[0]] = dP_ds * a / B * pm / 10.0
        J[N + 1 + rows, blocks[1]] = -dP_ds * S / B * Bt / 10.0
        J[N + 1 + rows, blocks[4]] = dP_drho / 10.0
        return J

    bounds = ([(lo, 1.0)] * (4 * N) + list(zip(d.rho_min, d.rho_max)) + [(lo, None)])
    return {"obj": obj, "grad": obj_grad, "cons": cons, "jac": cons_jac, "split": split, "bounds": bounds}


def reduced_functions(inst, ref: float) -> dict:
    """P1 over ``(p, B)`` alone, with ``f, h, rho, T`` at P3's optimum for them:
    ``F(p, B) = min over f, h, rho, T of P1``, on scaled ``z = (p/p_max, B/B_total)``.

    ``F`` / ``ref`` and its gradient come from one :func:`solve_p3`; by the
    envelope theorem ``dF/dp_n = (beta_n + w2 p_n) dt_n/dp_n + w2 t_n`` and
    ``dF/dB_n = (beta_n + w2 p_n) dt_n/dB_n``, where ``t_n`` is the upload time
    ``rho_n d_n D_n / r_n`` (eq. 7; ``rho_n`` follows the SNR while the PSNR
    constraint binds, eq. 20: ``drho/dS = -(dP/dS) / (dP/drho)``), and
    ``beta_n`` P3's multiplier of device n's time constraint (eqs. 26-27,
    scaled to sum to ``w1``, eq. 31). The constraints (``>= 0``, linear) are ``sum B <= B_total`` (16c) and
    the least SNR that ``rho_max`` allows (16e). ``F`` is inf where P3 is
    infeasible; ``split(z)`` gives the variables.
    """
    d, N, Bt = inst.devices, inst.N, inst.bandwidth_hz
    a, bits, model, pm = inst.snr_per_hz, inst.raw_bits, inst.model, d.power_max_w
    w1, w2 = inst.w_time, inst.w_energy
    s_floor = model.snr_needed(d.psnr_min_db, d.rho_max) * (1 + 10 * SNR_MARGIN)
    seen: dict = {}

    def at(z):
        key = z.tobytes()
        if key not in seen:
            seen.clear()                                                   # SLSQP asks f then grad at one z
            p, B = z[:N] * pm, np.maximum(z[N:], 1e-12) * Bt
            try:
                s3 = solve_p3(inst, p, B)
            except Infeasible:
                seen[key] = None
                return None
            v = _from_p3(p, B, s3)
            S, r, r_p, r_B = _rate_terms(a, p, B)                           # eq. 6
            follows = (s3.rho > d.rho_min) & (s3.rho < d.rho_max)           # rho = rho-bar(S), eq. 20
            dp_drho, dp_ds = model.gradient(s3.rho, S)
            drho_ds = np.where(follows, -dp_ds / dp_drho, 0.0)
            t_up = s3.rho * bits / r                                        # eq. 7
            beta = s3.beta * (w1 / s3.beta.sum() if s3.beta.sum() > 0 else 0.0)
            weight = beta + w2 * p
            g_p = weight * t_up * (drho_ds * (a / B) / s3.rho - r_p / r) + w2 * t_up
            g_B = weight * t_up * (-drho_ds * (S / B) / s3.rho - r_B / r)
            seen[key] = (_objective(inst, v) / ref, np.concatenate([g_p * pm, g_B * Bt]) / ref, v)
        return seen[key]

    lin_budget = np.concatenate([np.zeros(N), -np.ones(N)])
    lin_snr = np.hstack([np.eye(N), np.diag(-s_floor * Bt / (pm * a))])
    return {"obj": lambda z: at(z)[0] if at(z) else np.inf,
            "grad": lambda z: at(z)[1] if at(z) else np.zeros_like(z),
            "cons": [{"type": "ineq", "fun": lambda z: 1.0 - z[N:].sum(), "jac": lambda z: lin_budget},
                     {"type": "ineq", "fun": lambda z: lin_snr @ z, "jac": lambda z: lin_snr}],
            "bounds": [(1e-9, 1.0)] * (2 * N),
            "split": lambda z: at(z)[2] if at(z) else None}


def _reduced_local(inst, v0: dict, max_iter: int = 300):
    """One SLSQP run on :func:`reduced_functions` from ``v0``; returns the variables or None."""
    fn = reduced_functions(inst, _objective(inst, v0))
    z0 = np.concatenate([v0["power_w"] / inst.devices.power_max_w, v0["bandwidth_hz"] / inst.bandwidth_hz])
    with np.errstate(all="ignore"):
        res = minimize(fn["obj"], z0, jac=fn["grad"], method="SLSQP", bounds=fn["bounds"], constraints=fn["cons"],
                       options={"maxiter": max_iter, "ftol": 1e-12})
    v = fn["split"](np.clip(res.x, 1e-9, 1.0))
    if v is None:
        return None
    v = dict(v, bandwidth_hz=_within_budget(inst, v["bandwidth_hz"]))
    return v if evaluate(inst, v).feasible else None


def _p1_local(inst, v0: dict, ref: float, max_iter: int = 500):
    """One SLSQP run on P1 (:func:`p1_functions`, analytic gradients) from ``v0``.
    Returns repaired variables or None."""
    d, Bt = inst.devices, inst.bandwidth_hz
    fn = p1_functions(inst, metrics(inst, v0).round_time_s, ref)
    bounds = fn["bounds"]
    x0 = np.concatenate([v0["power_w"] / d.power_max_w, v0["bandwidth_hz"] / Bt, v0["cpu_hz"] / d.cpu_max_hz,
                         v0["bs_cpu_hz"] / d.bs_cpu_max_hz, v0["rho"], [1.0]])
    with np.errstate(all="ignore"):
        res = minimize(fn["obj"], x0, jac=fn["grad"], method="SLSQP", bounds=bounds,
                       constraints=[{"type": "ineq", "fun": fn["cons"], "jac": fn["jac"]}],
                       options={"maxiter": max_iter, "ftol": 1e-12})
    x = np.clip(res.x, [b[0] for b in bounds], [b[1] if b[1] is not None else np.inf for b in bounds])
    p, B, f, h, rho, _ = fn["split"](x)
    B = _within_budget(inst, B)
    p, B, rho = repair_psnr(inst, np.maximum(p, bounds[0][0] * d.power_max_w), B, rho)
    v = _vars(p, B, f, h, rho)
    return v if evaluate(inst, v).feasible else None


def _guarded(fn):
    """``fn`` as registered: an instance some device cannot serve gets status ``infeasible`` first."""
    @functools.wraps(fn)
    def run(inst, **options):
        bad = _infeasible(inst)
        return bad if bad is not None else fn(inst, **options)
    return run


def run_alternating(inst, first: Literal["p4", "p3"] = "p4",
                    start: Literal["fastest", "average", "random"] = "fastest", seed: int = 0, max_iter: int = 50):
    """``alternating``: :func:`alternating` from the allocation ``start`` (:func:`start_point`)."""
    v, stats = alternating(inst, start_point(inst, start, seed), first=first, max_iter=max_iter)
    return v, "feasible", {"start": start, **stats}, ""


def alg3_printed(inst, start: Literal["random", "average", "fastest"] = "random", seed: int = 0,
                 tol: float = 1e-6, max_iter: int = 50):
    """Algorithm 3 as printed: P3 first, stopped on the move of the solution (step 7)."""
    v, stats = alternating(inst, start_point(inst, start, seed), first="p3", max_iter=max_iter, tol=tol,
                           stop="solution")
    return v, "feasible", {"start": start, "seed": seed, **stats}, ""


def random(inst, seed: int = 0):
    """The Random allocation (Sec. VII-D i)."""
    return _random_point(inst, seed), "feasible", {"seed": seed}, ""


def average(inst):
    """The Average allocation (Sec. VII-D ii)."""
    return average_point(inst), "feasible", {}, ""


def pb_only(inst):
    """f, h, rho as ``average``; p, B optimised with the round time searched (Sec. VII-D iii)."""
    a = average_point(inst)
    f, h, rho = a["cpu_hz"], a["bs_cpu_hz"], a["rho"]
    out = optimise_pb(inst, f, h, rho, _objective(inst, a) / inst.w_time)
    if out is None:
        return a, "feasible", {}, "P4 infeasible at the average f, h, rho: average allocation kept"
    return _vars(out[0], out[1], f, h, rho), "feasible", {"round_time_s": out[2]}, ""


def fhr_only(inst):
    """p, B as ``average``; f, h, rho optimised by P3 (Sec. VII-D iv)."""
    a = average_point(inst)
    s3 = solve_p3(inst, a["power_w"], a["bandwidth_hz"])
    return _from_p3(a["power_w"], a["bandwidth_hz"], s3), "feasible", {}, ""


def best(inst, max_iter: int = 100, reduced_max_devices: int = 100, polish_max_devices: int = 20):
    """Ours: block descent from alternating's answer, then SLSQP over (p, B) and over P1 (module docstring).
    For N <= ``polish_max_devices`` the same also from the Average and the fastest allocation, the lowest
    end kept (``stats["start"]``: ``alternating``, ``average`` or ``fastest``)."""
    fastest = fastest_point(inst)
    v_alt, _ = alternating(inst, fastest)
    starts = [("alternating", v_alt)]
    if inst.N <= polish_max_devices:            # small: other basins are cheap to try (docs/models.md)
        starts += [("average", average_point(inst)), ("fastest", fastest)]
    ends = [(*_descended(inst, v0, max_iter, reduced_max_devices, polish_max_devices), name) for name, v0 in starts]
    v, stats, name = min(ends, key=lambda e: _objective(inst, e[0]))              # the first of equals
    return v, "feasible", {**stats, "start": name}, ""


def _descended(inst, v0: dict, max_iter: int, reduced_max_devices: int, polish_max_devices: int) -> tuple[dict, dict]:
    """``best``'s descent from ``v0``'s power and bandwidth: block descent, then the two SLSQP polishes,
    each kept only if it lowers the objective."""
    v, stats = block_descent(inst, v0["power_w"], v0["bandwidth_hz"], max_iter=max_iter)
    stats["reduced"] = stats["polished"] = False
    if inst.N <= reduced_max_devices:           # SLSQP over (p, B) with P3 inside: leaves block descent's stall
        w = _reduced_local(inst, v)
        if w is not None and _objective(inst, w) < _objective(inst, v):
            w, _ = block_descent(inst, w["power_w"], w["bandwidth_hz"], max_iter=max_iter)
            v, stats["reduced"] = w, True
    if inst.N <= polish_max_devices:            # SLSQP on all of P1
        obj = _objective(inst, v)
        w = _p1_local(inst, v, obj)
        if w is not None and _objective(inst, w) < obj:
            v, stats["polished"] = w, True
    return v, stats


def exact(inst, starts: int = 20, seed: int = 0, time_limit: float = 60.0):
    """The best of ``starts`` SLSQP runs on P1: from ``best``'s and ``alternating``'s answers, the
    Average and the fastest allocation, then random points (:func:`_random_start`)."""
    t0 = time.perf_counter()
    seeds = [best(inst)[0], run_alternating(inst)[0], average_point(inst), fastest_point(inst)]
    rng = np.random.default_rng(seed)
    best_v, best_obj, found, runs = seeds[0], _objective(inst, seeds[0]), [], 0
    ref = best_obj
    for k in range(starts):
        if time.perf_counter() - t0 > time_limit:
            break
        v0 = seeds[k] if k < len(seeds) else _random_start(inst, rng)
        v = _p1_local(inst, v0, ref)
        runs += 1
        if v is None:
            continue
        obj = _objective(inst, v)
        found.append(obj)
        if obj < best_obj:
            best_v, best_obj = v, obj
    agree = int(np.sum(np.asarray(found) <= best_obj * (1 + 1e-6))) if found else 0
    status = "time_limit" if runs < starts else "feasible"
    stats = {"starts": runs, "local_optima": len(found), "agree_within_1e-6": agree,
             "certificate": "none: best of multi-start SLSQP local optima (P1 is non-convex)"}
    return best_v, status, stats, ""


def _random_start(inst, rng) -> dict:
    """A uniform random point of the box, repaired for the PSNR constraint."""
    d, N = inst.devices, inst.N
    u = lambda: rng.uniform(0.05, 1.0, size=N)
    B = u()
    B *= inst.bandwidth_hz / B.sum() * (1 - 1e-12)
    p, B, rho = repair_psnr(inst, d.power_max_w * u(), B, d.rho_min + (d.rho_max - d.rho_min) * rng.uniform(size=N))
    return _vars(p, B, d.cpu_max_hz * u(), d.bs_cpu_max_hz * u(), rho)


#: The algorithms, in the order they are registered (and listed): name -> (function, summary).
ALGORITHMS = {
    "alternating": (run_alternating, "Li et al. Algorithm 3, P4 first (our order; alg3_printed is the printed "
                                     "one), from the fastest allocation (option start=average|random): P4 by "
                                     "sum-of-ratios Newton (Algorithm 2, P7 by KKT and a bandwidth price), then P3 "
                                     "by KKT and a search on T, in turn (option first=p3: P3 first)"),
    "alg3_printed": (alg3_printed, "Li et al. Algorithm 3 as printed: from a random feasible (p, B) (the "
                                   "Random baseline's for option seed; option start=average|fastest), P3 "
                                   "then P4 in turn until ||sol(k+1) - sol(k)|| <= tol (eps; allocations scaled "
                                   "to [0, 1]) or max_iter iterations"),
    "random": (random, "baseline: truncated-normal random p, f, h, rho and B (Sec. VII-D i)"),
    "average": (average, "baseline: equal bandwidth, half of every maximum, mid-range rho (Sec. VII-D ii)"),
    "pb_only": (pb_only, "baseline: f, h, rho as average; p, B optimised (Sec. VII-D iii)"),
    "fhr_only": (fhr_only, "baseline: p, B as average; f, h, rho optimised by P3 (Sec. VII-D iv)"),
    "best": (best, "ours: block-coordinate descent from alternating (P3, and P4 with T searched), then "
                   "SLSQP over (p, B) with P3 inside (N <= reduced_max_devices, default 100) and "
                   "over all of P1 (N <= polish_max_devices, default 20); never worse than alternating"),
    "exact": (exact, "reference: best of many SLSQP local optima of P1 (not a global certificate)"),
}


def register(problem) -> None:
    """Register every training algorithm of :data:`ALGORITHMS` on ``problem``, each :func:`_guarded`."""
    for name, (fn, summary) in ALGORITHMS.items():
        problem.algorithm(name, summary)(_guarded(fn))
