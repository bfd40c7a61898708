"""Solver calls whose chatter is not printed: CVXPY's reduced-accuracy warning, and what compiled solvers
(SCS, HiGHS) write to file descriptor 1 themselves (``--json`` output is one JSON document, nothing else).

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

import contextlib
import os
import sys
import warnings

__all__ = ["solve_quietly", "quiet_fd1"]


@contextlib.contextmanager
def quiet_fd1():
    """File descriptor 1 on the null device meanwhile: HiGHS's C++ code and SCS's C code write to it directly
    (SCS: "ERROR: could not determine problem status." before a ``--json`` document, at P_max = 1e300)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solve_quietly(problem, solver) -> str:
    """Solve the CVXPY ``problem`` with ``solver`` without CVXPY's inaccuracy warning;
    return its status (``optimal_inaccurate`` for a reduced-accuracy answer).
    A :class:`cvxpy.SolverError` propagates. Cold: no warm start from an earlier
    solve of the same (cached, DPP) problem, so that an answer does not depend on
    what was solved before it in the process."""
    with warnings.catch_warnings(), quiet_fd1():
        warnings.filterwarnings("ignore", "Solution may be inaccurate", UserWarning)
        problem.solve(solver=solver, warm_start=False)
    return problem.status
