"""The registry of problems and algorithms, and the entry points ``solve``,
``evaluate``, ``generate``, ``load`` and ``save``.

The public plugin API is :func:`register_algorithm`, :func:`register_problem`
and :class:`Allocation` (docs/plugins.md); :mod:`semalloc.plugins` finds
plugin modules (entry points, ``--plugin``, a spec's ``plugins:``).

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
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import InputError
from .result import STATUSES, Evaluation, Result
from .schema import read_json_object, to_jsonable

__all__ = ["Problem", "Algorithm", "Allocation", "register_algorithm", "register_problem", "list_problems",
           "get_problem", "solve", "evaluate", "generate", "load", "save", "load_solution"]

#: Problem key -> module that defines ``PROBLEM``. Imported on first use.
_MODULES = {"multicell": "semalloc.problems.multicell", "offloading": "semalloc.problems.offloading",
            "compression": "semalloc.problems.compression", "training": "semalloc.problems.training", "sbq": "semalloc.problems.sbq"}
#: Problems registered by :func:`register_problem` (plugins), by key.
_REGISTERED: dict[str, "Problem"] = {}


class Allocation(NamedTuple):
    """What an algorithm returns.

    The one return convention of every algorithm, built-in or plugin. It is
    a named tuple, so the plain 4-tuple ``(variables, status, stats,
    message)`` the built-ins return is the same value.

    Attributes
    ----------
    variables : dict
        The solution variables of the problem (DESIGN.md); :func:`solve`
        passes them to the problem's independent ``evaluate``.
    status : str
        ``optimal`` (certified), ``feasible``, ``infeasible`` (the algorithm
        proved or admits there is none), ``time_limit`` or ``error``
        (:data:`semalloc.result.STATUSES`). ``evaluate`` overrides a claimed
        feasibility it rejects.
    stats : dict
        Anything worth keeping (iterations, bounds); ``trace``, a list of the
        objective per iteration, is stored by sweeps and drawn by
        ``plot --kind trace``. ``time_s`` is added by :func:`solve`.
    message : str
        A line for the user, ``""`` if nothing to say.

    Examples
    --------
    >>> a = Allocation({"x": [1.0]}, "feasible")
    >>> a.stats, a.message
    ({}, '')
    >>> variables, status, stats, message = a
    """

    variables: dict
    status: str
    stats: dict = {}
    message: str = ""


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm: ``run(instance, **options) -> Allocation``."""

    name: str
    run: Callable[..., Allocation]
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
        """Decorator registering ``fn`` as algorithm ``name`` (see :func:`register_algorithm`)."""
        def deco(fn):
            _add_algorithm(self, name, fn, summary)
            return fn
        return deco


def _add_algorithm(problem: Problem, name: str, fn: Callable, summary: str) -> None:
    where = f"algorithm {name!r}"
    if not isinstance(name, str) or not name or not name.replace("-", "_").replace(".", "_").isidentifier():
        raise InputError(where, "the name must be a non-empty word (letters, digits, _ - .)", problem.key)
    if not callable(fn):
        raise InputError(where, f"{fn!r} is not callable", problem.key)
    old = problem.algorithms.get(name)
    same = old is not None and (old.run is fn or (getattr(old.run, "__module__", None), getattr(old.run, "__qualname__", None))
                                == (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)))
    if old is not None and not same:      # a reloaded module re-registering itself is the same algorithm
        raise InputError(where, f"already registered for {problem.key} ({old.summary}); pick another name",
                         problem.key)
    problem.algorithms[name] = Algorithm(name, fn, str(summary))


def register_algorithm(problem: str, name: str, fn: Callable[..., Allocation], summary: str) -> Callable:
    """Register ``fn`` as algorithm ``name`` of problem ``problem``; return ``fn``.

    ``fn(instance, **options)`` returns an :class:`Allocation`; its keyword
    options (with defaults) are what ``--set`` and a spec's ``options`` may
    give. Every result goes through the problem's independent ``evaluate``
    (:func:`solve`), so a plugin cannot report an infeasible allocation as
    feasible. A name already taken (a built-in or another plugin's) is an
    :class:`InputError`; registering the same function again is a no-op.

    Examples
    --------
    >>> import semalloc
    >>> def idle(inst):
    ...     prop = semalloc.solve(inst, "prop").variables       # any allocation of the problem
    ...     return semalloc.Allocation(prop, "feasible", {"note": "a copy of prop"})
    >>> _ = semalloc.register_algorithm("multicell", "doc-example", idle, "prop, re-labelled")
    >>> inst = semalloc.generate("multicell", seed=1, devices=4, base_stations=2)
    >>> semalloc.solve(inst, "doc-example").objective == semalloc.solve(inst, "prop").objective
    True
    >>> del semalloc.get_problem("multicell").algorithms["doc-example"]
    """
    _add_algorithm(get_problem(problem), name, fn, summary)
    return fn


def register_problem(problem: Problem) -> Problem:
    """Register a whole new :class:`Problem` under ``problem.key``; return it.

    Its instance type, evaluator, generator and variable parser are the
    problem's own; algorithms are added with :func:`register_algorithm` (or
    ``problem.algorithm(name, summary)`` as a decorator). A key already
    taken by a built-in or another plugin's problem is an :class:`InputError`.
    """
    if not isinstance(problem, Problem):
        raise InputError("register_problem", f"expected a semalloc Problem, got {type(problem).__name__}")
    old = _MODULES.get(problem.key) or _REGISTERED.get(problem.key)
    if old is not None and old is not problem:
        raise InputError("problem", f"{problem.key!r} is already registered; pick another key")
    if problem.sense not in ("max", "min"):
        raise InputError(f"{problem.key}: sense", f"must be 'max' or 'min', got {problem.sense!r}")
    _REGISTERED[problem.key] = problem
    return problem


def list_problems() -> dict[str, Problem]:
    """All problems, by key: the built-ins (``semalloc.problems``), then plugins'."""
    _plugins_from_entry_points()
    return {**{k: get_problem(k) for k in _MODULES}, **_REGISTERED}


def get_problem(key: str) -> Problem:
    """The problem ``key`` (an :class:`InputError` naming the known ones if unknown).

    The first call loads the plugins installed under the ``semalloc.plugins``
    entry-point group (:mod:`semalloc.plugins`).
    """
    if key in _MODULES:
        prob = importlib.import_module(_MODULES[key]).PROBLEM
        _plugins_from_entry_points()
        return prob
    _plugins_from_entry_points()
    if key not in _REGISTERED:
        raise InputError("problem", f"unknown problem {key!r}; known: {', '.join([*_MODULES, *_REGISTERED])}")
    return _REGISTERED[key]


def _plugins_from_entry_points() -> None:
    from .plugins import load_entry_points
    load_entry_points()


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
    variables, status, stats, message = _allocation(prob.algorithms[algorithm].run(instance, **options), algorithm)
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


def _allocation(out, name: str) -> Allocation:
    """An algorithm's return as an :class:`Allocation`; anything else is the algorithm's bug (TypeError)."""
    try:
        alloc = out if isinstance(out, Allocation) else Allocation(*out)
    except TypeError:
        alloc = None
    if alloc is None or not isinstance(alloc.variables, dict) or not isinstance(alloc.stats, dict) \
            or alloc.status not in STATUSES or not isinstance(alloc.message, str):
        raise TypeError(f"algorithm {name!r} returned {type(out).__name__} {str(out)[:80]!r}; expected "
                        f"Allocation(variables: dict, status in {STATUSES}, stats: dict, message: str)")
    return alloc


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
