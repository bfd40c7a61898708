"""Branch and bound with LP bounds for 0-1 linear programs (Lawler and Wood;
Liu et al., Algorithm 5).

``max c x  s.t.  A x <= b,  x in {0, 1}^n``. Every node solves the LP
relaxation (HiGHS through ``scipy.optimize.linprog``) with some variables
fixed; its value bounds the node. Every node's rounded-down LP solution
(and the empty set at the root) is tried as an incumbent, and, when
``A >= 0``, also its greedy completion by value density within the node. Nodes are explored best bound first, branching on the variable
with the greatest fractional part (``x_j = 0`` and ``x_j = 1`` children), and
pruned when their bound does not beat the incumbent by more than
``max(gap_abs, gap_rel |incumbent|)``.

The search stops at ``time_limit`` seconds or ``max_nodes`` LPs with status
``time_limit``: the incumbent is returned and ``bound`` (the best open
node's LP value) is a certified upper bound on the optimum, so ``gap`` says
how far from optimal the incumbent can be. Status ``optimal`` means proven
within the tolerances.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.bnb import branch_and_bound
>>> c = np.array([10.0, 13.0, 7.0, 8.0])
>>> A = np.array([[3.0, 4.0, 2.0, 3.0], [1.0, 2.0, 2.0, 1.0]])
>>> res = branch_and_bound(c, A, np.array([7.0, 4.0]))
>>> res.x.tolist(), res.value, res.status
([1, 1, 0, 0], 23.0, 'optimal')
>>> cut = branch_and_bound(c, A, np.array([7.0, 4.0]), max_nodes=1)     # the root LP only
>>> cut.status, cut.value <= 23.0 <= cut.bound
('time_limit', True)
"""
from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from ..result import INFEASIBLE, OPTIMAL, TIME_LIMIT

__all__ = ["branch_and_bound", "BnbResult"]


@dataclass
class BnbResult:
    x: np.ndarray          # best 0-1 solution found (int)
    value: float           # its objective c x (-inf if none)
    bound: float           # proven upper bound on the optimum
    nodes: int             # LPs solved
    status: str            # OPTIMAL, INFEASIBLE or TIME_LIMIT
    time_s: float = 0.0    # wall time of the search

    @property
    def gap(self) -> float:
        """``bound - value``: how much better than the incumbent the optimum can be."""
        return self.bound - self.value

    def stats(self, prefix: str = "bnb_") -> dict:
        """Nodes, status, value, bound, absolute gap (``gap_abs``) and time, flat, for an algorithm's ``stats``."""
        return {f"{prefix}{k}": v for k, v in (("status", self.status), ("nodes", self.nodes),
                                                ("value", self.value), ("bound", self.bound),
                                                ("gap_abs", self.gap), ("time_s", self.time_s))}


def _lp(c, A, b, lo, hi):
    res = linprog(-c, A_ub=A, b_ub=b, bounds=np.column_stack([lo, hi]), method="highs")
    return (None, -np.inf) if res.status != 0 else (res.x, -res.fun)


def _greedy(c, A, b, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Complete the feasible 0-1 point ``x0``: the free items (``lo = 0 < hi``) by
    decreasing ``c_j / max_k (A_kj / b_k)``, each taken if it still fits.
    Only for ``A >= 0``, ``b > 0`` (knapsack-like rows); ``None`` otherwise."""
    if np.any(A < 0) or np.any(b <= 0) or np.any(A @ x0 > b + 1e-9):
        return None
    size = (A / b[:, None]).max(axis=0)
    order = np.argsort(-c / np.maximum(size, 1e-300), kind="stable")
    x, used = x0.copy(), A @ x0
    for j in order:
        if x[j] == 0 and hi[j] > 0 and c[j] > 0 and np.all(used + A[:, j] <= b + 1e-12):
            x[j], used = 1, used + A[:, j]
    return x


def branch_and_bound(c: np.ndarray, A: np.ndarray, b: np.ndarray, gap_abs: float = 1e-9, int_tol: float = 1e-9,
                     time_limit: float = 60.0, max_nodes: int = 100_000, gap_rel: float = 0.0) -> BnbResult:
    """Maximise ``c x`` over ``{x in {0,1}^n : A x <= b}`` (see the module docstring)."""
    t_start = time.perf_counter()
    c, A, b = np.asarray(c, float), np.atleast_2d(np.asarray(A, float)), np.asarray(b, float)
    n = len(c)
    deadline = t_start + time_limit
    best_x, best_v = np.zeros(n, dtype=np.int64), -np.inf

    def consider(xi, lo, hi):                  # xi and its greedy completion inside the node's bounds
        nonlocal best_x, best_v
        for cand in (xi, _greedy(c, A, b, xi, lo, hi)):
            if cand is not None and np.all(A @ cand <= b + 1e-9) and c @ cand > best_v:
                best_x, best_v = cand, float(c @ cand)

    def slack():
        return max(gap_abs, gap_rel * abs(best_v)) if np.isfinite(best_v) else gap_abs

    tie = itertools.count()
    lo0, hi0 = np.zeros(n), np.ones(n)
    consider(np.zeros(n, dtype=np.int64), lo0, hi0)
    x, v = _lp(c, A, b, lo0, hi0)
    nodes = 1
    heap = []
    if x is not None:
        consider(np.floor(x + int_tol).astype(np.int64), lo0, hi0)      # the rounded-down solution
        heapq.heappush(heap, (-v, next(tie), lo0, hi0, x))
    status, dropped = OPTIMAL, -np.inf       # dropped: the greatest bound of a pruned node
    while heap:
        negv, _, lo, hi, x = heap[0]
        if -negv <= best_v + slack():                                   # every open node is pruned
            dropped = max(dropped, -negv)
            heap.clear()
            break
        if time.perf_counter() > deadline or nodes >= max_nodes:
            status = TIME_LIMIT
            break
        heapq.heappop(heap)
        frac = x - np.floor(x)
        frac = np.where((frac > int_tol) & (frac < 1 - int_tol), frac, -1.0)
        j = int(np.argmax(frac))                                         # greatest fractional part
        for val in (0.0, 1.0):
            clo, chi = lo.copy(), hi.copy()
            clo[j] = chi[j] = val
            cx, cv = _lp(c, A, b, clo, chi)
            nodes += 1
            if cx is None:
                continue
            consider(np.floor(cx + int_tol).astype(np.int64), clo, chi)
            if cv > best_v + slack():
                heapq.heappush(heap, (-cv, next(tie), clo, chi, cx))
            else:
                dropped = max(dropped, cv)
    bound = max(best_v, dropped, -heap[0][0] if heap else -np.inf)
    if best_v == -np.inf:
        status, bound = (INFEASIBLE, -np.inf) if status == OPTIMAL else (status, bound)
    return BnbResult(best_x, best_v, bound, nodes, status, time.perf_counter() - t_start)
