"""Resource allocation by successive convex approximation (Liu et al., Alg. 3, problem 32).

Problem (23): ``max sum alpha_i g_i(B_i, P_i)`` over the budgets (14a)-(14d),
``g_i = exp(-x_i^2 / 2)`` (eq. 20). The slack chain of (24) —
``f <= e^l`` (24a), ``l <= -x^2/2`` (24b), ``x P >= N0 z / delta`` (27),
``z >= B m`` (26), ``m >= 2^q - 1`` (24d), ``q >= d0 (1 - o) / (B t0)`` (24e) —
is convexified at the current point ``j`` exactly as the paper does: the
first-order expansion of ``e^l`` (25), of ``(B - m)^2`` in
``B m = ((B + m)^2 - (B - m)^2) / 4`` (29) and of ``(x + P)^2`` in
``x P = ((x + P)^2 - (x - P)^2) / 4`` (31). Two departures, both in
docs/models.md (compression decisions): (31) keeps ``-(x - P)^2`` exact (the paper
linearises it too, which relaxes instead of restricting, and has a sign typo),
and every variable is scaled by its value at the expansion point (with ``B``
and ``m`` balanced before the split of (29)), so the conic solver sees
numbers of order 1 while ``m = 2^q - 1`` spans 1e-3..1e15. With these, each
iterate is feasible for (24) and the objective never decreases (Lemma 2).

The convex problem is a DPP-parametrised CVXPY problem built once per number
of users and re-solved with new parameter values at every iteration.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.compression.instance import generate
>>> from semalloc.problems.compression.sca import sca_allocate, equal_split
>>> inst = generate(seed=2, users=4, bandwidth_max_hz=2e6)
>>> B, P = equal_split(inst, np.ones(4, bool))
>>> out = sca_allocate(inst, np.full(4, 0.8), np.ones(4), B, P)
>>> bool(np.all(np.diff(out.trace) >= -1e-9)), bool(out.trace[-1] > out.trace[0])
(True, True)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import cvxpy as cp
import numpy as np

from ...perf.success import outage_argument, success
from ...solvers.convex import solve_quietly

__all__ = ["sca_allocate", "equal_split", "fit_budgets", "ScaResult", "FILL_MARGIN"]

#: Budgets are filled to ``1 - FILL_MARGIN`` of their value (rounding margin for
#: ``evaluate``): :data:`semalloc.units.SAFETY`'s meaning, kept at its own, larger
#: value because the figures were made with it and crra's SCA moves with it: at
#: 1e-12, crra/crraus objectives changed by up to 8e-8 relative (12 seeds, 10 users).
FILL_MARGIN = 1e-10
#: Users with ``x`` above this (``g < e^-450``) contribute nothing; their slack chain is relaxed.
X_HOPELESS = 30.0


@dataclass
class ScaResult:
    bandwidth_hz: np.ndarray
    power_w: np.ndarray
    trace: np.ndarray          # objective (23) at the start and after every iteration
    iterations: int
    solver_time_s: float
    inaccurate: int = 0        # subproblems Clarabel solved only to its reduced tolerance (optimal_inaccurate)


def equal_split(inst, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``B_max / |U_s|`` and ``P_max / |U_s|`` to each selected user, 0 to the others."""
    n = max(int(sel.sum()), 1)
    return (np.where(sel, inst.bandwidth_max_hz * (1 - FILL_MARGIN) / n, 0.0),
            np.where(sel, inst.power_max_w * (1 - FILL_MARGIN) / n, 0.0))


def fit_budgets(x: np.ndarray, lo: float, total: float) -> np.ndarray:
    """Project onto ``x >= lo``, ``sum x <= total (1 - FILL_MARGIN)`` by shrinking the excess over ``lo``."""
    x = np.maximum(x, lo)
    excess = x - lo
    room = max(total * (1 - FILL_MARGIN) - lo * len(x), 0.0)
    s = excess.sum()
    return lo + (excess * (room / s) if s > room else excess)


