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
import math
import os
import time
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import InputError, RenamedWarning, TimeLimit
from .result import ERROR, INFEASIBLE, REJECTED, STATUSES, TIME_LIMIT, Evaluation, Result
from .schema import read_json_object, to_jsonable
from .threads import one_blas_thread

__all__ = ["Problem", "Algorithm", "Allocation", "register_algorithm", "register_problem", "list_problems",
           "get_problem", "solve", "evaluate", "generate", "load", "save", "load_solution", "check_options",
           "check_settings", "instance_bytes", "OPTION_RULES", "MAX_INSTANCE_BYTES", "RENAMED", "renamed", "Stats"]

#: Problem key -> module that defines ``PROBLEM``. Imported on first use.
_MODULES = {"multicell": "semalloc.problems.multicell", "offloading": "semalloc.problems.offloading",
            "compression": "semalloc.problems.compression", "training": "semalloc.problems.training", "sbq": "semalloc.problems.sbq"}
#: Algorithms of a built-in problem that live in a higher layer (the RL agents): imported
#: right after the problem, so that ``semalloc.problems`` never imports ``semalloc.rl``.
_LAYERED = {"sbq": "semalloc.rl.sbq_drl"}
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
        The solution variables of the problem (docs/formats.md); :func:`solve`
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
    #: Schema dimension -> the generator setting that fixes it (``{"N": "devices"}``),
    #: for the memory estimate of :func:`instance_bytes`.
    sizes: dict[str, str] = field(default_factory=dict)
    #: Problems whose instances are slots of a time-correlated episode (sbq):
    #: ``episode(seed, slots, **settings)`` yields them (its first slot is ``generate(seed, **settings)``)
    #: and ``carry(slot, previous, variables)`` is ``slot`` knowing the outcome of ``variables`` on
    #: ``previous`` (an agent's state). A spec's ``slots`` scores algorithms over such episodes.
    episode: Callable[..., Any] | None = None
    carry: Callable[[Any, Any, dict], Any] | None = None

    @property
    def defaults(self) -> dict | None:
        """The generator's settings and their defaults (its module's ``DEFAULTS``);
        ``None`` when it declares none (a plugin's generator checks its own)."""
        return getattr(inspect.getmodule(self.generate), "DEFAULTS", None)

    @property
    def ranges(self) -> dict[str, tuple]:
        """Closed ranges ``(lo, hi)`` of generator settings beyond what their
        default's type says (its module's ``RANGES``); a bound may name
        another setting (``{"min_distance_m": (0.0, "radius_m")}``)."""
        return getattr(inspect.getmodule(self.generate), "RANGES", {})

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
    if not isinstance(key, str):
        raise InputError("problem", f"must be a problem's name, got {type(key).__name__} {str(key)[:40]!r}; "
                         f"known: {', '.join(_MODULES)}")
    if key in _MODULES:
        prob = importlib.import_module(_MODULES[key]).PROBLEM
        if key in _LAYERED:
            importlib.import_module(_LAYERED[key])      # registers its algorithms once, on first import
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


#: Largest instance :func:`generate` draws: the estimate of :func:`instance_bytes`
#: (the arrays of the instance, 8 bytes per number) must not exceed it. The
#: algorithms need several times the instance (tables, copies), so larger
#: sizes would not be solved on a workstation anyway.
MAX_INSTANCE_BYTES = 256 * 2**20

#: Generator settings in these units are physical magnitudes (a length, a
#: frequency, a time, a power, an energy, bits, cycles): never negative.
_NONNEGATIVE_UNITS = ("_m", "_hz", "_s", "_w", "_j", "_bits", "_bps")


