"""Multiple-choice multi-knapsack: each user picks at most one (knapsack, size)
item, each knapsack has a capacity; maximise total value.

With tables ``values[n, m, z]`` (value of user ``n`` taking ``z`` units of
knapsack ``m``), this is exactly the association + allocation problem over
per-user utility tables (He et al., eq. 8 after Sec. IV-A). Items that are
dominated (no better than a smaller size in the same knapsack) are dropped,
which leaves the optimum unchanged.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.mckp import solve_mckp
>>> v = np.zeros((3, 2, 4)); v[:, 0, 1:] = [1, 2, 3]; v[:, 1, 1:] = [2, 2, 2]
>>> sol = solve_mckp(v, np.array([3, 1]))
>>> sol.status, sol.value, int((sol.knapsack == 1).sum())
('optimal', 5.0, 1)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint, linprog, milp

from ..result import ERROR, OPTIMAL, TIME_LIMIT
from .convex import quiet_fd1

__all__ = ["Items", "items_from_tables", "solve_mckp", "lp_relaxation", "round_lp", "LpRelaxation",
           "lagrangian_prices",
           "MckpSolution"]


@dataclass
class Items:
    user: np.ndarray
    knapsack: np.ndarray
    size: np.ndarray
    value: np.ndarray


@dataclass
class MckpSolution:
    status: str            # OPTIMAL | TIME_LIMIT | ERROR
    value: float
    knapsack: np.ndarray   # per user, -1 = none
    size: np.ndarray       # per user
    bound: float           # dual bound
    gap: float
    nodes: int
    message: str


def items_from_tables(values: np.ndarray, capacity: np.ndarray, tol: float = 1e-12) -> Items:
    """Undominated items ``(n, m, z)`` with ``z <= capacity[m]`` and value > 0."""
    N, M, W = values.shape
    z = np.arange(W)
    running = np.maximum.accumulate(values, axis=2)
    prev = np.concatenate([np.full((N, M, 1), -np.inf), running[:, :, :-1]], axis=2)
    keep = (values > prev + tol) & (values > tol) & (z[None, None, :] >= 1)
    keep &= z[None, None, :] <= np.asarray(capacity)[None, :, None]
    n, m, zz = np.nonzero(keep)
    return Items(n, m, zz, values[n, m, zz])


def _constraints(items: Items, N: int, capacity: np.ndarray) -> LinearConstraint:
    I, M = len(items.value), len(capacity)
    cols = np.arange(I)
    rows = np.concatenate([items.user, N + items.knapsack])
    data = np.concatenate([np.ones(I), items.size.astype(float)])
    A = sparse.csr_array((data, (rows, np.concatenate([cols, cols]))), shape=(N + M, I))
    ub = np.concatenate([np.ones(N), np.asarray(capacity, dtype=float)])
    return A, ub


def _decode(items: Items, x: np.ndarray, N: int):
    knap, size = np.full(N, -1, dtype=np.int64), np.zeros(N, dtype=np.int64)
    chosen = np.nonzero(x > 0.5)[0]
    knap[items.user[chosen]] = items.knapsack[chosen]
    size[items.user[chosen]] = items.size[chosen]
    return knap, size


@dataclass
class LpRelaxation:
    items: Items
    x: np.ndarray          # LP solution per item
    prices: np.ndarray     # dual value of each knapsack's capacity (value per unit)
    reduced: np.ndarray    # reduced cost of each item (>= 0; value lost by forcing it in)
    bound: float           # LP optimum, an upper bound on the MILP optimum


def lp_relaxation(values: np.ndarray, capacity: np.ndarray) -> LpRelaxation:
    """LP relaxation by HiGHS (dual simplex).

    A basic optimal ``x`` splits at most ``len(capacity)`` users between items.
    The upper bounds ``x <= 1`` are implied by the user rows, so they are left
    out and every reduced cost is non-negative: forcing item ``j`` into a
    solution costs at least ``reduced[j]`` against ``bound``.
    """
    N = values.shape[0]
    items = items_from_tables(values, capacity)
    if len(items.value) == 0:
        empty = np.zeros(0)
        return LpRelaxation(items, empty, np.zeros(len(capacity)), empty, 0.0)
    A, ub = _constraints(items, N, capacity)
    with quiet_fd1():
        res = linprog(-items.value, A_ub=A, b_ub=ub, bounds=(0, None), method="highs-ds")
    y = np.asarray(res.ineqlin.marginals)                 # <= 0 (minimisation, <= rows)
    reduced = np.maximum(-items.value - A.T @ y, 0.0)
    return LpRelaxation(items, res.x, -y[N:], reduced, -float(res.fun))


def lagrangian_prices(values: np.ndarray, capacity: np.ndarray, sweeps: int = 50, iters: int = 30,
                      deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Prices of the capacities from the Lagrangian dual, by exact coordinate steps.

    Relaxing the capacities with prices ``lam`` leaves each user to pick its
    best ``(m, z)`` for ``values[n, m, z] - lam[m] z`` (or nothing); the dual
    ``L(lam) = sum_n max(0, best_n) + lam . capacity`` bounds the optimum
    (it equals the LP bound at its minimum). Each step sets one price to the
    smallest value at which that knapsack is not over-demanded, by
    bisection; ``sweeps`` rounds over all knapsacks. Needs only
    O(N * Z) work per step, so it scales where the LP does not.
    Returns ``(lam, knapsack, size, bound)`` with each user's choice under ``lam``.
    """
    N, M, W = values.shape
    cap = np.asarray(capacity)
    zs = np.arange(W, dtype=float)
    vals = np.where(zs[None, None, :] <= cap[None, :, None], values, -np.inf)
    lam = np.zeros(M)

    def column(m, price):
        r = vals[:, m, :] - price * zs[None, :]
        zi = np.argmax(r, axis=1)
        return r[np.arange(N), zi], zi

    best = np.stack([column(m, 0.0)[0] for m in range(M)], axis=1)          # (N, M)
    for _ in range(sweeps):
        changed = False
        for m in range(M):
            others = np.delete(best, m, axis=1).max(axis=1) if M > 1 else np.zeros(N)
            others = np.maximum(others, 0.0)

            def demand(price):
                r, zi = column(m, price)
                return int(zi[r > others].sum())

            new = 0.0
            if demand(0.0) > cap[m]:
                lo, hi = 0.0, float(np.nanmax(np.where(np.isfinite(vals[:, m, 1:]), vals[:, m, 1:], 0.0))) + 1.0
                for _ in range(iters):
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if demand(mid) > cap[m] else (lo, mid)
                new = hi
            changed |= abs(new - lam[m]) > 1e-9 * max(1.0, abs(new))
            lam[m] = new
            best[:, m] = column(m, new)[0]
            if deadline is not None and time.perf_counter() > deadline:
                break
        if not changed or (deadline is not None and time.perf_counter() > deadline):
            break
    top = best.max(axis=1)
    knap = np.where(top > 0, best.argmax(axis=1), -1)
    size = np.zeros(N, dtype=np.int64)
    for m in range(M):
        on = knap == m
        size[on] = column(m, lam[m])[1][on]
    bound = float(np.maximum(top, 0.0).sum() + lam @ cap)
    return lam, knap, size, bound