class _Problem32:
    """Problem (32) for ``n`` users in scaled variables (see the module docstring)."""

    def __init__(self, n: int):
        P = lambda: cp.Parameter(n, nonneg=True)        # noqa: E731
        self.bj, self.pj, self.qj, self.a, self.xh, self.w = (P() for _ in range(6))
        self.bmin, self.pmin = cp.Parameter(nonneg=True), cp.Parameter(nonneg=True)
        b, p = cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)   # B / B^j, P / P^j
        m, z, x, u, lt, f = (cp.Variable(n) for _ in range(6))             # m/m^j, z/z^j, x/x^j, q-q^j, l-l^j, f/e^{l^j}
        self.b, self.p = b, p
        cons = [
            cp.multiply(self.bj, b) >= self.bmin, cp.sum(cp.multiply(self.bj, b)) <= 1,     # (14a), (14b)
            cp.multiply(self.pj, p) >= self.pmin, cp.sum(cp.multiply(self.pj, p)) <= 1,     # (14c), (14d)
            u >= cp.multiply(self.qj, cp.inv_pos(b)) - self.qj,                             # (32d)
            cp.exp(np.log(2.0) * u) <= cp.multiply(self.a, m) + 1 - self.a,                 # (32c)
            z >= cp.square(b + m) / 4,                                                      # (29)
            x + p - 1 - cp.square(x - p) / 4 >= z,                                          # (31)
            lt + cp.multiply(self.xh, cp.square(x)) <= self.xh,                             # (32b)
            f <= 1 + lt,                                                                    # (32a)
            x >= 0,
        ]
        self.problem = cp.Problem(cp.Maximize(self.w @ f), cons)
        assert self.problem.is_dpp()


@lru_cache(maxsize=16)
def _problem32(n: int) -> _Problem32:
    return _Problem32(n)


def _objective(inst, o, alpha, B, P, sel, model):
    x = outage_argument(o, B, P, **inst.channel())
    return np.where(sel, alpha * success(x, model), 0.0), x


def sca_allocate(inst, o: np.ndarray, alpha: np.ndarray, B0: np.ndarray, P0: np.ndarray,
                 sel: np.ndarray | None = None, tol: float = 1e-5, max_iter: int = 50) -> ScaResult:
    """Algorithm 3 from ``(B0, P0)`` for the users in ``sel`` (default all): the
    objective (23) ``sum alpha_i exp(-x_i^2/2)`` is evaluated at every iterate
    and the loop stops when it improves by less than ``tol`` (relative) or
    the solver fails; unselected users get ``B = P = 0``."""
    sel = np.ones(inst.U, dtype=bool) if sel is None else np.asarray(sel, dtype=bool)
    idx = np.nonzero(sel)[0]
    Bmax, Pmax = inst.bandwidth_max_hz, inst.power_max_w
    Bmin, Pmin = inst.bandwidth_min_hz, inst.power_min_w
    B = np.zeros(inst.U)
    B[idx] = fit_budgets(B0[idx], Bmin, Bmax)
    P = np.zeros(inst.U)
    P[idx] = fit_budgets(P0[idx], Pmin, Pmax)
    val, x = _objective(inst, o, alpha, B, P, sel, "approx")
    trace = [float(val.sum())]
    if len(idx) == 0:
        return ScaResult(B, P, np.array(trace), 0, 0.0)
    prob = _problem32(len(idx))
    prob.bmin.value, prob.pmin.value = Bmin / Bmax, Pmin / Pmax
    ch = inst.channel()
    r = (ch["data_bits"] * (1 - o) / ch["deadline_s"] / Bmax)[idx]   # q = r / b, b = B / B_max
    t_solve, it, inaccurate = 0.0, 0, 0
    for it in range(1, max_iter + 1):
        b, p, xi = B[idx] / Bmax, P[idx] / Pmax, x[idx]
        q = r / b
        live = xi <= X_HOPELESS
        prob.bj.value, prob.pj.value = b, p
        prob.qj.value = np.where(live, q, 0.0)
        prob.a.value = np.where(live, -np.expm1(-np.log(2.0) * q), 0.0)
        prob.xh.value = np.where(live, 0.5 * np.minimum(xi, X_HOPELESS) ** 2, 0.0)
        prob.w.value = np.where(live, (alpha * success(x, "approx"))[idx], 0.0)
        t0 = time.perf_counter()
        try:
            solve_quietly(prob.problem, cp.CLARABEL)   # an inaccurate solve is counted below, not printed
        except cp.SolverError:
            break
        t_solve += time.perf_counter() - t0
        inaccurate += prob.problem.status == "optimal_inaccurate"
        if prob.problem.status not in ("optimal", "optimal_inaccurate") or prob.b.value is None:
            break
        Bn, Pn = np.zeros(inst.U), np.zeros(inst.U)
        Bn[idx] = fit_budgets(b * prob.b.value * Bmax, Bmin, Bmax)
        Pn[idx] = fit_budgets(p * prob.p.value * Pmax, Pmin, Pmax)
        val_n, x_n = _objective(inst, o, alpha, Bn, Pn, sel, "approx")
        new = float(val_n.sum())
        if new < trace[-1]:                 # solver inaccuracy: keep the better point
            break
        B, P, x = Bn, Pn, x_n
        trace.append(new)
        if new - trace[-2] <= tol * max(abs(new), 1e-12):
            break
    return ScaResult(B, P, np.array(trace), it, t_solve, inaccurate)
