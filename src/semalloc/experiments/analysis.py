"""Summaries, figures and exports of sweep results (rows of a results store).

Examples
--------
>>> from semalloc.experiments.analysis import summarise
>>> rows = [{"point": {"devices": 3}, "seed": s, "algorithm": "prop", "objective": v, "feasible": True,
...          "time_s": 0.1, "status": "feasible"} for s, v in enumerate([1.0, 2.0, 3.0])]
>>> s = summarise(rows)[0]
>>> s["mean"], s["n"], round(s["ci95"], 4)          # t-interval: t(0.975, 2) = 4.3027 times 1 / sqrt(3)
(2.0, 3, 2.4841)
"""
from __future__ import annotations

import csv
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as st

from ..errors import InputError
from ..result import ERROR, REJECTED
from .style import BAR_HATCHES, RC, VALUES, Axis, axis, display_name, line_styles, measure_label

__all__ = ["summarise", "as_measures", "failed", "failures", "check_figure_path", "relative_gap", "measure", "mean_trace", "PlotRequest", "Cell",
           "plot_request", "draw_request", "draw_sweep", "plot_sweep", "export_rows", "EXPORT_FORMATS",
           "FIGURE_FORMATS", "PLOT_KINDS"]

EXPORT_FORMATS = (".csv", ".parquet")
PLOT_KINDS = ("line", "bars", "trace")
FIGURE_FORMATS = (".png", ".pdf", ".svg")


def _ci95(values: np.ndarray) -> np.ndarray:
    """Half-width of the 95 % Student-t interval of the mean over axis 0 (NaN below two values)."""
    n = len(values)
    if n < 2:
        return np.full(np.shape(values)[1:], np.nan)
    return st.t.ppf(0.975, n - 1) * np.std(values, axis=0, ddof=1) / np.sqrt(n)


