"""CVXPY solves whose reduced-accuracy answers are counted by the caller, not printed.

Clarabel may stop at its reduced tolerance (status ``optimal_inaccurate``) and
CVXPY then warns "Solution may be inaccurate" on stderr. The callers here check
the point themselves (SCA compares objectives; every allocation goes through the
problem's ``evaluate``) and count such answers in their stats, so the warning is
ours to handle, not the user's to read.

Examples
--------
>>> import cvxpy as cp
>>> x = cp.Variable()
>>> solve_quietly(cp.Problem(cp.Minimize(cp.square(x - 1))), cp.CLARABEL)
'optimal'
"""
from __future__ import annotations

import warnings

__all__ = ["solve_quietly"]


def solve_quietly(problem, solver) -> str:
    """Solve the CVXPY ``problem`` with ``solver`` without CVXPY's inaccuracy warning;
    return its status (``optimal_inaccurate`` for a reduced-accuracy answer).
    A :class:`cvxpy.SolverError` propagates. Cold: no warm start from an earlier
    solve of the same (cached, DPP) problem, so that an answer does not depend on
    what was solved before it in the process."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
        problem.solve(solver=solver, warm_start=False)
    return problem.status