def round_lp(lp: LpRelaxation, N: int) -> np.ndarray:
    """Knapsack per user from an LP solution: each user's heaviest item (-1: none)."""
    knap = np.full(N, -1, dtype=np.int64)
    if len(lp.x):
        order = np.lexsort((-lp.x, lp.items.user))
        first = order[np.r_[True, lp.items.user[order][1:] != lp.items.user[order][:-1]]]
        keep = first[lp.x[first] > 1e-9]
        knap[lp.items.user[keep]] = lp.items.knapsack[keep]
    return knap


def solve_mckp(values: np.ndarray, capacity: np.ndarray, time_limit: float = 60.0,
               gap_rel: float = 1e-9, incumbent: tuple[np.ndarray, np.ndarray] | None = None) -> MckpSolution:
    """Certified optimum by HiGHS branch and cut (``scipy.optimize.milp``).

    With a feasible ``incumbent`` (knapsack and size per user), items whose LP
    reduced cost exceeds the gap between the LP bound and the incumbent are
    fixed out first (reduced-cost fixing): no solution better than the
    incumbent can use them, so the optimum is unchanged and the MILP shrinks
    to a few items. ``status`` is ``optimal`` when the relative gap is proved
    <= ``gap_rel``, ``time_limit`` when stopped with a feasible incumbent.
    """
    N = values.shape[0]
    items = items_from_tables(values, capacity)
    inc_value = -np.inf
    if incumbent is not None:
        knap, size = incumbent
        on = knap >= 0
        inc_value = float(values[np.nonzero(on)[0], knap[on], size[on]].sum())
        lp = lp_relaxation(values, capacity)
        slack = lp.bound - inc_value + 1e-7 * max(1.0, abs(inc_value))
        keep = lp.reduced <= slack
        items = Items(*(getattr(lp.items, k)[keep] for k in ("user", "knapsack", "size", "value")))
    if len(items.value) == 0:
        if incumbent is not None:
            return MckpSolution(OPTIMAL, inc_value, incumbent[0].copy(), incumbent[1].copy(), inc_value,
                                0.0, 0, "incumbent proved optimal by reduced-cost fixing")
        return MckpSolution(OPTIMAL, 0.0, np.full(N, -1), np.zeros(N, dtype=np.int64), 0.0, 0.0, 0,
                            "no item has positive value")
    A, ub = _constraints(items, N, capacity)
    with quiet_fd1():
        res = milp(-items.value, integrality=np.ones(len(items.value)), bounds=(0, 1),
                   constraints=LinearConstraint(A, -np.inf, ub),
                   options={"time_limit": float(time_limit), "mip_rel_gap": gap_rel, "disp": False,
                            "presolve": False})
    if res.x is None and incumbent is None:
        return MckpSolution(ERROR, float("nan"), np.full(N, -1), np.zeros(N, dtype=np.int64),
                            float("nan"), float("nan"), 0, res.message)
    value = float(items.value[res.x > 0.5].sum()) if res.x is not None else -np.inf
    bound = -float(getattr(res, "mip_dual_bound", None) or -value)
    if incumbent is not None:
        bound = max(bound, inc_value)          # the pruned items cannot beat the incumbent
    if value >= inc_value:
        knap, size = _decode(items, res.x, N)
    else:
        (knap, size), value = (incumbent[0].copy(), incumbent[1].copy()), inc_value
    gap = max(0.0, (bound - value) / max(abs(value), 1e-12))
    status = OPTIMAL if res.status == 0 else TIME_LIMIT
    return MckpSolution(status, value, knap, size, bound, gap, int(getattr(res, "mip_node_count", 0) or 0),
                        res.message)
