"""Every compression algorithm: the paper's CRRA (Alg. 4) and CRRAUS (Alg. 6),
the baselines of Sec. VI, the certified ``exact`` optimum and our ``best``.

=======  ============================  ==============================  ========================
name     compression ratio o           bandwidth and power             users
=======  ============================  ==============================  ========================
crra     Alg. 2 enumeration            Alg. 3 SCA, alternating          all
crraus   Alg. 2 enumeration (33)       Alg. 3 SCA (36), alternating     B&B on (34) (Alg. 5)
fcr      fixed ``ratio`` (0.8)         Alg. 3 SCA                       all
fra      Alg. 2 enumeration            equal split                      all
msr      Alg. 2 enumeration            max sum rate                     all
exact    grid + bounds                 2-D DP over both budgets         DP (0 = not served)
best     grid, then refined            block-coordinate exact DPs       DP (0 = not served)
=======  ============================  ==============================  ========================

The paper's algorithms optimise the approximation ``Q(x) ~ exp(-x^2/2)/2``
(eq. 20); ``exact`` and ``best`` the exact ``2 Q(x)`` (Lemma 1). Every
objective reported is ``evaluate``'s, with the exact success probability;
``stats["optimised"]`` names the model the algorithm used and
``stats["model_objective"]`` its own value of it.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np

from ...errors import InputError
from ...result import FEASIBLE, OPTIMAL
from ...solvers.allocation import dp_allocate
from ...solvers.bnb import branch_and_bound
from ...solvers.convex import solve_quietly
from ...solvers.scalar import bracket
from .evaluate import user_success
from .grid import O_GRID, best_o, best_o_fast, refine_o, upper_o, user_success_at
from .sca import FILL_MARGIN, equal_split, fit_budgets, sca_allocate

__all__ = ["register", "ALGORITHMS", "FCR_RATIO"]

#: FCR's fixed compression ratio (Sec. VI: the best fixed ratio at 20 MHz, 1 W).
FCR_RATIO = 0.8


def _variables(inst, o, B, P, sel):
    sel = np.asarray(sel, dtype=bool)
    return {"compression": np.asarray(o, dtype=float), "bandwidth_hz": np.where(sel, B, 0.0),
            "power_w": np.where(sel, P, 0.0), "selected": sel.astype(np.int64)}


def _model_value(inst, o, B, P, sel, model) -> float:
    return float((inst.weight * np.where(sel, user_success(inst, o, B, P, model), 0.0)).sum())


def _done(inst, o, B, P, sel, model, **stats):
    stats = {"optimised": {"approx": "approx: Q(x) ~ exp(-x^2/2)/2 (eq. 20)", "exact": "exact: 2Q(x) (Lemma 1)"}
             [model], "model_objective": _model_value(inst, o, B, P, sel, model), **stats}
    return _variables(inst, o, B, P, sel), FEASIBLE, stats, ""


def enumerate_o(inst, B, P, sel=None) -> np.ndarray:
    """Algorithm 2: each user's ``o`` on the grid 0.01..0.99 maximising ``eta(o) g`` (eq. 22)."""
    return best_o(inst, B, P, O_GRID, "approx")[1]


def _alternate(inst, o, B, P, sel, enumerate_ratios: bool, tol: float, max_iter: int):
    """Algorithm 4 (and FCR without the o step): enumeration and SCA until (20) converges."""
    trace, sca_iters, solver_s, inaccurate = [_model_value(inst, o, B, P, sel, "approx")], [], 0.0, 0
    for _ in range(max_iter):
        if enumerate_ratios:
            o = np.where(sel, enumerate_o(inst, B, P), o)                          # Alg. 2
        out = sca_allocate(inst, o, inst.weight * _eta(inst, o), B, P, sel)       # Alg. 3
        B, P = out.bandwidth_hz, out.power_w
        sca_iters.append(out.iterations)
        solver_s += out.solver_time_s
        inaccurate += out.inaccurate
        trace.append(_model_value(inst, o, B, P, sel, "approx"))
        if not enumerate_ratios or trace[-1] - trace[-2] <= tol * max(abs(trace[-1]), 1e-12):
            break
    return o, B, P, {"iterations": len(sca_iters), "sca_iterations": sca_iters, "trace": trace,
                     "solver_time_s": solver_s, "inaccurate_solves": inaccurate}


