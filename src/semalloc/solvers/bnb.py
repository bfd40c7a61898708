"""Branch and bound with LP bounds for 0-1 linear programs (Lawler and Wood;
Liu et al., Algorithm 5).

``max c x  s.t.  A x <= b,  x in {0, 1}^n``. Every node solves the LP
relaxation (HiGHS through ``scipy.optimize.linprog``) with some variables
fixed; its value bounds the node. The incumbent starts from the rounded-down
root solution (feasible when ``A >= 0``; checked otherwise). Nodes are
explored best bound first, branching on the variable with the greatest
fractional part (``x_j = 0`` and ``x_j = 1`` children), and pruned when
their bound does not beat the incumbent by more than ``gap_abs``.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.bnb import branch_and_bound
>>> c = np.array([10.0, 13.0, 7.0, 8.0])
>>> A = np.array([[3.0, 4.0, 2.0, 3.0], [1.0, 2.0, 2.0, 1.0]])
>>> res = branch_and_bound(c, A, np.array([7.0, 4.0]))
>>> res.x.tolist(), res.value, res.status
([1, 1, 0, 0], 23.0, 'optimal')
"""
from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

__all__ = ["branch_and_bound", "BnbResult"]


@dataclass
class BnbResult:
    x: np.ndarray          # best 0-1 solution found (int)
    value: float           # its objective c x (-inf if none)
    bound: float           # proven upper bound on the optimum
    nodes: int             # LPs solved
    status: str            # "optimal", "infeasible" or "time_limit"


def _lp(c, A, b, lo, hi):
    res = linprog(-c, A_ub=A, b_ub=b, bounds=np.column_stack([lo, hi]), method="highs")
    return (None, -np.inf) if res.status != 0 else (res.x, -res.fun)


def branch_and_bound(c: np.ndarray, A: np.ndarray, b: np.ndarray, gap_abs: float = 1e-9, int_tol: float = 1e-9,
                     time_limit: float = 60.0, max_nodes: int = 100_000) -> BnbResult:
    """Maximise ``c x`` over ``{x in {0,1}^n : A x <= b}`` (see the module docstring)."""
    c, A, b = np.asarray(c, float), np.atleast_2d(np.asarray(A, float)), np.asarray(b, float)
    n = len(c)
    deadline = time.perf_counter() + time_limit
    best_x, best_v = np.zeros(n, dtype=np.int64), -np.inf
    if np.all(A @ np.zeros(n) <= b + 1e-12):
        best_x, best_v = np.zeros(n, dtype=np.int64), 0.0

    def consider(x):
        nonlocal best_x, best_v
        xi = np.floor(x + int_tol).astype(np.int64)                # the rounded-down solution
        if np.all(A @ xi <= b + 1e-9) and c @ xi > best_v:
            best_x, best_v = xi, float(c @ xi)

    tie = itertools.count()
    lo0, hi0 = np.zeros(n), np.ones(n)
    x, v = _lp(c, A, b, lo0, hi0)
    nodes = 1
    heap = []
    if x is not None:
        consider(x)
        heapq.heappush(heap, (-v, next(tie), lo0, hi0, x))
    status = "optimal"
    while heap:
        negv, _, lo, hi, x = heapq.heappop(heap)
        if -negv <= best_v + gap_abs:
            heap.clear()
            break
        if time.perf_counter() > deadline or nodes >= max_nodes:
            heapq.heappush(heap, (negv, next(tie), lo, hi, x))
            status = "time_limit"
            break
        frac = x - np.floor(x)
        frac = np.where((frac > int_tol) & (frac < 1 - int_tol), frac, -1.0)
        j = int(np.argmax(frac))                                     # greatest fractional part
        for val in (0.0, 1.0):
            clo, chi = lo.copy(), hi.copy()
            clo[j] = chi[j] = val
            cx, cv = _lp(c, A, b, clo, chi)
            nodes += 1
            if cx is None:
                continue
            consider(cx)
            if cv > best_v + gap_abs:
                heapq.heappush(heap, (-cv, next(tie), clo, chi, cx))
    bound = max(best_v, -heap[0][0]) if heap else best_v
    if best_v == -np.inf:
        status = "infeasible" if status == "optimal" else status
    return BnbResult(best_x, best_v, bound, nodes, status)
