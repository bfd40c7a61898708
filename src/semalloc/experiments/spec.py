"""Sweep specifications: a grid of generator settings x seeds x algorithms.

A spec is a YAML (or JSON) mapping, validated up front with the field named
on any error (:class:`~semalloc.errors.InputError`)::

    problem: multicell
    title: "He et al., Fig. 6: total utility vs. number of devices"
    settings: {utility: accuracy}      # generator settings shared by every point
    vary: {devices: [10, 20, 30]}      # a grid (cartesian product) ...
    # vary: {fcr.ratio: [0.5, 0.8]}    # ... `ALGORITHM.OPTION` varies an algorithm's option
    # points: [{devices: 10}, ...]     # ... or an explicit list of points
    seeds: 10                          # 0..9, or an explicit list
    algorithms: [prop, tc, best]
    options: {best: {time_limit: 10}}  # keyword options per algorithm
    plot: {x: devices, y: objective}   # how `semalloc plot` draws it
    quick: {seeds: 2, vary: {devices: [10, 30]}}   # `--quick` overrides
    plugins: [mypkg.algorithms]        # modules every worker imports first (docs/plugins.md)
    generator: mypkg.scenarios:dense_urban   # a user generator (settings, seed) -> instance
    slots: 10                          # sbq: each seed an episode of 10 slots, the mean per slot

Examples
--------
>>> from semalloc.experiments.spec import parse_spec
>>> spec = parse_spec({"problem": "multicell", "vary": {"devices": [4, 6]}, "seeds": 2,
...                    "settings": {"base_stations": 2}, "algorithms": ["prop", "nua"]})
>>> [p for p in spec.points], spec.seeds, len(spec.tasks())
([{'devices': 4}, {'devices': 6}], [0, 1], 4)
>>> len(spec.hash)
16
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..plugins import load_plugin
from ..schema import numbers_from_text
from ..solve import check_options, generate, get_problem

__all__ = ["SweepSpec", "parse_spec", "load_spec", "split_point", "make_instance", "GENERATOR", "shipped_specs",
           "find_spec", "FIELDS",
           "PLOT_FIELDS", "SPECS_DIR"]

#: The specs shipped in the package (the paper figures; ``examples/specs/`` in a checkout).
SPECS_DIR = Path(__file__).parent / "specs"

#: Top-level fields of a spec and what each holds.
FIELDS = {
    "problem": "problem key (`semalloc problems`)",
    "title": "a line for figures and tables",
    "settings": "generator settings shared by every point",
    "vary": "generator settings to vary: name -> list of values (cartesian product); "
            "`ALGORITHM.OPTION` varies an option of one of the spec's algorithms",
    "points": "explicit list of points (mappings of generator settings); instead of `vary`",
    "seeds": "number of seeds (0..n-1) or a list of seeds",
    "algorithms": "algorithms to run on every instance",
    "options": "keyword options per algorithm",
    "plot": "how `semalloc plot` draws it",
    "quick": "overrides of seeds/vary/points/algorithms/settings/options for `--quick`",
    "plugins": "modules that register algorithms or problems, imported first (and by every worker)",
    "generator": "a user generator `module:function` taking (settings, seed) and returning an instance "
                 "of the problem; kept as the setting `generator` (docs/models.md, Scenarios)",
    "slots": "problems with episodes (sbq): each seed is an episode of this many time-correlated slots, "
             "decided in turn (an agent sees its own last outcome); a row's objective is the mean per slot",
}
#: The setting that names a user generator (``spec.generator`` is stored as it).
GENERATOR = "generator"
#: Fields of ``plot``.
PLOT_FIELDS = {"x": "setting on the x axis",
               "y": "objective, time_s or a metric of the problem; a list draws one panel each",
               "ylabel": "label of the y axis (a list with a list y)",
               "kind": "line, bars or trace (objective per iteration)",
               "logx": "log-scale x", "logy": "log-scale y", "panels": "setting with one panel per value",
               "xlabel": "label of the x axis (default: the setting's display name)",
               "xunit": "display unit of the x axis (e.g. MHz, dBm, ms; default: the setting's)",
               "names": "legend labels: algorithm -> label (default: the paper's names)",
               "band": "measure -> [low, high] measures: lines shade between their means, not the seeds' range",
               "proposed": "algorithm drawn highlighted (default: the problem's proposed algorithm)",
               "series": "setting with one line per value (and algorithm)"}
_QUICK = ("seeds", "vary", "points", "algorithms", "settings", "options")
#: Fields of :meth:`SweepSpec.to_dict` that do not shape an instance (any other one does).
_NOT_INSTANCE = ("title", "plot", "plugins", "points", "seeds", "algorithms", "options", "settings")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep; ``points`` are the varied settings of each grid point."""

    problem: str
    points: list[dict]
    seeds: list[int]
    algorithms: list[str]
    settings: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    title: str = ""
    plot: dict = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    #: Slots per seed's episode (problems with episodes; 1: one slot, the generator's instance).
    slots: int = 1

    @property
    def hash(self) -> str:
        """Identity of the whole spec: everything but ``title``, ``plot`` and ``plugins``
        (where the code comes from; the algorithms' names are in the hash). It names
        a store of ``reproduce``; a row is identified by its :meth:`task_key`."""
        core = {k: v for k, v in self.to_dict().items() if k not in ("title", "plot", "plugins")}
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:16]

    def tasks(self) -> list[tuple[str, dict, int]]:
        """One per (point, seed), an instance to draw: ``(point key, point, seed)``."""
        return [(point_key(p), p, s) for p in self.points for s in self.seeds]

    def instance(self, point: dict) -> dict:
        """What shapes the instance of ``point`` (with a seed): the problem, the fixed and
        varied settings, and every other field of the spec not listed in :data:`_NOT_INSTANCE`
        (so that a field added to specs that shapes instances is part of a task's identity)."""
        rest = {k: v for k, v in self.to_dict().items() if k not in _NOT_INSTANCE}
        return {**rest, "settings": {**self.settings, **split_point(point, {})[0]}}

    def algorithm_options(self, point: dict, algorithm: str) -> dict:
        """The options ``algorithm`` runs with at ``point`` (``options`` and the point's
        ``ALGORITHM.OPTION`` entries)."""
        return split_point(point, self.options)[1].get(algorithm, {})

    def task_key(self, point: dict, seed: int, algorithm: str) -> str:
        """The identity of one task, the key of its row in a results store: a hash of
        :meth:`instance`, the seed, the algorithm and its options (not the title, plot,
        plugins, or which other points, seeds and algorithms the spec has).

        Examples
        --------
        >>> a = parse_spec({"problem": "multicell", "vary": {"devices": [4]}, "algorithms": ["prop"]})
        >>> b = parse_spec({"problem": "multicell", "vary": {"devices": [4, 6]}, "seeds": 3,
        ...                 "algorithms": ["nua", "prop"], "title": "grown"})
        >>> a.task_key({"devices": 4}, 0, "prop") == b.task_key({"devices": 4}, 0, "prop")
        True
        """
        core = {"instance": self.instance(point), "seed": seed, "algorithm": algorithm,
                "options": self.algorithm_options(point, algorithm)}
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:32]

    def task_list(self) -> list[tuple[str, dict, int, str]]:
        """Every task: ``(key, point, seed, algorithm)`` per point, seed and algorithm. Two
        entries share a key when a point varies an option the algorithm does not take."""
        return [(self.task_key(p, s, a), p, s, a) for p in self.points for s in self.seeds for a in self.algorithms]

    def to_dict(self) -> dict:
        return {"problem": self.problem, "title": self.title, "settings": self.settings, "points": self.points,
                "seeds": self.seeds, "algorithms": self.algorithms, "options": self.options, "plot": self.plot,
                **({"slots": self.slots} if self.slots != 1 else {}),
                **({"plugins": self.plugins} if self.plugins else {})}


