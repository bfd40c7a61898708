"""Reproduce a paper's figures from the sweep specs shipped in ``specs/``.

Each figure is a spec ``specs/<key>-fig<N>.yaml`` (also reachable as
``examples/specs/`` in a checkout). ``reproduce`` runs it into a results
store named after the spec's hash under ``out/`` (so a rerun resumes, and a
changed spec starts a new file), then draws the figure.

Examples
--------
>>> from semalloc.experiments.reproduce import figures
>>> sorted(figures("multicell"))
[2, 3, 4, 5, 6, 7, 8]
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..solve import get_problem, list_problems
from .analysis import as_measures, failures, plot_request, plot_sweep, summarise
from .runner import SweepReport, run_sweep
from .spec import PLOT_FIELDS, SPECS_DIR, SweepSpec, load_spec
from .store import ResultsStore

__all__ = ["SPECS_DIR", "figures", "reproduce", "Reproduction", "plot_spec", "plot_options", "highlighted",
           "check_plot", "summaries", "plotted_measures"]

#: Figures that are not an optimisation sweep (no spec can express them), drawn
#: by ``function(out, quick, progress) -> (image, title, summary)``:
#: problem key -> figure number -> ``"module:function"``.
DRAWN = {"compression": {3: "semalloc.learn.tcm:figure3"}, "sbq": {3: "semalloc.rl.curves:figure3"}}


def figures(key: str) -> dict[int, Path]:
    """The shipped figure specs of problem ``key``: number -> path."""
    get_problem(key)
    out = {}
    for path in SPECS_DIR.glob(f"{key}-fig*.yaml"):
        m = re.fullmatch(rf"{re.escape(key)}-fig(\d+)\.yaml", path.name)
        if m:
            out[int(m.group(1))] = path
    return dict(sorted(out.items()))


@dataclass
class Reproduction:
    """One reproduced figure: its spec, the run, the summary and the files written
    (``spec`` and ``report`` are None for a figure in :data:`DRAWN`)."""

    key: str
    figure: int
    spec: SweepSpec | None
    report: SweepReport | None
    summary: list[dict]
    image: Path
    title: str = ""
    #: :func:`~semalloc.experiments.analysis.failures` of the sweep's rows (none for a figure in :data:`DRAWN`)
    failures: tuple = ()


def highlighted(spec: SweepSpec) -> str:
    """The algorithm a figure highlights: ``plot.proposed``, else the problem's
    proposed algorithm if the spec runs it, else the spec's first algorithm."""
    own = get_problem(spec.problem).proposed
    return spec.plot.get("proposed") or (own if own in spec.algorithms else spec.algorithms[0])


def plot_options(spec: SweepSpec, **overrides) -> dict:
    """The :func:`~semalloc.experiments.analysis.draw_sweep` options of ``spec.plot``, with
    ``overrides`` (``None`` = the spec's); see :func:`highlighted` for the highlighted line.
    An overridden ``y`` drops the spec's ``ylabel`` and ``band`` (they concern the spec's measures);
    an overridden ``x`` drops ``xlabel`` and ``xunit``."""
    given = {k: v for k, v in overrides.items() if v is not None}
    dropped = {"ylabel", "band"} if "y" in given else set()
    dropped |= {"xlabel", "xunit"} if "x" in given else set()
    opts = {**{k: v for k, v in spec.plot.items() if k not in dropped}, **given}
    return {**opts, "proposed": highlighted(spec), "title": spec.title, "algorithms": spec.algorithms,
            "points": spec.points, "problem": spec.problem}


def check_plot(spec: SweepSpec) -> None:
    """Refuse (:class:`InputError` naming ``plot.FIELD``) plot options that no results could make right
    (``x``, ``kind``, ``logx``, ``names``, ``xunit``, ``series``, ``proposed``, ...), before a sweep runs: the
    options are tried on one placeholder row per point and algorithm. The measures (``y``, ``band``,
    ``ylabel``) name a problem's metrics, which only results carry: they are checked when drawn."""
    plotted_measures(spec)
    rows = [{"point": dict(p), "seed": spec.seeds[0], "algorithm": a, "objective": 1.0, "feasible": True,
             "time_s": 0.0, "status": "feasible", "metrics": {}, "trace": [1.0, 1.0]}
            for p in spec.points for a in spec.algorithms]
    later = {"y", "band", "ylabel"}
    try:
        plot_request(rows, **{k: v for k, v in plot_options(spec).items() if k not in later})
    except InputError as e:
        raise e.renamed({k: f"spec.plot.{k}" for k in PLOT_FIELDS}) from None


