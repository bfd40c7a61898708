"""The registry of problems and algorithms, and the entry points ``solve``,
``evaluate``, ``generate``, ``load`` and ``save``.

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("multicell", seed=3, devices=8, base_stations=2)
>>> res = semalloc.solve(inst, algorithm="prop")
>>> res.status, res.objective > 0
('feasible', True)
>>> semalloc.evaluate(inst, res.variables).feasible
True
"""
from __future__ import annotations

import importlib
import inspect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InputError
from .result import Evaluation, Result
from .schema import read_json_object, to_jsonable

__all__ = ["Problem", "Algorithm", "list_problems", "get_problem", "solve", "evaluate", "generate",
           "load", "save", "load_solution"]

#: Problem key -> module that defines ``PROBLEM``. Imported on first use.
_MODULES = {"multicell": "semalloc.problems.multicell", "offloading": "semalloc.problems.offloading",
            "compression": "semalloc.problems.compression", "training": "semalloc.problems.training", "sbq": "semalloc.problems.sbq"}


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm: ``run(instance, **options) -> (variables, status, stats, message)``."""

    name: str
    run: Callable[..., tuple[dict, str, dict, str]]
    summary: str


@dataclass
class Problem:
    """A problem: its instance type, independent evaluator, generator and algorithms."""

    key: str
    sense: str                                   # "max" or "min"
    instance_type: type                          # .from_dict(dict), .to_dict()
    evaluate: Callable[[Any, dict], Evaluation]
    generate: Callable[..., Any]
    parse_variables: Callable[[Any, dict], dict]  # validates a solution's variables
    summary: str = ""
    proposed: str = ""                           # the paper's algorithm: `solve`'s default, highlighted in plots
    algorithms: dict[str, Algorithm] = field(default_factory=dict)

    def algorithm(self, name: str, summary: str):
        """Decorator registering ``fn`` as algorithm ``name``."""
        def deco(fn):
            self.algorithms[name] = Algorithm(name, fn, summary)
            return fn
        return deco


def list_problems() -> dict[str, Problem]:
    """All problems, by key (``semalloc.problems`` is the package of their modules)."""
    return {k: get_problem(k) for k in _MODULES}


def get_problem(key: str) -> Problem:
    if key not in _MODULES:
        raise InputError("problem", f"unknown problem {key!r}; known: {', '.join(_MODULES)}")
    return importlib.import_module(_MODULES[key]).PROBLEM


def _problem_of(instance) -> Problem:
    return get_problem(getattr(instance, "problem", None) or "?")


def generate(key: str, seed: int = 0, **overrides):
    """Draw an instance of problem ``key`` from the paper's default distribution.

    ``overrides`` change generator settings (``devices=30``, ``utility="inverse_error"``);
    an unknown setting raises :class:`InputError`.
    """
    return get_problem(key).generate(seed=seed, **overrides)


def evaluate(instance, variables: dict) -> Evaluation:
    """Feasibility and objective of ``variables`` on ``instance``, independent of any algorithm."""
    prob = _problem_of(instance)
    return prob.evaluate(instance, prob.parse_variables(instance, variables))


def _check_options(alg: Algorithm, options: dict) -> None:
    """An option the algorithm does not take is an :class:`InputError` naming it."""
    params = inspect.signature(alg.run).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in list(params.items())[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for name in options:
        if name not in known:
            raise InputError(f"--set {name}", f"{alg.name} takes no option {name!r}; "
                             f"options: {', '.join(known) or 'none'}")


def solve(instance, algorithm: str | None = None, **options) -> Result:
    """Run ``algorithm`` (default: the problem's ``proposed`` one) on ``instance``;
    the output always goes through ``evaluate``.

    An allocation that ``evaluate`` rejects comes back with status ``error``
    and the violations in ``message``; it is never labelled feasible.
    """
    prob = _problem_of(instance)
    algorithm = algorithm or prob.proposed
    if not algorithm:
        raise InputError("algorithm", f"{prob.key} names no proposed algorithm: give one", prob.key)
    if algorithm not in prob.algorithms:
        raise InputError("algorithm", f"unknown algorithm {algorithm!r} for {prob.key}; "
                         f"known: {', '.join(prob.algorithms)}", prob.key)
    _check_options(prob.algorithms[algorithm], options)
    t0 = time.perf_counter()
    variables, status, stats, message = prob.algorithms[algorithm].run(instance, **options)
    stats = {"time_s": time.perf_counter() - t0, **stats}
    ev = prob.evaluate(instance, prob.parse_variables(instance, variables))
    if not ev.feasible:                        # never labelled feasible; an admitted infeasibility stays one
        why = "evaluate rejected the allocation: " + "; ".join(ev.violations)
        status, message = ("infeasible", f"{message}; {why}" if message else why) if status == "infeasible" \
            else ("error", why)
    if ev.feasible and ev.metrics:
        stats["metrics"] = {k: float(v) for k, v in ev.metrics.items()}
    return Result(prob.key, algorithm, status, ev.objective if ev.feasible else float("nan"),
                  variables, stats, message)


def _read_json(path: str | Path, what: str) -> dict:
    data = read_json_object(path, str(path), what)
    if "problem" not in data:
        raise InputError(f"{path}: problem", f"missing; not a semalloc {what} file")
    return data


def load(path: str | Path):
    """Read and validate an instance JSON file."""
    data = _read_json(path, "instance")
    return get_problem(str(data["problem"])).instance_type.from_dict(data)


def load_solution(path: str | Path, instance) -> dict:
    """Read a solution (a ``Result`` JSON) for ``instance``; return validated variables."""
    data = _read_json(path, "solution")
    prob = _problem_of(instance)
    if data["problem"] != prob.key:
        raise InputError("problem", f"solution is for {data['problem']!r}, instance is {prob.key!r}", prob.key)
    if not isinstance(data.get("variables"), dict):
        raise InputError("variables", "missing or not an object", prob.key)
    return prob.parse_variables(instance, data["variables"])


def save(obj, path: str | Path) -> None:
    """Write an instance or a :class:`Result` as JSON."""
    payload = obj.to_dict()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(to_jsonable(payload), indent=1) + "\n")
