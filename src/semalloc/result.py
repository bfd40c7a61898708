"""The one result type every algorithm of every problem returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .schema import to_jsonable

__all__ = ["Result", "Evaluation", "STATUSES", "OPTIMAL", "FEASIBLE", "INFEASIBLE", "TIME_LIMIT", "ERROR",
           "SOLUTION_PRESENT", "FAILED", "CERTIFIED", "REJECTED", "RTOL"]

#: Certified optimum (within the stated gap).
OPTIMAL = "optimal"
#: A feasible allocation without a certificate.
FEASIBLE = "feasible"
#: The instance has no feasible allocation (proved, or admitted by the algorithm).
INFEASIBLE = "infeasible"
#: Stopped by a time limit (the allocation, if any, is feasible).
TIME_LIMIT = "time_limit"
#: The algorithm failed, returned an unknown status, or handed back an
#: allocation that ``evaluate`` rejected (see ``message``).
ERROR = "error"
#: How the ``message`` of an :data:`ERROR` starts when ``evaluate`` rejected the algorithm's allocation (it
#: ran and gave none feasible); any other :data:`ERROR` is a failure to run (an exception, a refusal).
REJECTED = "evaluate rejected the allocation"
#: Every status an algorithm may return and :func:`semalloc.solve` reports.
STATUSES = (OPTIMAL, FEASIBLE, INFEASIBLE, TIME_LIMIT, ERROR)

#: The variables are a solution to evaluate (as CVXPY's ``SOLUTION_PRESENT``);
#: ``time_limit`` without an allocation has empty variables.
SOLUTION_PRESENT = (OPTIMAL, FEASIBLE, TIME_LIMIT)
#: No solution: the instance has none, or the algorithm failed. With
#: :data:`SOLUTION_PRESENT` it splits :data:`STATUSES` in two.
FAILED = (INFEASIBLE, ERROR)
#: The algorithm proved its answer: an optimum, or that none is feasible.
CERTIFIED = (OPTIMAL, INFEASIBLE)

#: Relative tolerance of every problem's ``evaluate`` on its constraints (budgets,
#: minimum resources, deadlines): one number, so "feasible" means the same everywhere.
RTOL = 1e-9


@dataclass
class Evaluation:
    """What a problem's independent ``evaluate`` says of an allocation."""

    feasible: bool
    objective: float
    violations: list[str] = field(default_factory=list)
    #: Other quantities of a feasible allocation that figures plot beside the
    #: objective (training: ``round_time_s``, ``energy_j``); name -> float.
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``evaluate --json``: ``objective`` is null for an infeasible allocation
        (every problem alike); ``violations`` says why."""
        return {"feasible": self.feasible, "objective": to_jsonable(self.objective) if self.feasible else None,
                "violations": list(self.violations)}


@dataclass
class Result:
    """Outcome of :func:`semalloc.solve`.

    Attributes
    ----------
    problem, algorithm : str
        Problem key and algorithm name.
    status : str
        One of :data:`STATUSES`.
    objective : float
        The objective as computed by the problem's ``evaluate`` (never the
        algorithm's own claim); NaN when there is no feasible allocation.
    variables : dict[str, numpy.ndarray]
        Decision variables by name (see docs/formats.md).
    stats : dict
        At least ``time_s``; algorithms add ``iterations``, ``nodes``, ``gap_rel``... (docs/vocabulary.md);
        ``metrics`` holds the problem's :attr:`Evaluation.metrics` of a
        feasible allocation when it defines any.
    message : str
        Human-readable detail (solver message, violations; for ``error`` the
        exception an algorithm raised, for ``time_limit`` without an
        allocation the limit; ``variables`` is then empty).
    """

    problem: str
    algorithm: str
    status: str
    objective: float
    variables: dict[str, np.ndarray]
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def feasible(self) -> bool:
        return self.status in SOLUTION_PRESENT and np.isfinite(self.objective)

    def to_dict(self) -> dict:
        """Plain-JSON form: the solution file and ``solve --json`` output."""
        return {"problem": self.problem, "algorithm": self.algorithm, "status": self.status,
                "objective": to_jsonable(float(self.objective)),
                "variables": to_jsonable(self.variables), "stats": to_jsonable(self.stats),
                "message": self.message}