def point_key(point: dict) -> str:
    """The canonical JSON of a point: its key in the results store."""
    return json.dumps(point, sort_keys=True)


def split_point(point: dict, options: dict) -> tuple[dict, dict]:
    """A point's generator settings, and ``options`` updated by its ``ALGORITHM.OPTION`` entries.

    Examples
    --------
    >>> split_point({"users": 5, "fcr.ratio": 0.7}, {"fcr": {"x": 1}})
    ({'users': 5}, {'fcr': {'x': 1, 'ratio': 0.7}})
    """
    opts = {a: dict(o) for a, o in options.items()}
    for k, v in point.items():
        a, _, name = k.partition(".")
        if name:
            opts.setdefault(a, {})[name] = v
    return {k: v for k, v in point.items() if "." not in k}, opts


def _need(cond: bool, where: str, reason: str) -> None:
    if not cond:
        raise InputError(where, reason, "sweep")


def _scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


def _settings(value, where: str) -> dict:
    _need(isinstance(value, dict), where, "must be a mapping of generator settings")
    for k, v in value.items():
        _need(isinstance(k, str), where, f"setting names must be strings, got {k!r}")
        _need(_scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v)), f"{where}.{k}",
              "must be a number, a string or a list of them")
    return {k: numbers_from_text(v) for k, v in value.items()}