def _eta(inst, o):
    return inst.eta_profile(o)


def crra(inst, tol: float = 1e-4, max_iter: int = 30):
    """Algorithm 4: from the equal split, alternate Alg. 2 and Alg. 3 until (20) converges."""
    sel = np.ones(inst.U, dtype=bool)
    B, P = equal_split(inst, sel)
    o = enumerate_o(inst, B, P)
    o, B, P, stats = _alternate(inst, o, B, P, sel, True, tol, max_iter)
    return _done(inst, o, B, P, sel, "approx", **stats)


def fcr(inst, ratio: float = FCR_RATIO):
    """FCR: every ``o = ratio`` (0.8, Sec. VI; Figs. 4-5 sweep it), bandwidth and
    power by Alg. 3 from the equal split. ``ratio`` must be in (0, 1) (14e)."""
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise InputError("--set ratio", f"must be a number in (0, 1), got {ratio!r}", "compression") from None
    if not 0 < ratio < 1:
        raise InputError("--set ratio", f"must be in (0, 1) (14e), got {ratio:g}", "compression")
    sel = np.ones(inst.U, dtype=bool)
    B, P = equal_split(inst, sel)
    o, B, P, stats = _alternate(inst, np.full(inst.U, ratio), B, P, sel, False, 0.0, 1)
    return _done(inst, o, B, P, sel, "approx", ratio=ratio, **stats)


def fra(inst):
    """FRA: equal bandwidth and power; ``o`` by Alg. 2."""
    sel = np.ones(inst.U, dtype=bool)
    B, P = equal_split(inst, sel)
    return _done(inst, enumerate_o(inst, B, P), B, P, sel, "approx")


def max_sum_rate(inst) -> tuple[np.ndarray, np.ndarray]:
    """MSR's allocation: ``max sum B log2(1 + delta P / (N0 B))`` over (14a)-(14d)
    (the rate of eq. 6 at the gain scale ``delta``), by CVXPY with ``B`` and
    ``P`` in units of their budgets; ``B log(1 + k P / B) = -rel_entr(B, B + k P)``."""
    U = inst.U
    k = inst.users.gain_std * inst.power_max_w / (inst.noise_psd_w_per_hz * inst.bandwidth_max_hz)
    b, p = cp.Variable(U), cp.Variable(U)
    cons = [b >= inst.bandwidth_min_hz / inst.bandwidth_max_hz, p >= inst.power_min_w / inst.power_max_w,
            cp.sum(b) <= 1, cp.sum(p) <= 1]
    scale = 1.0 / max(1.0, float(np.log1p(k.max())))
    prob = cp.Problem(cp.Maximize(-scale * cp.sum(cp.rel_entr(b, b + cp.multiply(k, p)))), cons)
    for solver in (cp.CLARABEL, cp.SCS):
        try:
            solve_quietly(prob, solver)        # an inaccurate answer is still checked by evaluate
            if b.value is not None:
                break
        except cp.SolverError:
            continue
    else:       # no solver converged: the extreme point that gives all spare resources to the best channel
        b.value = np.full(U, inst.bandwidth_min_hz / inst.bandwidth_max_hz)
        p.value = np.full(U, inst.power_min_w / inst.power_max_w)
        best_user = int(np.argmax(k))
        b.value[best_user], p.value[best_user] = 1.0, 1.0
    return (fit_budgets(np.maximum(b.value, 0) * inst.bandwidth_max_hz, inst.bandwidth_min_hz, inst.bandwidth_max_hz),
            fit_budgets(np.maximum(p.value, 0) * inst.power_max_w, inst.power_min_w, inst.power_max_w))