def mean_trace(traces: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, least and largest value per iteration of runs' traces; a run that
    stopped early is held at its last value.

    Examples
    --------
    >>> m, lo, hi = mean_trace([[1.0, 2.0, 3.0], [1.0, 4.0]])
    >>> m.tolist(), lo.tolist(), hi.tolist()
    ([1.0, 3.0, 3.5], [1.0, 2.0, 3.0], [1.0, 4.0, 4.0])
    """
    L = max(len(t) for t in traces)
    padded = np.array([list(t) + [t[-1]] * (L - len(t)) for t in traces], dtype=float)
    return padded.mean(axis=0), padded.min(axis=0), padded.max(axis=0)


def relative_gap(objective, reference, sense: str = "max"):
    """How much worse ``objective`` is than ``reference`` (the optimum), relative to it:
    ``(ref - obj) / |ref|`` for a maximisation, ``(obj - ref) / |ref|`` for a minimisation,
    so that a positive gap is always worse. NaN where ``reference`` is 0 or not finite.

    Examples
    --------
    >>> relative_gap(9.0, 10.0, "max"), relative_gap(11.0, 10.0, "min"), relative_gap(9.0, 10.0, "min")
    (0.1, 0.1, -0.1)
    """
    if sense not in ("max", "min"):
        raise ValueError(f"sense must be 'max' or 'min', got {sense!r}")
    obj, ref = np.asarray(objective, dtype=float), np.asarray(reference, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where((ref != 0) & np.isfinite(ref), (ref - obj) / np.abs(ref), np.nan)
    g = (g if sense == "max" else -g) + 0.0           # + 0.0: an equal objective's gap is 0, not -0
    return float(g) if g.ndim == 0 else g


def _key(point: dict) -> tuple:
    return tuple(sorted(point.items()))


def failed(row: dict) -> bool:
    """A stored run that failed to run (status ``error``, but for an allocation ``evaluate`` rejected,
    :data:`~semalloc.result.REJECTED`, which is a run without a feasible allocation): the algorithm raised or
    refused the instance (``exact`` beyond its size, an agent beyond the users it was trained for)."""
    return row.get("status") == ERROR and not (row.get("message") or "").startswith(REJECTED)


def failures(rows: list[dict]) -> list[str]:
    """One line per algorithm and message of the sweep's failed runs (:func:`failed`): how many, where
    first, and why (the runs are stored, with their message, and drawn as ``o``).

    >>> failures([{"algorithm": "dqn", "status": "error", "point": {"users": 9}, "seed": 0,
    ...             "message": "InputError: users: 9 > 6"}])
    ['dqn failed 1 run (first at users=9, seed 0): InputError: users: 9 > 6']
    """
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if failed(r):
            groups.setdefault((r["algorithm"], r.get("message") or ""), []).append(r)
    lines = []
    for (name, message), rs in groups.items():
        first = ", ".join(f"{k}={v}" for k, v in rs[0]["point"].items()) or "the default"
        lines.append(f"{name} failed {len(rs)} run{'s' if len(rs) > 1 else ''} (first at {first}, seed "
                     f"{rs[0]['seed']}): {message}")
    return lines


def summarise(rows: list[dict], points: list[dict] | None = None, algorithms: list[str] | None = None,
              sense: str = "max", y: str = "objective") -> list[dict]:
    """Per (point, algorithm): runs ``n``, ``feasible`` runs, ``failed`` ones (:func:`failed`: the
    algorithm raised or refused the instance) and ``infeasible`` ones (it ran and gave no feasible
    allocation: ``n - feasible - failed``), mean of measure ``y`` (:func:`measure`; the objective by
    default) over the feasible runs with its 95 % t-interval half-width ``ci95`` and the range
    ``min``-``max`` of the runs, the mean time ``time_s`` of the runs that ran (not the failed ones: a
    refusal takes no time; NaN when every run failed), and, for the objective, the mean relative gap to
    ``exact`` over the seeds where both ran (:func:`relative_gap`, by the
    problem's ``sense``: positive is worse than the optimum; NaN for another measure). Each row
    names its ``measure``.

    Ordered as ``points`` and ``algorithms`` (a spec's), else as first seen.
    """
    rows = measure(rows, y)
    groups: dict[tuple, list[dict]] = {}
    order: list[tuple] = []
    for r in rows:
        k = (_key(r["point"]), r["algorithm"])
        if k not in groups:
            order.append(k)
        groups.setdefault(k, []).append(r)
    exact = {(_key(r["point"]), r["seed"]): r["objective"] for r in rows
             if r["algorithm"] == "exact" and r["feasible"] and y == "objective"}
    p_rank = {_key(p): i for i, p in enumerate(points or [])}
    a_rank = {a: i for i, a in enumerate(algorithms or [])}
    order.sort(key=lambda k: (p_rank.get(k[0], len(p_rank)), a_rank.get(k[1], len(a_rank))))
    out = []
    for k in order:
        rs = groups[k]
        obj = np.array([r["objective"] for r in rs if r["feasible"]], dtype=float)
        n = len(obj)
        half = float(_ci95(obj))
        gaps = [relative_gap(r["objective"], exact[(k[0], r["seed"])], sense) for r in rs
                if r["feasible"] and exact.get((k[0], r["seed"]), 0) != 0]
        not_run = sum(map(failed, rs))
        out.append({"point": dict(k[0]), "algorithm": k[1], "measure": y, "n": len(rs), "feasible": n,
                    "infeasible": len(rs) - n - not_run, "failed": not_run,
                    "mean": float(obj.mean()) if n else float("nan"), "ci95": half,
                    "min": float(obj.min()) if n else float("nan"), "max": float(obj.max()) if n else float("nan"),
                    "gap": float(np.mean(gaps)) if gaps else float("nan"),
                    "time_s": float(np.mean(ran)) if (ran := [r["time_s"] for r in rs if not failed(r)])
                    else float("nan")})
    return out


def as_measures(y) -> list[str]:
    """Option ``y`` as a list of measures: a measure's name or a non-empty list of them, else an
    :class:`InputError` naming ``y``.

    >>> as_measures("energy_j"), as_measures(["objective", "energy_j"])
    (['energy_j'], ['objective', 'energy_j'])
    """
    ys = [y] if isinstance(y, str) else y
    if not isinstance(ys, (list, tuple)) or not ys or not all(isinstance(m, str) and m for m in ys):
        raise InputError("y", f"must be a measure's name or a non-empty list of them, got {y!r}")
    return list(ys)


def measure(rows: list[dict], y: str) -> list[dict]:
    """The rows with ``objective`` replaced by measure ``y``: ``objective``,
    ``time_s`` or one of the problem's metrics (a row without it counts as
    not feasible). Unknown ``y`` is an :class:`InputError` naming the known ones.

    Examples
    --------
    >>> rows = [{"objective": 3.0, "feasible": True, "time_s": 0.5, "metrics": {"energy_j": 2.0}}]
    >>> measure(rows, "energy_j")[0]["objective"], measure(rows, "time_s")[0]["objective"]
    (2.0, 0.5)
    """
    known = ["objective", "time_s", *dict.fromkeys(k for r in rows for k in r.get("metrics") or {})]
    if y not in known:
        raise InputError("y", f"unknown measure {y!r}; known: {', '.join(known)}")
    if y == "objective":
        return rows
    if y == "time_s":
        return [dict(r, objective=r["time_s"]) for r in rows]
    return [dict(r, objective=(r.get("metrics") or {}).get(y, float("nan")),
                 feasible=r["feasible"] and y in (r.get("metrics") or {})) for r in rows]


def _label(point: dict, skip=(), problem: str | None = None) -> str:
    """A point as its settings' display names and values (``number of devices = 30``; a word the paper's
    name for it, :data:`~semalloc.experiments.style.VALUES`: ``utility = concave, $u = A$``)."""
    parts = []
    for k, v in point.items():
        if k in skip:
            continue
        ax_ = axis(k, problem)
        shown = (f"{float(ax_.convert(v)):g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else VALUES.get(k, {}).get(v, v))
        parts.append(f"{ax_.name} = {shown}{' ' + ax_.unit if ax_.unit else ''}")
    return ", ".join(parts) or "default"


def _band_zorder(algorithm: str, style: dict) -> float:
    """A line's shading just under it, but never over another line: ``exact``'s line is drawn over every
    line (:func:`~semalloc.experiments.style.line_styles`), its shading under them all."""
    return 1.5 if algorithm == "exact" else style["zorder"] - 0.5


def _mark_infeasible(ax, summ: list[dict], x: str, styles: dict, convert) -> set[str]:
    """Show where runs gave no allocation (their mean is over the feasible runs only, or missing): at a
    point with none feasible a mark on the x axis itself (not at a value: half of it below the axis),
    ``x`` where some run found no feasible allocation and ``o`` where every run failed (the algorithm
    raised or refused: not a verdict on the instance), and beside every such point the count ``k/n`` of
    runs without one (``k/n failed`` when all of those failed). ``convert`` maps a setting's value to the
    axis's display unit. Several algorithms without a feasible run at one point put their marks side by
    side on the axis (8 points apart, centred on the point) and their counts one above the other, and the
    count of a partly infeasible algorithm at such a point joins that column (at its mean it would
    land on the marks when the mean is near the axis). The
    artists carry ``gid="infeasible"``; returns the kinds of mark drawn (``infeasible``, ``failed``), which
    the legend explains (:func:`_legend_key`)."""
    from matplotlib.transforms import offset_copy
    foot = ax.get_xaxis_transform()                        # x in data, y in axes units
    marks = set()
    shown = [s for s in summ if s["infeasible"] + s.get("failed", 0) and s["algorithm"] in styles]
    xs = [float(convert(s["point"][x])) for s in shown]
    column: dict[float, list[str]] = {}                    # at each x: the axis marks' algorithms, then the rest
    for j in sorted(range(len(shown)), key=lambda j: shown[j]["feasible"] > 0):
        column.setdefault(xs[j], []).append(shown[j]["algorithm"])
    on_axis = {xv: sum(not s["feasible"] for s, v in zip(shown, xs) if v == xv) for xv in column}
    for s, xv in zip(shown, xs):
        missing, only_failed = s["infeasible"] + s.get("failed", 0), not s["infeasible"]
        c, n = styles[s["algorithm"]]["color"], on_axis[xv]
        note = f"{missing}/{s['n']}{' failed' if only_failed else ''}"
        if not n:                                          # no mark on the axis here: the count at the mean
            ax.annotate(note, (xv, s["mean"]), xytext=(3, -9), textcoords="offset points", fontsize=7, color=c,
                        gid="infeasible")
        else:
            i = column[xv].index(s["algorithm"])
            if not s["feasible"]:
                ax.plot([xv], [0.0], marker="o" if only_failed else "x", ms=7, mew=2, color=c, clip_on=False,
                        transform=offset_copy(foot, ax.figure, x=8.0 * (i - (n - 1) / 2), units="points"),
                        gid="infeasible", zorder=10, **({"mfc": "none"} if only_failed else {}))
            ax.annotate(note, (xv, 0.0), xycoords=foot, xytext=(4 * n + 1, 4 + 9 * i), textcoords="offset points",
                        fontsize=7, color=c, gid="infeasible", zorder=11,      # over the lines, on a white ground
                        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
        marks.add("failed" if only_failed else "infeasible")
    return marks


def _legend_key(req: PlotRequest, marks: set[str]) -> list:
    """The legend's entries beyond the algorithms: what the shading is (the range over the seeds' runs,
    or a ``band``'s two measures) and what the marks of :func:`_mark_infeasible` mean."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    seeds = len({r["seed"] for r in req.rows})
    runs = f"least to largest of {seeds} seed{'s' if seeds != 1 else ''}"
    out = []
    if req.kind == "bars":
        out.append(Line2D([], [], color="black", marker="|", ls="none", ms=9, mew=0.8, label=f"error bars: {runs}"))
    else:
        if any(m not in (req.band or {}) for c in req.cells for m in c.measures):
            out.append(Patch(color="0.5", alpha=0.25, lw=0, label=f"shaded: {runs}"))
        for lo, hi in (req.band or {}).values():
            out.append(Patch(color="0.5", alpha=0.25, lw=0,
                             label=f"shaded: {measure_label(lo)} to {measure_label(hi)}, means over seeds"))
    say = {"infeasible": ("x", "no feasible allocation (k/n: runs without one)"),
           "failed": ("o", "every run failed (k/n failed)")}
    for m in sorted(marks, reverse=True):
        marker, label = say[m]
        out.append(Line2D([], [], color="0.3", ls="none", marker=marker, ms=7, mew=2, label=label,
                          **({"mfc": "none"} if marker == "o" else {})))
    return out


class Cell(NamedTuple):
    """One panel of a figure: the ``measures`` it draws (one, or the groups of grouped bars),
    its y label (None: the measure's) and the value of the ``panels`` setting (None: no panels)."""

    measures: tuple[str, ...]
    ylabel: str | None
    value: Any


@dataclass(frozen=True)
class PlotRequest:
    """A validated figure request (:func:`plot_request`): what :func:`draw_request` draws.

    ``rows`` are the runs to draw (with ``series``, one per algorithm and value, folded
    into the algorithm's name), ``drawn`` them per measure (:func:`measure`); ``kind``
    one of :data:`PLOT_KINDS`; ``x`` the setting on the x axis and ``xaxis`` its style
    (None for bars without one); ``algorithms`` in legend order with their ``labels``
    and ``styles``; ``cells`` one per panel; ``bounds`` per banded measure its two
    band measures' means per (algorithm, x); ``grouped``: bars grouped by measure;
    ``legend``: whether the figure has one; ``band``: the ``band`` option (measure -> its two measures).
    """

    kind: str
    rows: list[dict]
    drawn: dict[str, list[dict]]
    x: str | None
    xaxis: Axis | None
    algorithms: tuple[str, ...]
    labels: dict[str, str]
    styles: dict[str, dict]
    proposed: str | None
    points: list[dict] | None
    panels: str | None
    cells: tuple[Cell, ...]
    bounds: dict[str, list[dict]]
    grouped: bool
    legend: bool
    logx: bool = False
    logy: bool = False
    title: str = ""
    problem: str | None = None
    band: dict | None = None

    def summary(self, m: str, value: Any) -> list[dict]:
        """:func:`summarise` of measure ``m`` in the panel of ``value``."""
        rows = [r for r in self.drawn[m] if self.panels is None or r["point"].get(self.panels) == value]
        return summarise(rows, self.points, list(self.algorithms))


def plot_request(rows: list[dict], x: str | None = None, y: str | list[str] = "objective",
                 kind: str | None = None, logx: bool = False, logy: bool = False, title: str = "",
                 panels: str | None = None, proposed: str | None = None, algorithms: list[str] | None = None,
                 points: list[dict] | None = None, ylabel: str | list[str] | None = None,
                 problem: str | None = None, xlabel: str | None = None, xunit: str | None = None,
                 names: dict | None = None, band: dict | None = None, series: str | None = None) -> PlotRequest:
    """Check a figure's options against ``rows`` once: a :class:`PlotRequest`, or an
    :class:`InputError` naming the option (``x``, ``y``, ``kind``, ...; the command
    line and :func:`~semalloc.experiments.reproduce.plot_spec` say which flag or
    spec field gave it). The options are :func:`draw_sweep`'s.

    Examples
    --------
    >>> rows = [{"point": {"devices": n}, "seed": s, "algorithm": "prop", "objective": float(n + s),
    ...          "feasible": True, "time_s": 0.1, "status": "feasible"} for n in (3, 6) for s in (0, 1)]
    >>> req = plot_request(rows, problem="multicell")
    >>> req.kind, req.x, req.xaxis.label, req.cells
    ('line', 'devices', 'number of devices', (Cell(measures=('objective',), ylabel=None, value=None),))
    >>> plot_request(rows, x="power")
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: x: 'power' is not a varied setting; varied: devices
    """
    if not rows:
        raise InputError("rows", "no results to plot yet")
    for flag, value in (("logx", logx), ("logy", logy)):
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(flag, f"must be true or false, got {value!r}")
    known = list(dict.fromkeys([*(algorithms or []), *(r["algorithm"] for r in rows)]))
    if proposed is not None and proposed not in known:
        raise InputError("proposed", f"{proposed!r} is not one of the algorithms: {', '.join(known)}")
    if names is not None and not (isinstance(names, dict) and all(isinstance(v, str) for v in names.values())):
        raise InputError("names", "must be a mapping: algorithm -> label")
    if series is not None:                            # a line per (algorithm, value): fold it into the name
        if any(series not in r["point"] for r in rows):
            raise InputError("series", f"{series!r} is not a varied setting")
        one = len({r["algorithm"] for r in rows}) == 1
        name = lambda a, v: f"{'' if one else display_name(a, problem, names) + ', '}" \
                            f"{_label({series: v}, problem=problem)}"        # in the setting's display unit
        values = list(dict.fromkeys([p[series] for p in points or [] if series in p]
                                    + [r["point"][series] for r in rows]))
        algorithms = [name(a, v) for a in dict.fromkeys([*(algorithms or []), *(r["algorithm"] for r in rows)])
                      for v in values]
        rows = [dict(r, algorithm=name(r["algorithm"], r["point"][series]),
                     point={k: v for k, v in r["point"].items() if k != series}) for r in rows]
        points = list({json.dumps(p, sort_keys=True): p for p in
                       ({k: v for k, v in q.items() if k != series} for q in points or [])}.values())
        proposed = None
    ys = as_measures(y)
    drawn = {m: measure(rows, m) for m in ys}
    varied = sorted({k for r in rows for k in r["point"]})
    if x is not None and x not in varied:
        raise InputError("x", f"{x!r} is not a varied setting; varied: {', '.join(varied) or 'none'}")
    if panels is not None and panels not in varied:
        raise InputError("panels", f"{panels!r} is not a varied setting; varied: {', '.join(varied) or 'none'}")
    if x is None:
        numeric = [k for k in varied if k != panels and all(isinstance(r["point"].get(k), (int, float))
                                                             for r in rows)]
        x = numeric[0] if numeric else None
    kind = kind or ("line" if x is not None else "bars")
    if kind not in PLOT_KINDS:
        raise InputError("kind", f"must be one of {', '.join(PLOT_KINDS)}, got {kind!r}")
    if kind == "line" and x is None:
        raise InputError("kind", "lines need a numeric varied setting on the x axis (not the panels'); none is")
    try:
        xaxis = axis(x, problem, xlabel, xunit) if x is not None else None
    except InputError as e:
        raise InputError("xunit", e.reason) from None
    grouped = kind == "bars" and len(ys) > 1          # one group of bars per measure
    if (grouped or kind == "trace") and len({_label(r["point"], skip=(panels,)) for r in rows}) > 1:
        raise InputError("kind" if kind == "trace" else "y",
                         f"{'traces' if kind == 'trace' else 'bars of several measures'} need one point per panel")
    if kind == "trace" and not any(r.get("trace") for r in rows):
        raise InputError("kind", "no run recorded a trace (its algorithms report none)")
    if grouped:
        labels_y = [ylabel if isinstance(ylabel, str) else None]
    else:
        labels_y = ylabel if isinstance(ylabel, list) else [ylabel] * len(ys)
        if len(labels_y) != len(ys):
            raise InputError("ylabel", "give one ylabel per measure")
        if len(ys) > 1 and panels is not None:
            raise InputError("panels", "cannot split lines into panels when several measures are drawn")
    algos = list(dict.fromkeys([a for a in algorithms or [] if any(r["algorithm"] == a for r in rows)]
                               + [r["algorithm"] for r in rows]))
    band = band or {}
    if band and panels is not None:
        raise InputError("band", "cannot shade bands when lines are split into panels")
    for m, pair in band.items():
        if m not in ys or not isinstance(pair, list) or len(pair) != 2:
            raise InputError("band", f"{m!r} must be a drawn measure -> [low, high] measures")
    try:
        bounds = {m: [{(s["algorithm"], s["point"].get(x)): s["mean"] for s in summarise(measure(rows, b))}
                      for b in pair] for m, pair in band.items()}
    except InputError as e:
        raise InputError("band", e.reason) from None
    present = list(dict.fromkeys(r["point"].get(panels) for r in rows))
    pvals = [v for v in dict.fromkeys([p.get(panels) for p in points or []] + present) if v in present] \
        if panels else [None]
    measures = [tuple(ys)] if grouped else [(m,) for m in ys]
    cells = tuple(Cell(ms, lab, pv) for ms, lab in zip(measures, labels_y) for pv in pvals)
    legend = kind in ("line", "trace") or grouped or len({_label(r["point"], skip=(panels,)) for r in rows}) > 1
    return PlotRequest(kind=kind, rows=rows, drawn=drawn, x=x, xaxis=xaxis, algorithms=tuple(algos),
                       labels={a: display_name(a, problem, names) for a in algos},
                       styles=line_styles(algos, proposed, problem), proposed=proposed, points=points, panels=panels,
                       cells=cells, bounds=bounds, grouped=grouped, legend=legend, logx=bool(logx),
                       logy=bool(logy), title=title, problem=problem, band=band)


def _draw_trace(ax, req: PlotRequest, cell: Cell) -> set[str]:
    """The mean per iteration of each algorithm's runs' traces, the least to the largest run shaded."""
    for a in req.algorithms:
        traces = [r["trace"] for r in req.rows if r["algorithm"] == a and r["feasible"] and r.get("trace")
                  and (req.panels is None or r["point"].get(req.panels) == cell.value)]
        if not traces:
            continue
        mean, lo, hi = mean_trace(traces)
        its = np.arange(len(mean))
        style = req.styles[a]
        ax.plot(its, mean, label=req.labels[a], **{**style, "markersize": 3})
        ax.fill_between(its, lo, hi, color=style["color"], alpha=0.08, lw=0, zorder=_band_zorder(a, style))
    ax.set_xlabel("iteration")
    return set()


def _draw_line(ax, req: PlotRequest, cell: Cell) -> set[str]:
    """The mean over seeds per algorithm over ``x``, shaded the least to the largest run (or the band)."""
    from matplotlib.ticker import MaxNLocator, NullFormatter

    m = cell.measures[0]
    summ = req.summary(m, cell.value)
    x, xaxis = req.x, req.xaxis
    for a in req.algorithms:
        pts = sorted(((s["point"][x], s["mean"], s["min"], s["max"]) for s in summ if s["algorithm"] == a),
                     key=lambda t: t[0])
        if not pts:
            continue
        xs, ms, lo, hi = (np.array(v, dtype=float) for v in zip(*pts))
        if m in req.bounds:                                        # the band's two measures
            lo, hi = (np.array([b.get((a, v), np.nan) for v in xs]) for b in req.bounds[m])
        xs = xaxis.convert(xs)
        style = req.styles[a]
        ax.plot(xs, ms, label=req.labels[a], **style)
        ax.fill_between(xs, lo, hi, color=style["color"], alpha=0.08, lw=0,
                        zorder=_band_zorder(a, style))                # else the range over seeds
    marks = _mark_infeasible(ax, summ, x, req.styles, xaxis.convert)
    ax.set_xlabel(xaxis.label)
    if all(isinstance(r["point"].get(x), (int, np.integer)) and not isinstance(r["point"].get(x), bool)
           for r in req.rows):                    # a count (users, terminals): whole-number ticks
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    if req.logx and not xaxis.logarithmic:        # a dB axis is already logarithmic
        ax.set_xlabel(f"{xaxis.label} (log scale)")
        ax.set_xscale("log")              # ticks at the swept values, plain numbers, no minor labels
        ticks = np.unique(xaxis.convert([p[x] for p in (req.points or [r["point"] for r in req.rows]) if x in p]))
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    return marks


def _draw_bars(ax, req: PlotRequest, cell: Cell) -> set[str]:
    """A group of bars per point (or, grouped, per measure), error bars the least to the largest run."""
    algos, panels = req.algorithms, req.panels
    summs = {m: req.summary(m, cell.value) for m in cell.measures}
    if req.grouped:                                    # groups: the measures
        labels = list(cell.measures)
        table = {m: {s["algorithm"]: s for s in summs[m]} for m in cell.measures}
        shown = [measure_label(m) for m in cell.measures]
    else:                                              # groups: the points
        summ = summs[cell.measures[0]]
        labels = list(dict.fromkeys(_label(s["point"], (panels,), req.problem) for s in summ))
        table = {l: {s["algorithm"]: s for s in summ if _label(s["point"], (panels,), req.problem) == l}
                 for l in labels}
        shown = labels
    single = len(labels) == 1                          # one group: the algorithms label the bars
    width = 0.8 if single else 0.8 / max(len(algos), 1)
    for i, a in enumerate(algos):
        by = {l: table[l][a] for l in labels if a in table[l]}
        ms = [by[l]["mean"] if l in by else np.nan for l in labels]
        spread = np.nan_to_num([[by[l]["mean"] - by[l]["min"], by[l]["max"] - by[l]["mean"]]
                                if l in by else [0.0, 0.0] for l in labels]).T   # the range over seeds
        at = np.array([i]) if single else np.arange(len(labels)) + (i - (len(algos) - 1) / 2) * width
        ax.bar(at, ms, width, yerr=spread, capsize=2, label=req.labels[a], color=req.styles[a]["color"],
               hatch=None if a == req.proposed else BAR_HATCHES[i % len(BAR_HATCHES)],
               edgecolor="black", linewidth=0.4, error_kw={"elinewidth": 0.8}, zorder=req.styles[a]["zorder"])
    ticks = [req.labels[a] for a in algos] if single else shown
    room = ax.get_position().width * ax.figure.get_figwidth() * 72 / len(ticks)     # points per tick
    fits = max(int(room / (0.6 * RC["xtick.labelsize"])), 4)                        # characters per line
    ax.set_xticks(np.arange(len(ticks)), [textwrap.fill(t, fits, break_long_words=False)
                                          for t in ticks])    # wrapped, level: they do not overlap
    ax.grid(axis="x", visible=False)
    return set()


#: How each kind of figure draws one panel: kind -> ``draw(ax, request, cell)``.
_DRAW = {"line": _draw_line, "bars": _draw_bars, "trace": _draw_trace}


def draw_request(req: PlotRequest):
    """Draw a :class:`PlotRequest` (one panel per cell, by its kind); return the matplotlib figure."""
    from ..caches import pyplot
    plt = pyplot(backend=None)

    with plt.rc_context(RC):
        width = max(4.6, 0.6 * len(req.algorithms) + 1.4) if req.kind == "bars" else 4.6  # room for bar labels
        fig, axes = plt.subplots(1, len(req.cells), figsize=(width * len(req.cells), 3.6), squeeze=False)
        marks = set()
        for ax, cell in zip(axes[0], req.cells):
            marks |= _DRAW[req.kind](ax, req, cell)
            ax.set_yscale("log" if req.logy else "linear")
            ax.set_ylabel(cell.ylabel or ("" if req.grouped else measure_label(cell.measures[0])))
            if req.panels:
                ax.set_title(_label({req.panels: cell.value}, problem=req.problem))
        if req.legend:                                     # outside the data, the figure widened to hold it
            handles = axes[0][-1].get_legend_handles_labels()[0] + _legend_key(req, marks)
            legend = axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                                        borderaxespad=0.0)
            wide = legend.get_window_extent().width / fig.dpi
            fig.set_figwidth(fig.get_figwidth() + wide + 0.1)
        if req.title:
            fig.suptitle(req.title)
        fig.tight_layout()
    return fig