def plotted_measures(spec: SweepSpec) -> list[str]:
    """The measures the spec's figure plots: ``plot.y`` as a list (``objective`` when it names none); an
    :class:`InputError` naming ``plot.y`` unless it is a measure's name or a non-empty list of them."""
    try:
        return as_measures(spec.plot.get("y", "objective"))
    except InputError as e:
        raise InputError("plot.y", e.reason, spec.problem) from None


def summaries(spec: SweepSpec, rows: list[dict], unknown: list | None = None) -> list[dict]:
    """:func:`~semalloc.experiments.analysis.summarise` of ``rows`` for the objective and then each other
    measure the spec's figure plots (:func:`plotted_measures`), so that the tables say what the figure shows
    and keep the objective's gap to ``exact``. A measure no row carries is an :class:`InputError` naming
    ``plot.y``, or, given a list ``unknown``, skipped and its error appended there."""
    sense = get_problem(spec.problem).sense
    out = []
    for y in dict.fromkeys(["objective", *plotted_measures(spec)]):
        try:
            out += summarise(rows, spec.points, spec.algorithms, sense, y)
        except InputError as e:
            if unknown is None:
                raise e.renamed({"y": "plot.y"}) from None
            unknown.append(e.renamed({"y": "plot.y"}))
    return out


def plot_spec(spec: SweepSpec, rows: list[dict], path: str | Path, **overrides) -> Path:
    """Draw ``rows`` as ``spec.plot`` says (:func:`plot_options`) and write the figure to ``path``.
    A bad option is an :class:`InputError` naming the spec's field (``plot.x``) unless an override gave it."""
    given = {k for k, v in overrides.items() if v is not None}
    try:
        return plot_sweep(rows, path, **plot_options(spec, **overrides))
    except InputError as e:
        raise e.renamed({k: f"plot.{k}" for k in PLOT_FIELDS if k not in given}) from None


def reproduce(key: str, figure: int | None = None, quick: bool = False, out: str | Path = "out",
              workers: int = 1, progress: bool = True, fmt: str = ".png", retrain: bool = False) -> list[Reproduction]:
    """Run the shipped spec of each figure of ``key`` (``"all"``: every problem), write its figure.

    ``quick`` applies each spec's ``quick`` overrides (fewer seeds and points).
    ``retrain``: sbq's ``drl`` uses an agent trained afresh into ``out/agents``
    (:func:`semalloc.rl.training.retrained`) instead of the shipped one.
    """
    keys = [k for k in list_problems() if figures(k) or DRAWN.get(k)] if key == "all" else [key]
    done = []
    for k in keys:
        figs = dict(sorted({**figures(k), **DRAWN.get(k, {})}.items()))
        if figure is not None and figure not in figs:
            raise InputError("--figure", f"{k} has figures {sorted(figs) or 'none yet'}, not {figure}", k)
        for num, path in figs.items():
            if figure is not None and num != figure:
                continue
            if isinstance(path, str):                     # drawn by a function
                module, fn = path.split(":")
                try:
                    image, title, summary = getattr(importlib.import_module(module), fn)(
                        Path(out), quick=quick, progress=progress)
                except ImportError as e:
                    raise InputError("--figure", f"{k} figure {num}: {e}", k) from None
                done.append(Reproduction(k, num, None, None, summary, image, title))
                continue
            spec = load_spec(path, quick=quick)
            if retrain and "drl" in spec.algorithms:
                from ..rl.training import retrained
                spec.options = {**spec.options, "drl": {**spec.options.get("drl", {}), "agent": str(retrained(out))}}
            stem = f"{k}-fig{num}{'-quick' if quick else ''}"
            report = run_sweep(spec, Path(out) / f"{stem}-{spec.hash}.db", workers=workers, progress=progress)
            with ResultsStore.open(report.path) as store:
                rows = store.rows(spec)
            image = plot_spec(spec, rows, Path(out) / f"{stem}{fmt}")
            done.append(Reproduction(k, num, spec, report, summaries(spec, rows), image,
                                     f"{spec.title}: {len(spec.seeds)} seeds", tuple(failures(rows))))
    return done