#: The most seeds and slots a spec may ask for (a sweep is tasks x slots solves; beyond these it would not
#: end, or its task list would not fit in memory).
MAX_SEEDS, MAX_SLOTS = 100_000, 100_000


def _seeds(value, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        _need(1 <= value <= MAX_SEEDS, where, f"must be in [1, {MAX_SEEDS}], got {value}")
        return list(range(value))
    _need(isinstance(value, list) and value, where, "must be a positive integer or a non-empty list of seeds")
    _need(len(value) <= MAX_SEEDS, where, f"at most {MAX_SEEDS} seeds, got {len(value)}")
    for i, s in enumerate(value):
        _need(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**63, f"{where}[{i}]",
              f"must be an integer in [0, 2**63), got {s!r}")
    _need(len(set(value)) == len(value), where, "has repeated seeds")
    return list(value)


def _points(raw: dict, where: str) -> list[dict]:
    _need(not ("vary" in raw and "points" in raw), where, "give either `vary` or `points`, not both")
    if "points" in raw:
        pts = raw["points"]
        _need(isinstance(pts, list) and pts, f"{where}points", "must be a non-empty list of mappings")
        out = [_settings(p, f"{where}points[{i}]") for i, p in enumerate(pts)]
    else:
        vary = _settings(raw.get("vary", {}), f"{where}vary")
        for k, v in vary.items():
            _need(isinstance(v, list) and v, f"{where}vary.{k}", "must be a non-empty list of values")
        out = [dict(zip(vary, combo)) for combo in itertools.product(*vary.values())]
    keys = [point_key(p) for p in out]
    _need(len(set(keys)) == len(keys), f"{where}points" if "points" in raw else f"{where}vary", "has repeated points")
    return out


def _user_generator(name: str, where: str):
    """The callable ``module:function`` named by a spec's ``generator`` (its module
    imported like a plugin, so sweep workers import it too)."""
    _need(isinstance(name, str) and name.count(":") == 1 and all(name.split(":")), where,
          f"must be `module:function`, got {name!r}")
    module, attr = name.split(":")
    fn = getattr(load_plugin(module, where), attr, None)
    _need(callable(fn), where, f"module {module!r} has no function {attr!r}")
    return fn


def make_instance(problem: str, seed: int, settings: dict, where: str = "spec.generator"):
    """The instance of ``settings`` (a point's, with the spec's) at ``seed``: drawn by
    the user generator the setting ``generator`` names, called as ``fn(settings, seed)``
    with the other settings, or else by the problem's own generator.

    Examples
    --------
    >>> make_instance("multicell", 0, {"devices": 3, "base_stations": 1}).N
    3
    >>> make_instance("multicell", 0, {"generator": "semalloc.channel:nope"})
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: sweep: spec.generator: module 'semalloc.channel' has no function 'nope'
    """
    if GENERATOR not in settings:
        return generate(problem, seed=seed, **settings)
    rest = {k: v for k, v in settings.items() if k != GENERATOR}
    fn = _user_generator(settings[GENERATOR], where)
    try:
        inst = fn(rest, seed)
    except InputError:
        raise
    except Exception as e:                              # noqa: BLE001 -- the user's generator, not semalloc
        raise InputError(where, f"{settings[GENERATOR]} raised {type(e).__name__}: {e}", "sweep") from None
    expected = get_problem(problem).instance_type
    _need(isinstance(inst, expected), where, f"{settings[GENERATOR]} returned {type(inst).__name__}, "
          f"not a {expected.__name__} ({problem} instance)")
    return inst


def _plugins(value) -> list[str]:
    _need(isinstance(value, list) and all(isinstance(m, str) and m.strip() for m in value), "spec.plugins",
          "must be a list of module names")
    return [m.strip() for m in value]


def parse_spec(raw: Any, quick: bool = False, check_generator: bool = True, stored: bool = False) -> SweepSpec:
    """Validate a spec mapping; with ``quick``, apply its ``quick`` overrides.

    The spec's ``plugins`` are imported first (:func:`semalloc.plugins.load_plugin`),
    so that their algorithms and problems are known. ``check_generator``
    draws the instance of every point at the first seed, so that an unknown
    or invalid generator setting is named before any work starts.

    ``stored``: the spec of a results store, read back to plot or export its
    rows, which need no code: its plugins are not imported, and its
    problem, algorithms and options are not checked against the registry
    (a store of a plugin's algorithm reads without the plugin).
    """
    _need(isinstance(raw, dict), "spec", "must be a mapping (YAML or JSON object)")
    for k in raw:
        _need(k in FIELDS, f"spec.{k}", f"unknown field; known: {', '.join(FIELDS)}")
    _need("problem" in raw, "spec.problem", "missing")
    _need("algorithms" in raw, "spec.algorithms", "missing")
    if not quick and not stored and "quick" in raw:           # its quick variant is checked up front too
        parse_spec(raw, quick=True, check_generator=check_generator)
    raw = dict(raw)
    if quick and "quick" in raw:
        q = raw["quick"]
        _need(isinstance(q, dict), "spec.quick", "must be a mapping")
        for k in q:
            _need(k in _QUICK, f"spec.quick.{k}", f"unknown field; known: {', '.join(_QUICK)}")
        if "vary" in q or "points" in q:
            raw.pop("vary", None), raw.pop("points", None)
        raw.update(q)
    if "generator" in raw:
        settings = raw.get("settings") or {}
        _need(isinstance(settings, dict) and GENERATOR not in settings, "spec.generator",
              "is given twice (also in spec.settings)")
        raw["settings"] = {**settings, GENERATOR: raw.pop("generator")}
    plugins = _plugins(raw.get("plugins", []))
    if not stored:
        for i, m in enumerate(plugins):
            load_plugin(m, f"spec.plugins[{i}]")
    _need(isinstance(raw["problem"], str), "spec.problem", "must be a problem key")
    try:
        prob = None if stored else get_problem(raw["problem"])
    except InputError as e:
        raise InputError("spec.problem", e.reason, "sweep") from None
    algos = raw["algorithms"]
    _need(isinstance(algos, list) and algos, "spec.algorithms", "must be a non-empty list")
    for i, a in enumerate(algos):
        _need(isinstance(a, str), f"spec.algorithms[{i}]", f"must be an algorithm name, got {a!r}")
        _need(stored or a in prob.algorithms, f"spec.algorithms[{i}]",
              f"unknown algorithm {a!r} for {raw['problem']}; known: {', '.join(prob.algorithms) if prob else ''}"
              + ("" if plugins else " (a plugin's algorithm? name its module in the spec's `plugins:`)"))
    _need(len(set(algos)) == len(algos), "spec.algorithms", "has repeated algorithms")
    options = raw.get("options") or {}
    _need(isinstance(options, dict), "spec.options", "must be a mapping: algorithm -> options")
    for a, opts in options.items():
        _need(a in algos, f"spec.options.{a}", "is not one of the spec's algorithms")
        _need(isinstance(opts, dict), f"spec.options.{a}", "must be a mapping of keyword options")
        if not stored:
            check_options(prob.key, a, opts, where=f"spec.options.{a}.")    # names, types and ranges
    plot = raw.get("plot") or {}
    _need(isinstance(plot, dict), "spec.plot", "must be a mapping")
    for k in plot:
        _need(k in PLOT_FIELDS, f"spec.plot.{k}", f"unknown field; known: {', '.join(PLOT_FIELDS)}")
    title = raw.get("title", "")
    _need(isinstance(title, str), "spec.title", "must be a string")
    slots = raw.get("slots", 1)
    _need(isinstance(slots, int) and not isinstance(slots, bool) and 1 <= slots <= MAX_SLOTS, "spec.slots",
          f"must be an integer in [1, {MAX_SLOTS}], got {slots!r}")
    if slots > 1 and not stored:
        _need(prob.episode is not None, "spec.slots", f"{prob.key} has no episodes (its instances are not slots)")
        _need(GENERATOR not in (raw.get("settings") or {}), "spec.slots", "episodes come from the problem's "
              "own generator, not a user generator")
    spec = SweepSpec(problem=raw["problem"], points=_points(raw, "spec."),
                     seeds=_seeds(raw.get("seeds", 1), "spec.seeds"), algorithms=list(algos),
                     settings=_settings(raw.get("settings", {}), "spec.settings"),
                     options={a: dict(o) for a, o in options.items()}, title=title, plot=dict(plot), plugins=plugins,
                     slots=slots)
    for p in spec.points:
        clash = set(p) & set(spec.settings)
        _need(not clash, f"spec.settings.{sorted(clash)[0]}" if clash else "spec", "is also varied")
        for k in p:
            a, _, name = k.partition(".")
            if name and not stored:                       # ALGORITHM.OPTION
                _need(a in algos, f"spec.vary.{k}", f"{a!r} is not one of the spec's algorithms")
                check_options(prob.key, a, {name: p[k]}, where=f"spec.vary.{a}.")
    if check_generator and not stored:
        for i, p in enumerate(spec.points):
            try:
                make_instance(spec.problem, spec.seeds[0], {**spec.settings, **split_point(p, {})[0]})
            except InputError as e:
                where = f"spec.points[{i}]" if "points" in raw else "spec"
                raise InputError(f"{where}: {e.field}", e.reason, "sweep") from None
    return spec


def shipped_specs() -> dict[str, Path]:
    """The shipped specs, by name (file name without ``.yaml``), sorted.

    Examples
    --------
    >>> specs = shipped_specs()
    >>> "multicell-fig6" in specs, specs["multicell-fig6"].suffix
    (True, '.yaml')
    """
    return {p.stem: p for p in sorted(SPECS_DIR.glob("*.yaml"))}


def find_spec(name_or_path: str | Path) -> Path:
    """A spec file: ``name_or_path`` if it is a file, else the shipped spec of that name.

    Unknown names are an :class:`InputError` that points at ``semalloc specs``.
    """
    path = Path(name_or_path)
    if path.exists():                          # a file, or something load_spec refuses by name
        return path
    shipped = shipped_specs()
    name = path.name[:-5] if path.name.endswith(".yaml") else path.name
    if str(path) in (name, f"{name}.yaml") and name in shipped:
        return shipped[name]
    raise InputError(str(name_or_path), "spec file not found, nor a shipped spec (list them: semalloc specs)",
                     "sweep")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key repeated in one mapping (YAML and
    JSON would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)):
                continue
            if key in seen:
                raise InputError(f"spec: {key}", f"appears twice in one mapping (line {key_node.start_mark.line + 1})",
                                 "sweep")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_spec(path: str | Path, quick: bool = False) -> SweepSpec:
    """Read and validate a spec file (YAML or JSON)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(str(path), "spec file not found", "sweep") from None
    except (IsADirectoryError, UnicodeDecodeError):
        raise InputError(str(path), "not a text file", "sweep") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise InputError(str(path), f"not valid YAML{f' (line {line + 1})' if line is not None else ''}",
                         "sweep") from None
    except RecursionError:
        raise InputError(str(path), "nested too deeply to read", "sweep") from None
    return parse_spec(raw, quick=quick)