def draw_sweep(rows: list[dict], **options):
    """Draw a sweep as the papers do; return the matplotlib figure (:func:`plot_sweep` writes it).

    The ``options`` (checked by :func:`plot_request`, which names a bad one):

    ``kind="line"``: one line per algorithm over the numeric setting ``x``:
    the mean over the seeds' feasible runs, shaded from the least to the
    largest of those runs (their range, not a confidence interval: the
    tables of ``sweep`` and ``reproduce`` give the 95 % t-interval).
    ``kind="bars"``: one group of bars per point, the same range as error
    bars. ``kind="trace"``: the mean per iteration of the runs' ``trace`` (an
    algorithm's objective after each iteration, e.g. Zheng et al. Fig. 2),
    shaded the least to the largest run (a run that stopped early held at its
    last value), one point per panel. Default: lines if a numeric setting
    varies, else bars. ``panels`` makes one panel per value of that setting.
    ``y`` is a measure (see :func:`measure`), or a list of them: lines draw
    one panel per measure (``ylabel`` a list too, no ``panels``); bars of a
    single point draw one group per measure (the utility of each BS, He et
    al. Figs. 2-3). ``band`` (measure -> ``[low, high]`` measures) shades a
    line between the means over seeds of two other measures (e.g. the least
    and the largest PSNR over devices) instead of the range over seeds.

    The style is :mod:`semalloc.experiments.style`: ``x`` in its display
    unit (``xunit`` and ``xlabel`` override), a log axis where ``logx`` asks
    (a dB unit is already one), ``logy`` a log y axis, algorithms by their
    paper's names (``names`` overrides, code -> label; ``problem`` picks the
    paper) with distinct markers and dashes, ``proposed`` (the paper's
    algorithm) red, thickest and on top, ``exact`` a thin dashed reference,
    the legend outside the axes (the figure widened to hold it; after the
    algorithms it says what the shading or error bars and the marks are),
    ``title`` above. ``algorithms`` and ``points`` order the legend and the
    bars. A point where runs found no feasible allocation is marked (``x``
    on the x axis, ``k/n`` beside the mean). A log x axis says so in its
    label; a count on the x axis gets whole-number ticks. ``series``: one line per value of that setting (and algorithm),
    e.g. Liu et al. Figs. 4-5 (one curve per P_max).
    """
    return draw_request(plot_request(rows, **options))