def msr(inst):
    """MSR: the max-sum-rate allocation, then ``o`` by Alg. 2."""
    B, P = max_sum_rate(inst)
    sel = np.ones(inst.U, dtype=bool)
    return _done(inst, enumerate_o(inst, B, P), B, P, sel, "approx")


# ----------------------------------------------------------------------------- CRRAUS

#: CRRAUS sizes a user in the selection (34) by the resources at which it
#: reaches this success probability alone (docs/models.md, compression decisions, "CRRAUS").
DEMAND_TARGET = 0.9


def demand(inst, o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each user's resources ``t (B_max, P_max) / U`` for the least ``t`` in
    ``[U B_min / B_max .. U]`` with ``exp(-x^2/2) >= DEMAND_TARGET`` at ratio ``o``
    (bisection; ``t = U``, the whole budget, when unreachable)."""
    U = inst.U
    lo = np.full(U, max(inst.bandwidth_min_hz * U / inst.bandwidth_max_hz, inst.power_min_w * U / inst.power_max_w))
    hi = np.full(U, float(U))

    def ok(t):
        return user_success(inst, o, t * inst.bandwidth_max_hz / U, t * inst.power_max_w / U, "approx") \
            >= DEMAND_TARGET * inst.eta_profile(o)
    _, hi = bracket(lambda t: ~ok(t), lo, hi, iters=40)
    return hi * inst.bandwidth_max_hz / U, hi * inst.power_max_w / U


def select_users(inst, value, B, P, time_limit: float = 1.0, gap_rel: float = 1e-4):
    """Problem (34): ``max sum value_i beta_i`` with the sizes ``(B_i, P_i)`` under the budgets, by Alg. 5
    (stopped at ``time_limit`` s with the incumbent and a certified bound, or within ``gap_rel``)."""
    A = np.vstack([B / inst.bandwidth_max_hz, P / inst.power_max_w])
    return branch_and_bound(value, A, np.ones(2), time_limit=time_limit, gap_rel=gap_rel)


def crraus(inst, *, tol: float = 1e-4, max_iter: int = 10, bnb_time_limit: float = 1.0, bnb_gap_rel: float = 1e-4):
    """Algorithm 6. Iteration 0 serves everyone (weighted CRRA from the equal
    split); each next iteration: ``o`` by (33), users by B&B on (34) with each
    user sized by :func:`demand`, and ``B``, ``P`` of the selected by SCA (36).
    Stops when the selection repeats; returns the best iterate of (14).

    Each B&B stops after ``bnb_time_limit`` s (its incumbent is used) or when
    proven within ``bnb_gap_rel`` (relative); ``stats``: ``bnb_nodes`` (LPs of all
    selections), and of the last selection ``bnb_status``, ``bnb_value``,
    ``bnb_bound`` (certified upper bound of (34)), ``bnb_gap_abs``, ``bnb_time_s``.
    """
    sel = np.ones(inst.U, dtype=bool)
    B, P = equal_split(inst, sel)
    o = enumerate_o(inst, B, P)
    o, B, P, st = _alternate(inst, o, B, P, sel, True, tol, max_iter)
    best = (_model_value(inst, o, B, P, sel, "approx"), o, B, P, sel)
    seen, nodes, iters, bnb = {sel.tobytes()}, 0, st["iterations"], {}
    for _ in range(max_iter):
        Bd, Pd = demand(inst, o)
        o = enumerate_o(inst, Bd, Pd)                                                   # (33)
        value = inst.weight * user_success(inst, o, Bd, Pd, "approx")
        res = select_users(inst, value, Bd, Pd, bnb_time_limit, bnb_gap_rel)             # (34), Alg. 5
        sel, nodes, bnb = res.x.astype(bool), nodes + res.nodes, res.stats()
        if sel.tobytes() in seen or not sel.any():
            break
        seen.add(sel.tobytes())
        B, P = equal_split(inst, sel)
        o, B, P, st = _alternate(inst, np.where(sel, enumerate_o(inst, B, P), o), B, P, sel, True, tol, max_iter)
        iters += st["iterations"]
        val = _model_value(inst, o, B, P, sel, "approx")
        if val > best[0]:
            best = (val, o, B, P, sel)
    _, o, B, P, sel = best
    return _done(inst, o, B, P, sel, "approx", iterations=iters, selections=len(seen), **{**bnb, "bnb_nodes": nodes})


# ----------------------------------------------------------------------------- best

def _block(inst, B, P, sel, which: str, units: int):
    """One exact block step of ``best``: the DP (solvers.allocation.dp_allocate)
    over ``units`` equal parts of the bandwidth (``which = "B"``, power fixed),
    of the power (``"P"``, bandwidth fixed) or of both at once (``"BP"``: part
    ``k`` is ``k/units`` of both budgets), ``o`` optimised per table cell
    (:func:`~.grid.best_o_fast`); a user whose part is below a minimum (or
    whose value is 0) is not served. Returns ``(B, P, selected, o)``."""
    k = np.arange(units + 1) * (1 - FILL_MARGIN) / units
    gB = (k * inst.bandwidth_max_hz)[None, :] if "B" in which else B[:, None]
    gP = (k * inst.power_max_w)[None, :] if "P" in which else P[:, None]
    gB, gP = np.broadcast_arrays(gB, gP, np.zeros((inst.U, units + 1)))[:2]
    val, o_tab = best_o_fast(inst, gB, gP)
    val = np.where((gB >= inst.bandwidth_min_hz) & (gP >= inst.power_min_w) & sel[:, None], val, 0.0)
    z, _ = dp_allocate(val, units)
    rows = np.arange(inst.U)
    new_sel = sel & (val[rows, z] > 0)
    out = []
    for g, total in ((gB, inst.bandwidth_max_hz), (gP, inst.power_max_w)):
        amount = np.where(new_sel, g[rows, z], 0.0)
        # hand out what the grid left over, in proportion (values are non-decreasing in both resources)
        spare = total * (1 - FILL_MARGIN) - amount.sum()
        if new_sel.any() and spare > 0:
            amount = np.where(new_sel, amount + spare * amount / max(amount.sum(), 1e-300), 0.0)
        out.append(amount)
    return out[0], out[1], new_sel, o_tab[rows, z]


def _transfer(inst, o, B, P, sel, max_moves: int = 200):
    """Continuous polish of ``best``: move ``d`` of one resource from the user
    that loses least to the user that gains most (``o`` fixed) while the sum
    (13) grows; ``d`` starts at 1/4 of the mean share and halves when no move
    pays, down to 1e-4 of it. Minimums are kept; returns ``(B, P)``."""
    idx = np.nonzero(sel)[0]
    if len(idx) < 2:
        return B, P
    v = {"B": B.copy(), "P": P.copy()}
    for which, lo in (("B", inst.bandwidth_min_hz), ("P", inst.power_min_w)):
        r = v[which]
        d = 0.25 * r[idx].mean()
        stop = 1e-4 * r[idx].mean()

        def value(amount):
            b, p = (amount, v["P"][idx]) if which == "B" else (v["B"][idx], amount)
            return inst.weight[idx] * user_success_at(inst, idx, o[idx], b, p)
        for _ in range(max_moves):
            if d < stop:
                break
            cur = value(r[idx])
            gain = value(r[idx] + d) - cur
            loss = np.where(r[idx] - d >= lo, cur - value(np.maximum(r[idx] - d, 0.0)), np.inf)
            i, j = int(np.argmax(gain)), int(np.argmin(loss))
            if i != j and gain[i] - loss[j] > 1e-12 * max(cur.sum(), 1e-300):
                r[idx[i]] += d
                r[idx[j]] -= d
            else:
                d *= 0.5
    return v["B"], v["P"]


def _objective_exact(inst, o, B, P, sel):
    return _model_value(inst, o, B, P, sel, "exact")


def best(inst, *, units: int = 100, max_iter: int = 10):
    """Ours, for the exact objective (13) with Lemma 1's ``2Q``. Start from
    CRRA's allocation (so ``best`` is never below ``crra``: every later step
    is kept only if it improves (13)); then block-coordinate ascent: re-split
    both budgets in equal fractions, the whole bandwidth (power fixed) and the
    whole power (bandwidth fixed) by the exact DP over ``units`` parts, ``o``
    optimised per user inside each table; a user may be dropped when its
    share is worth nothing. Then a
    continuous transfer polish of both resources, and ``o`` refined to 1e-4.
    ``max_iter`` bounds the rounds. ``stats``: ``start_objective`` (CRRA's exact objective), ``rounds``."""
    o, B, P, sel = _unpack(crra(inst)[0])
    start = cur = _objective_exact(inst, o, B, P, sel)
    rounds = 0
    for rounds in range(1, max_iter + 1):
        improved = False
        for which in ("BP", "B", "P"):
            nB, nP, nsel, no = _block(inst, B, P, sel, which, units)
            no = np.where(nsel, refine_o(inst, no, nB, nP, 0.01, points=21), o)
            val = _objective_exact(inst, no, nB, nP, nsel)
            if val > cur * (1 + 1e-9) + 1e-15:
                B, P, o, sel, cur, improved = nB, nP, no, nsel, val, True
        if not improved:
            break
    for _ in range(2):
        nB, nP = _transfer(inst, o, B, P, sel)
        no = o
        for step in (0.01, 0.0005):
            no = np.where(sel, refine_o(inst, no, nB, nP, step), no)
        val = _objective_exact(inst, no, nB, nP, sel)
        if val <= cur * (1 + 1e-12):
            break
        B, P, o, cur = nB, nP, no, val
    return _done(inst, o, B, P, sel, "exact", start_objective=start, rounds=rounds)


def _unpack(v: dict):
    sel = v["selected"] == 1
    return v["compression"], v["bandwidth_hz"], v["power_w"], sel


# ----------------------------------------------------------------------------- exact

def _maxplus2(F: np.ndarray, T: np.ndarray):
    """``G(k, l) = max_{a <= k, c <= l} F(k - a, l - c) + T(a, c)`` and the argmax ``(a, c)``."""
    n1, n2 = F.shape
    G = np.full(F.shape, -np.inf)
    arg = np.zeros(F.shape + (2,), dtype=np.int64)
    for a in range(n1):
        for c in range(n2):
            cand = F[: n1 - a, : n2 - c] + T[a, c]
            view = G[a:, c:]
            better = cand > view
            view[better] = cand[better]
            arg[a:, c:][better] = (a, c)
    return G, arg


def exact(inst, units: int = 60, o_cells: int = 400, max_users: int = 5, optimal_gap_rel: float = 1e-2):
    """Certified optimum for small U: ``B`` and ``P`` on grids of ``units``
    parts of their budgets, ``o`` on ``o_cells`` cells; a 2-D DP over the
    users (each takes ``(a, c)`` parts, or nothing = not served) gives the best
    grid allocation (a lower bound, refined in ``o``), and the same DP on
    cell-wise upper bounds (``V`` is non-decreasing in ``B`` and ``P``, and
    bounded per ``o`` cell) gives an upper bound on the continuous optimum.
    ``stats``: ``bound`` (the upper bound), ``gap_abs`` and ``gap_rel``. Status ``optimal`` when
    ``gap_rel <= optimal_gap_rel``, else ``feasible`` (the grid cannot certify it: its allocation, its
    bound, and a message saying so; larger ``units`` and ``o_cells`` narrow it)."""
    U = inst.U
    if U > max_users:
        raise InputError("instance", f"too large for exact: {U} users, at most {max_users} (DP over both budgets)",
                         "compression")
    if not 0 <= optimal_gap_rel < 1:
        raise InputError("optimal_gap_rel", f"must be in [0, 1), got {optimal_gap_rel!r}", "compression")
    dB = inst.bandwidth_max_hz * (1 - FILL_MARGIN) / units
    dP = inst.power_max_w * (1 - FILL_MARGIN) / units
    k = np.arange(units + 1)
    Bg, Pg = np.meshgrid(k * dB, k * dP, indexing="ij")
    o_fine = np.arange(1, o_cells) / o_cells
    lower, o_tab = best_o(inst, np.broadcast_to(Bg, (U,) + Bg.shape), Pg[None], o_fine)
    ok = (Bg >= inst.bandwidth_min_hz) & (Pg >= inst.power_min_w)
    lower = np.where(ok[None], lower, 0.0)
    upper = upper_o(inst, np.broadcast_to(Bg + dB, (U,) + Bg.shape), (Pg + dP)[None], o_cells)
    ok_ub = (Bg + dB >= inst.bandwidth_min_hz) & (Pg + dP >= inst.power_min_w)
    upper = np.where(ok_ub[None], upper, 0.0)
    F, args = np.zeros((units + 1, units + 1)), []
    Fu = np.zeros((units + 1, units + 1))
    for i in range(U):
        F, arg = _maxplus2(F, lower[i])
        args.append(arg)
        Fu = _maxplus2(Fu, upper[i])[0]
    a = np.zeros((U, 2), dtype=np.int64)
    kk, ll = units, units
    for i in range(U - 1, -1, -1):
        a[i] = args[i][kk, ll]
        kk, ll = kk - a[i, 0], ll - a[i, 1]
    sel = lower[np.arange(U), a[:, 0], a[:, 1]] > 0
    B, P = np.where(sel, a[:, 0] * dB, 0.0), np.where(sel, a[:, 1] * dP, 0.0)
    o = np.where(sel, o_tab[np.arange(U), a[:, 0], a[:, 1]], 0.5)
    o = np.where(sel, refine_o(inst, o, B, P, 1.0 / o_cells), o)
    lb = _objective_exact(inst, o, B, P, sel)
    ub = max(float(Fu[units, units]), lb)
    gap_rel = (ub - lb) / max(ub, 1e-300)
    variables, _, stats, _ = _done(
        inst, o, B, P, sel, "exact", bound=ub, gap_abs=ub - lb, gap_rel=gap_rel,
        certificate=f"2-D DP on a {units}x{units} grid of both budgets and {o_cells} cells in o; "
                    "the continuous optimum is within `gap_abs` above the objective")
    if gap_rel <= optimal_gap_rel:
        return variables, OPTIMAL, stats, f"certified within {ub - lb:.3g} (absolute)"
    return variables, FEASIBLE, stats, (f"not certified: the optimum is at most {ub:.6g}, {100 * gap_rel:.3g} % above "
                                        f"this allocation's {lb:.6g} (more than optimal_gap_rel = {optimal_gap_rel:g}); "
                                        "the grid of budgets and ratios cannot certify it (larger units and o_cells may)")


#: Every compression algorithm in registration order: name -> (function, summary).
ALGORITHMS = {
    "crra": (crra, "Liu et al. Alg. 4: o by enumeration (Alg. 2) alternating with SCA (Alg. 3)"),
    "crraus": (crraus, "Liu et al. Alg. 6: CRRA with user selection by branch and bound (Alg. 5)"),
    "fcr": (fcr, "baseline: fixed o (option ratio, default 0.8), SCA resource allocation"),
    "fra": (fra, "baseline: equal bandwidth and power, o by enumeration"),
    "msr": (msr, "baseline: max-sum-rate allocation, then o by enumeration"),
    "exact": (exact, "certified optimum for U <= 5: 2-D DP over both budgets with upper bounds"),
    "best": (best, "ours: block-coordinate exact DPs over bandwidth and power, o refined"),
}


def register(problem) -> None:
    """Register every compression algorithm of :data:`ALGORITHMS` on ``problem``."""
    for name, (fn, summary) in ALGORITHMS.items():
        problem.algorithm(name, summary)(fn)