def _number(value: Any, name: str, problem: str, integer: bool, lo: float | None) -> float | int:
    """A finite number (an integer with ``integer``) ``>= lo``, else :class:`InputError` naming ``name``."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(name, f"must be {kind}, got {value!r}", problem)
    try:
        x = float(value)
    except OverflowError:
        raise InputError(name, f"must be {kind} below 1.8e308, got a {len(str(value))}-digit integer", problem) from None
    if not math.isfinite(x):
        raise InputError(name, f"must be finite, got {value!r}", problem)
    if integer and (x != round(x) or abs(x) >= 2.0**63):
        raise InputError(name, f"must be an integer{' below 2^63' if abs(x) >= 2.0**63 else ''}, got {value!r}", problem)
    if lo is not None and x < lo:
        raise InputError(name, f"must be >= {lo:g}, got {value!r}", problem)
    return int(x) if integer else value


#: One vocabulary across the problems (docs/vocabulary.md): the names it replaced,
#: by kind (``setting``, ``option``, ``stat``) and problem, old name -> new name.
#: The old names keep working for one release: :func:`check_settings`,
#: :func:`check_options` and :class:`Stats` translate them with a
#: :class:`~semalloc.errors.RenamedWarning` that names the new one.
RENAMED: dict[str, dict[str, dict[str, str]]] = {
    "setting": {"compression": {"noise_psd_dbm_hz": "noise_dbm_hz"},
                "training": {"noise_dbm_per_hz": "noise_dbm_hz"}},
    "option": {"compression": {"max_rounds": "max_iter"},                # best
               "training": {"eps": "tol",                                # alg3_printed: epsilon of step 7
                            "reduced": "reduced_max_devices", "polish": "polish_max_devices"},   # best
               "sbq": {"samples": "policy_samples"}},                    # drl; `samples` is training's D_n
    "stat": {"multicell": {"gap": "gap_rel", "dual_bound": "bound"},      # exact, best
             "compression": {"gap": "gap_abs", "rel_gap": "gap_rel", "upper_bound": "bound",   # exact
                             "bnb_gap": "bnb_gap_abs", "start": "start_objective"},          # crraus, best
             "training": {"devices": "infeasible_devices"},              # a P1 without a feasible point
             "sbq": {"samples": "policy_samples", "value": "model_objective"}},   # drl; local search
}


def _warn_renamed(kind: str, problem: str, old: str, new: str) -> None:
    warnings.warn(f"{problem}: {kind} {old!r} is renamed {new!r} (docs/vocabulary.md); "
                  f"the old name goes in the next release", RenamedWarning, stacklevel=4)


def renamed(kind: str, problem: str, names: dict, known=None) -> dict:
    """``names`` (settings or options, name -> value) with the old names of
    :data:`RENAMED` replaced by the new ones, in order, each with a
    :class:`~semalloc.errors.RenamedWarning`. With ``known``, only names
    whose new name is in it are replaced (an option of another algorithm).
    Giving both the old and the new name is an :class:`InputError`.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     renamed("setting", "training", {"devices": 5, "noise_dbm_per_hz": -170.0})
    {'devices': 5, 'noise_dbm_hz': -170.0}
    >>> print(w[0].message)         # doctest: +ELLIPSIS
    training: setting 'noise_dbm_per_hz' is renamed 'noise_dbm_hz' (docs/vocabulary.md); the old name ...
    """
    table = RENAMED[kind].get(problem, {})
    out = {}
    for name, value in names.items():
        new = table.get(name)
        if new is None or (known is not None and new not in known):
            out[name] = value
            continue
        if new in names:
            raise InputError(name, f"is the old name of {new!r}, which is also given; give {new!r} only", problem)
        _warn_renamed(kind, problem, name, new)
        out[new] = value
    return out


class Stats(dict):
    """An algorithm's ``stats`` in a :class:`~semalloc.result.Result`: a dict in
    which reading a renamed key (:data:`RENAMED`) still works for one release,
    with a :class:`~semalloc.errors.RenamedWarning`, and gives the new key's value.

    Examples
    --------
    >>> import warnings
    >>> s = Stats({"gap_rel": 0.0}, "multicell")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     s["gap"], s.get("gap"), s.get("nodes", -1)
    (0.0, 0.0, -1)
    """

    def __init__(self, data=(), problem: str = ""):
        super().__init__(data)
        self.problem = problem

    def _new(self, key) -> str | None:
        new = RENAMED["stat"].get(self.problem, {}).get(key)
        return new if new is not None and key not in self and new in self else None

    def __missing__(self, key):
        new = self._new(key)
        if new is None:
            raise KeyError(key)
        _warn_renamed("stat", self.problem, key, new)
        return self[new]

    def get(self, key, default=None):
        return self[key] if key in self or self._new(key) is not None else default


#: Settings without a default that name a file (a profile, a positions table); the others take a number
#: (``w_energy="0.5"`` was taken as text).
_FILE_SETTINGS = ("profile", "positions")


def check_settings(key: str, settings: dict) -> dict:
    """Check generator settings against the problem's settings table: the
    types of its ``DEFAULTS`` and the ranges of its ``RANGES``.

    An integer default (a count) takes an integer ``>= 1`` (``1e3`` is read as
    1000); a number takes a finite number, ``>= 0`` when its unit is a
    magnitude (names ending ``_m``, ``_hz``, ``_s``, ``_w``, ``_j``, ``_bits``);
    a list default (a ``[low, high]`` range or a list of choices) takes a number
    or a non-empty list of such numbers, integers ``>= 1`` when the default's
    are integers (``rbs``, ``kernels``, ``side``); text takes text. A setting
    in :attr:`Problem.ranges` must lie in its range (every number of a list).
    Returns the settings with integers as ``int``; the problem's generator and
    the instance's validation check the rest (structural, cross-field rules).
    Every built-in generator calls it, so ``generate`` of a problem module
    refuses what :func:`generate` refuses.

    Examples
    --------
    >>> check_settings("multicell", {"devices": 1e3, "rbs": [10, 20]})
    {'devices': 1000, 'rbs': [10, 20]}
    >>> check_settings("multicell", {"area_m": -5})
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: multicell: area_m: must be >= 0, got -5
    """
    prob = get_problem(key)
    defaults = prob.defaults
    if defaults is None:
        return dict(settings)
    out = {}
    for name, value in renamed("setting", key, settings).items():
        if name not in defaults:
            raise InputError(name, f"unknown setting; known: {', '.join(defaults)}", key)
        default = defaults[name]
        in_db = {"db", "dbm"} & set(name.split("_"))                      # noise_dbm_hz is a level in dB
        lo = 0.0 if name.endswith(_NONNEGATIVE_UNITS) and not in_db else None
        if (default is None or isinstance(default, float)) and isinstance(value, (list, tuple)):   # a range
            if not value:
                raise InputError(name, "must be a number or a non-empty list of numbers, got []", key)
            out[name] = [_number(v, f"{name}[{i}]", key, False, lo) for i, v in enumerate(value)]
        elif default is None:                                  # derived unless given: a number, or a file's
            out[name] = value if isinstance(value, str) and name in _FILE_SETTINGS \
                else _number(value, name, key, False, lo)            # name for those that read one
        elif isinstance(default, str):
            if not isinstance(value, str):
                raise InputError(name, f"must be text, got {value!r}", key)
            out[name] = value
        elif isinstance(default, bool):
            out[name] = value
        elif isinstance(default, int):
            out[name] = _number(value, name, key, True, 1)
        elif isinstance(default, float):
            out[name] = _number(value, name, key, False, lo)
        elif isinstance(default, (list, tuple)):
            integer = all(isinstance(v, int) for v in default)
            items = value if isinstance(value, (list, tuple)) else [value]
            if not items:
                raise InputError(name, "must be a number or a non-empty list of numbers, got []", key)
            lo = 1 if integer else lo                                       # choices of sizes, kernels, RBs
            out[name] = [_number(v, f"{name}[{i}]" if value is items else name, key, integer, lo)
                         for i, v in enumerate(items)]
            if value is not items:
                out[name] = out[name][0]
        else:
            out[name] = value
    _check_ranges(key, prob.ranges, {**defaults, **out})
    return out


def _check_ranges(key: str, ranges: dict, values: dict) -> None:
    """Each setting with a range in ``ranges`` within it (bounds: numbers or setting names),
    ``values`` the settings after the defaults."""
    for name, bounds in ranges.items():
        for b in bounds:
            if isinstance(b, str) and np.ndim(values[b]) != 0:
                raise InputError(b, f"must be a number (it bounds {name}), got {values[b]!r}", key)
        lo, hi = (float(values[b]) if isinstance(b, str) else b for b in bounds)
        text = ", ".join(f"{b} = {values[b]:g}" if isinstance(b, str) else f"{b:g}" for b in bounds)
        for x in np.atleast_1d(np.asarray(values[name], dtype=float)):
            if not lo <= x <= hi:
                raise InputError(name, f"must be in [{text}], got {values[name]!r}", key)


def instance_bytes(key: str, settings: dict) -> int:
    """Estimated memory of the arrays of an instance drawn with ``settings``
    (8 bytes per number of every schema field; dimensions from
    :attr:`Problem.sizes`, the defaults for settings not given).

    Multicell, N = 1000, M = 10: six N-arrays, the N x 2 positions and the
    N x M gains, 18 000 numbers, plus the small per-BS and per-application ones:

    >>> instance_bytes("multicell", {"devices": 1000, "base_stations": 10}) // 1000
    144
    """
    prob = get_problem(key)
    defaults, schema = prob.defaults, getattr(prob.instance_type, "SCHEMA", None)
    if defaults is None or schema is None:                 # a plugin problem: no estimate
        return 0

    def size(dim: str) -> int:
        if dim.isdigit():
            return int(dim)
        value = settings.get(prob.sizes.get(dim, ""), defaults.get(prob.sizes.get(dim, ""), 1))
        return len(value) if isinstance(value, (list, tuple)) else int(value)

    def walk(schema: dict) -> int:
        return sum(walk(f) if isinstance(f, dict) else 8 * math.prod(size(d) for d in f.dims)
                   for f in schema.values())
    return walk(schema)


def _check_seed(seed: Any) -> int:
    return _number(seed, "--seed", "generate", True, 0)


def generate(key: str, seed: int = 0, **overrides):
    """Draw an instance of problem ``key`` from the paper's default distribution.

    ``overrides`` change generator settings (``devices=30``, ``utility="inverse_error"``);
    an unknown or malformed setting, a negative seed, or sizes whose instance
    would exceed :data:`MAX_INSTANCE_BYTES` raise :class:`InputError`.
    """
    seed = _check_seed(seed)
    settings = check_settings(key, overrides)
    need = instance_bytes(key, settings)
    if need > MAX_INSTANCE_BYTES:
        sizes = ", ".join(f"{v}={settings[v]}" for v in get_problem(key).sizes.values() if v in settings)
        raise InputError(sizes or "settings", f"the instance would need about {need / 2**30:.3g} GiB "
                         f"(limit {MAX_INSTANCE_BYTES / 2**30:.3g} GiB); use fewer items", key)
    given = ", ".join(settings) or "settings"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):   # what overflows fails validation below
            warnings.simplefilter("ignore")
            return get_problem(key).generate(seed=seed, **settings)
    except InputError as e:
        base = e.field.split("[")[0]
        if not settings or base in (get_problem(key).defaults or {}) or e.field == "--seed":
            raise                                           # the generator named the setting it refused
        raise InputError(given, f"the instance drawn with them is not valid: {e.field}: {e.reason}", key) from None
    except (TypeError, ValueError, ArithmeticError) as e:  # a setting of the right type the generator cannot use
        raise InputError(given, f"the generator cannot use them: {e}", key) from None


def evaluate(instance, variables: dict) -> Evaluation:
    """Feasibility and objective of ``variables`` on ``instance``, independent of any algorithm.

    An allocation whose objective is not a finite number (an instance's numbers at the edge of floating
    point: a zero delay's infinite reward, an overflow) is not feasible: the objective says nothing."""
    prob = _problem_of(instance)
    return _evaluated(prob, instance, prob.parse_variables(instance, variables))


def _evaluated(prob, instance, parsed: dict) -> Evaluation:
    """The problem's ``evaluate`` of parsed variables, an objective that is not finite made infeasible."""
    with np.errstate(all="ignore"):            # an overflow shows as a non-finite objective, refused here
        ev = prob.evaluate(instance, parsed)
    if ev.feasible and not np.isfinite(ev.objective):
        return Evaluation(False, float("nan"), [f"objective: {ev.objective} (not finite: the instance's numbers "
                                                "overflow it)"])
    return ev


#: Ranges of the algorithm options, by name, for every algorithm that takes
#: one: ``(lowest, strict)``. An option's type comes from its annotation in
#: the algorithm's signature (``int``, ``float``, ``str``, ``Literal[...]``);
#: an integer option not listed here must be ``>= 0``.
OPTION_RULES: dict[str, tuple[float, bool]] = {
    "time_limit": (0.0, True), "tol": (0.0, True), "eps": (0.0, True), "seed": (0, False), "starts": (1, False),
    "max_iter": (1, False), "steps": (1, False), "bits": (1, False), "max_users": (1, False),
    "max_subchannels": (1, False), "bnb_time_limit": (0.0, True), "bnb_gap_rel": (0.0, False),
    "units": (1, False), "o_cells": (1, False), "optimal_gap_rel": (0.0, False), "ratio": (0.0, True),
}


def _option_types(alg: Algorithm) -> dict[str, tuple[Any, Any]]:
    """Option name -> (annotation, default), from the algorithm's signature."""
    fn = inspect.unwrap(alg.run)
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}
    params = list(inspect.signature(fn).parameters.values())[1:]
    return {p.name: (hints.get(p.name, type(p.default)), p.default) for p in params
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _option_value(alg: Algorithm, where: str, name: str, value: Any, hint: Any, default: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        if value not in args:
            raise InputError(where, f"{alg.name}: must be one of {', '.join(map(str, args))}; got {value!r}")
        return value
    if value is None and (default is None or type(None) in args):
        return value
    if bool in (args or (hint,)) or (hint is not bool and isinstance(default, bool)):
        if not isinstance(value, bool):                   # YAML's true/false; "abc" or 1 is not one
            raise InputError(where, f"{alg.name}: must be true or false, got {value!r}")
        return value
    base = next((a for a in (args or (hint,)) if a in (int, float, str)), type(default))
    if base is str:
        if not isinstance(value, str):
            raise InputError(where, f"{alg.name}: must be text, got {value!r}")
        return value
    if base in (int, float):
        lo, strict = OPTION_RULES.get(name, (0, False) if base is int else (None, False))
        x = _number(value, where, None, base is int, None if strict else lo)
        if strict and x <= lo:
            raise InputError(where, f"{alg.name}: must be > {lo:g}, got {value!r}")
        return x if base is int else float(x)
    return value


def check_options(problem: str, algorithm: str, options: dict, where: str = "--set ") -> dict:
    """Validate ``options`` of ``algorithm``: the names its signature takes, each
    value of the annotated type within :data:`OPTION_RULES`. Returns the options
    converted (``"5"`` stays refused; ``1e3`` for an integer becomes 1000).
    ``where`` prefixes the option's name in the message (``spec.options.best.``
    for a sweep spec).

    Examples
    --------
    >>> check_options("offloading", "best", {"starts": 3, "time_limit": 2})
    {'starts': 3, 'time_limit': 2.0}
    >>> check_options("offloading", "best", {"starts": -1})
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: --set starts: must be >= 1, got -1
    """
    prob = get_problem(problem)
    if algorithm not in prob.algorithms:
        raise InputError("algorithm", f"unknown algorithm {algorithm!r} for {prob.key}; "
                         f"known: {', '.join(prob.algorithms)}", prob.key)
    alg = prob.algorithms[algorithm]
    types = _option_types(alg)
    anything = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(inspect.unwrap(alg.run)).parameters.values())
    out = {}
    for name, value in renamed("option", prob.key, options, known=types).items():
        if name not in types and anything:         # a plugin's ``**options``: its own to check
            out[name] = value
            continue
        if name not in types:
            raise InputError(f"{where}{name}", f"{alg.name} takes no option {name!r}; "
                             f"options: {', '.join(types) or 'none'}")
        out[name] = _option_value(alg, f"{where}{name}", name, value, *types[name])
    return out


def solve(instance, algorithm: str | None = None, **options) -> Result:
    """Run ``algorithm`` (default: the problem's ``proposed`` one) on ``instance``;
    the output always goes through ``evaluate``.

    An allocation that ``evaluate`` rejects comes back with status ``error``
    and the violations in ``message``; it is never labelled feasible. So does
    a status outside :data:`~semalloc.result.STATUSES` (the algorithm's bug,
    named in ``message``; its variables are dropped).
    """
    prob = _problem_of(instance)
    if algorithm is not None and not (isinstance(algorithm, str) and algorithm.strip()):
        raise InputError("algorithm", f"must be an algorithm's name, got {algorithm!r}; known: "
                         f"{', '.join(prob.algorithms)}", prob.key)
    algorithm = algorithm or prob.proposed
    if not algorithm:
        raise InputError("algorithm", f"{prob.key} names no proposed algorithm: give one", prob.key)
    options = check_options(prob.key, algorithm, options)
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"), one_blas_thread():    # an overflow inside a heuristic shows in what
            out = prob.algorithms[algorithm].run(instance, **options)       # evaluate finds; the same answer
                                                                            # on any number of cores
    except InputError as e:
        if not e.field.startswith("variables"):    # the caller's input (an option, an instance too large)
            raise
        return Result(prob.key, algorithm, ERROR, float("nan"), {}, {"time_s": time.perf_counter() - t0},
                      f"algorithm {algorithm!r} made invalid variables: {e.field}: {e.reason}")
    except TimeLimit as e:                     # out of time before any allocation
        return Result(prob.key, algorithm, TIME_LIMIT, float("nan"), {}, {"time_s": time.perf_counter() - t0},
                      str(e))
    except Exception as e:                     # noqa: BLE001 -- an algorithm's failure is a result, not a crash
        return Result(prob.key, algorithm, ERROR, float("nan"), {}, {"time_s": time.perf_counter() - t0},
                      f"{type(e).__name__}: {e}")
    variables, status, stats, message = _allocation(out, algorithm)
    stats = Stats({"time_s": time.perf_counter() - t0, **stats}, prob.key)
    if status not in STATUSES:                 # the algorithm's bug: its variables are not trusted
        return Result(prob.key, algorithm, ERROR, float("nan"), {}, stats,
                      f"algorithm {algorithm!r} returned the unknown status {status!r}; known: {', '.join(STATUSES)}")
    try:
        parsed = prob.parse_variables(instance, variables)
    except InputError as e:                    # the algorithm's output, not the caller's input
        return Result(prob.key, algorithm, ERROR, float("nan"), {}, stats,
                      f"algorithm {algorithm!r} returned invalid variables: {e.field}: {e.reason}")
    ev = _evaluated(prob, instance, parsed)
    if not ev.feasible:                        # never labelled feasible; an admitted infeasibility stays one
        why = f"{REJECTED}: " + "; ".join(ev.violations)
        status, message = (INFEASIBLE, f"{message}; {why}" if message else why) if status == INFEASIBLE \
            else (ERROR, why)
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
            or not isinstance(alloc.message, str):
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
    text = json.dumps(to_jsonable(obj.to_dict()), indent=1) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")       # all or nothing: write, then rename
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