def check_figure_path(path: str | Path, field: str = "path", problem: str | None = None) -> Path:
    """``path`` as a :class:`~pathlib.Path` if its suffix is a figure format (:data:`FIGURE_FORMATS`), else an
    :class:`InputError` naming ``field``."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(field, f"figure format must be one of {', '.join(FIGURE_FORMATS)}, got {path.name!r}",
                         problem)
    return path


def plot_sweep(rows: list[dict], path: str | Path, **options) -> Path:
    """Draw a sweep (:func:`draw_sweep`, same ``options``) and write it: PNG, PDF or SVG by the suffix
    (another suffix is an :class:`InputError` naming ``path``)."""
    from ..caches import pyplot
    plt = pyplot()

    path = check_figure_path(path)
    fig = draw_request(plot_request(rows, **options))
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(RC):
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def export_rows(rows: list[dict], path) -> Path | str:
    """Write the rows, one column per varied setting, as CSV or Parquet (by suffix);
    ``path`` may also be an open text stream (CSV), e.g. ``sys.stdout``: returns ``"-"``."""
    stream = path if hasattr(path, "write") else None
    path = Path("-.csv") if stream else Path(path)
    if path.suffix.lower() not in EXPORT_FORMATS:
        raise InputError("-o", f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {path.name!r}")
    varied = list(dict.fromkeys(k for r in rows for k in r["point"]))
    named = list(dict.fromkeys(k for r in rows for k in r.get("metrics") or {}))
    base = ["seed", "algorithm", "status", "objective", "feasible", "time_s", "message"]
    traced = ["trace"] if any(r.get("trace") for r in rows) else []
    cols = varied + base + named + traced
    flat = [{**{k: r["point"].get(k) for k in varied}, **{k: r[k] for k in base},
             **{k: (r.get("metrics") or {}).get(k) for k in named},
             **({"trace": json.dumps(r.get("trace") or [])} if traced else {})} for r in rows]
    for r in flat:                                  # lists (e.g. rbs) as their JSON text
        for k in varied:
            if isinstance(r[k], list):
                r[k] = str(r[k])
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("-o", "Parquet export needs pyarrow: pip install 'semalloc[parquet]'") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(flat), path)
        return path
    if stream is not None:
        w = csv.DictWriter(stream, fieldnames=cols)
        w.writeheader()
        w.writerows(flat)
        return "-"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(flat)
    return path
