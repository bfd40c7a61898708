"""The figure style, read from the matplotlib objects (not pixels): log axes where
asked, x in display units with the unit in the label, a distinct (marker, linestyle)
per algorithm, the proposed line on top, paper names in the legend, the legend
outside the data, tick labels that do not overlap, and the spec overrides.

The rows are synthetic (random objectives on each shipped spec's quick grid):
what is tested is how a figure is drawn, not the numbers in it.
"""
from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from semalloc.experiments.analysis import draw_sweep, plot_sweep, summarise  # noqa: E402
from semalloc.experiments.reproduce import SPECS_DIR, figures, highlighted, plot_options  # noqa: E402
from semalloc.experiments.spec import load_spec, parse_spec  # noqa: E402
from semalloc.experiments.style import axis, display_name  # noqa: E402
from semalloc.solve import list_problems  # noqa: E402

SPECS = sorted(p.stem for k in list_problems() for p in figures(k).values())


def fake_rows(spec, seeds=2, rng=None):
    """Rows on ``spec``'s grid with every measure its plot asks for (random values)."""
    rng = rng or np.random.default_rng(0)
    ys = spec.plot.get("y", "objective")
    banded = [b for pair in spec.plot.get("band", {}).values() for b in pair]      # the band's measures too
    metrics = [m for m in ([ys] if isinstance(ys, str) else ys) + banded if m not in ("objective", "time_s")]
    rows = []
    for p, s, a in itertools.product(spec.points, range(seeds), spec.algorithms):
        v = float(rng.uniform(1, 2))
        rows.append({"point": p, "seed": s, "algorithm": a, "status": "feasible", "objective": v, "feasible": True,
                     "time_s": 0.01, "metrics": {m: v for m in metrics}, "trace": [v / 2, v]})
    return rows


@pytest.fixture(scope="module", params=SPECS)
def drawn(request):
    spec = load_spec(SPECS_DIR / f"{request.param}.yaml", quick=True)
    opts = plot_options(spec)
    fig = draw_sweep(fake_rows(spec), **{k: v for k, v in opts.items()})
    yield spec, opts, fig
    plt.close(fig)


def data_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def test_log_axis_and_display_units(drawn):
    spec, opts, fig = drawn
    x = opts.get("x")
    if opts.get("kind", "line" if x else "bars") != "line":
        pytest.skip("not a line figure")
    ax_ = axis(x, spec.problem)
    shown = sorted(set(ax_.convert([p[x] for p in spec.points]).tolist()))
    for ax in fig.axes:
        want_log = bool(opts.get("logx")) and not ax_.logarithmic
        assert ax.get_xlabel() == ax_.label + (" (log scale)" if want_log else "")
        if ax_.unit:
            assert ax_.label.endswith(f"({ax_.unit})")
        for ln in data_lines(ax):            # the data are in display units
            assert set(np.round(ln.get_xdata(), 9)) <= set(np.round(shown, 9))
        assert ax.get_xscale() == ("log" if want_log else "linear")


def test_logx_is_set_on_the_six_figures_that_ask():
    asked = [s for s in SPECS if load_spec(SPECS_DIR / f"{s}.yaml").plot.get("logx")]
    assert {"multicell-fig7", "multicell-fig8", "offloading-fig4", "compression-fig8", "compression-fig11",
            "sbq-fig2"} <= set(asked)                  # the six of issue 19, and any spec added since
    for name in asked:
        spec = load_spec(SPECS_DIR / f"{name}.yaml", quick=True)
        fig = draw_sweep(fake_rows(spec), **plot_options(spec))
        ax_ = axis(spec.plot["x"], spec.problem)
        for ax in fig.axes:                    # dBm is already a log scale of the power
            assert ax.get_xscale() == ("linear" if ax_.unit == "dBm" else "log"), name
        plt.close(fig)


def test_lines_distinct_proposed_on_top_legend_names(drawn):
    spec, opts, fig = drawn
    algos = spec.algorithms
    for ax in fig.axes:
        lines = data_lines(ax)
        if not lines:
            continue
        series = spec.plot.get("series")              # one line per (algorithm, value of that setting)
        values = {p[series] for p in spec.points} if series else {None}
        assert len(lines) == len(algos) * len(values)
        pairs = [(ln.get_marker(), ln.get_linestyle()) for ln in lines]
        assert len(set(pairs)) == len(pairs), pairs
        if series:                                    # no highlighted line: every curve is one algorithm's
            return
        z = {ln.get_label(): ln.get_zorder() for ln in lines}
        names = spec.plot.get("names")
        top, exact = (display_name(a, spec.problem, names) for a in (highlighted(spec), "exact"))
        assert all(z[top] > v for k, v in z.items() if k not in (top, exact))
        assert max(lines, key=lambda ln: ln.get_linewidth()).get_label() == top
        if "exact" in algos:                          # the thin dashed optimum over every line: a line on it
            ex = next(ln for ln in lines if ln.get_label() == exact)             # shows through its gaps
            assert ex.get_linestyle() == "--" and ex.get_linewidth() < 1.3 and z[exact] > z[top]
    legend = fig.axes[-1].get_legend()
    if legend is not None:                            # the algorithms, then what the shading and marks are
        texts = [t.get_text() for t in legend.get_texts()]
        assert texts[:len(algos)] == [display_name(a, spec.problem, spec.plot.get("names")) for a in algos]
        extra = texts[len(algos):]
        spread = "shaded: " if opts.get("kind", "line") in ("line", "trace") and fig.axes[0].lines else "error bars: "
        assert any(t.startswith(spread) for t in extra), extra
        assert all(t.startswith(("shaded: ", "error bars: ", "no feasible allocation", "every run failed"))
                   for t in extra), extra


def test_legend_outside_data_and_ticks_do_not_overlap(drawn):
    spec, opts, fig = drawn
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legend = fig.axes[-1].get_legend()
    if legend is not None:
        assert legend.get_window_extent(r).x0 >= fig.axes[-1].get_window_extent(r).x1
    for ax in fig.axes:
        boxes = [t.get_window_extent(r) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        for a, b in zip(boxes, boxes[1:]):
            assert not a.overlaps(b), [t.get_text() for t in ax.get_xticklabels()]
        assert not any("utility_bs" in t.get_text() for t in ax.get_xticklabels())
        assert not any("_" in t.get_text() for t in ax.get_xticklabels())


def test_known_names_and_units():
    assert display_name("crraus", "compression") == "CRRAUS"
    assert display_name("tc", "multicell") == "TC"
    assert display_name("alternating", "training") == "Proposed (Alg. 3)"
    assert axis("power_max_w", "compression").convert([1e-3, 1.0]).tolist() == [0.0, 30.0]
    assert axis("deadline_s").convert([0.01]).tolist() == [10.0]
    assert axis("bandwidth_max_hz").unit == "MHz" and axis("cpu_max_hz").unit == "GHz"
    assert axis("devices").label == "number of devices"
    assert axis("power_max_dbm").convert([20.0]).tolist() == [20.0]


def test_spec_overrides_and_unknown_algorithm(tmp_path):
    raw = {"problem": "multicell", "vary": {"deadline_s": [0.005, 0.01]}, "algorithms": ["prop", "tc"],
           "plot": {"x": "deadline_s", "xlabel": "T", "xunit": "s", "names": {"tc": "Two-cell"}}}
    spec = parse_spec(raw, check_generator=False)
    rows = fake_rows(spec) + [dict(r, algorithm="newalgo") for r in fake_rows(spec) if r["algorithm"] == "tc"]
    fig = draw_sweep(rows, **plot_options(spec))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "T (s)"
    assert sorted(set(data_lines(ax)[0].get_xdata())) == [0.005, 0.01]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Prop", "Two-cell", "newalgo",
                                                                   "shaded: least to largest of 2 seeds"]
    plt.close(fig)
    with pytest.raises(Exception, match="xunit"):
        draw_sweep(rows, **{**plot_options(spec), "xunit": "dBm"})


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_format_by_extension(tmp_path, suffix, magic):
    spec = load_spec(SPECS_DIR / "multicell-fig7.yaml", quick=True)
    path = plot_sweep(fake_rows(spec), tmp_path / f"f{suffix}", **plot_options(spec))
    assert path.read_bytes().startswith(magic)


def test_gap_follows_the_sense_on_training():
    """Training minimises: an algorithm above the optimum has a positive gap, as a
    maximisation's algorithm below it has (real solves on two small instances)."""
    import semalloc
    rows = []
    for seed in (0, 1):
        inst = semalloc.generate("training", seed=seed, devices=2)
        for a in ("exact", "average", "alternating"):
            r = semalloc.solve(inst, a)
            rows.append({"point": {}, "seed": seed, "algorithm": a, "objective": r.objective,
                         "feasible": r.feasible, "time_s": r.stats["time_s"], "status": r.status})
    s = {x["algorithm"]: x for x in summarise(rows, sense="min")}
    ex = {r["seed"]: r["objective"] for r in rows if r["algorithm"] == "exact"}
    avg = [r["objective"] for r in rows if r["algorithm"] == "average"]
    assert all(a > ex[i] for i, a in enumerate(avg))                  # average is worse than the optimum
    assert s["average"]["gap"] == pytest.approx(np.mean([(a - ex[i]) / ex[i] for i, a in enumerate(avg)]))
    assert s["average"]["gap"] > 0 and s["exact"]["gap"] == 0
    assert s["alternating"]["gap"] >= -1e-6


def _runs(objectives: dict, feasible=lambda n, s: True):
    """Rows of one algorithm ``prop``: ``objectives[devices]`` one value per seed."""
    return [{"point": {"devices": n}, "seed": s, "algorithm": "prop", "status": "feasible", "objective": v,
             "feasible": feasible(n, s), "time_s": 0.01} for n, vs in objectives.items() for s, v in enumerate(vs)]


def test_the_shade_and_error_bars_are_the_least_to_the_largest_feasible_run():
    """What the docstrings promise: the range of the feasible runs, not a confidence interval."""
    objectives = {3: [1.0, 4.0, 2.0, 100.0], 6: [5.0, 3.0, 9.0, 7.0]}
    rows = _runs(objectives, feasible=lambda n, s: s < 3)             # the fourth seed infeasible: left out
    ax = draw_sweep(rows, problem="multicell").axes[0]
    line = data_lines(ax)[0]
    assert line.get_xdata().tolist() == [3, 6] and line.get_ydata().tolist() == [7 / 3, 17 / 3]
    (shade,) = ax.collections
    v = shade.get_paths()[0].vertices
    for x, vals in objectives.items():
        assert (v[v[:, 0] == x, 1].min(), v[v[:, 0] == x, 1].max()) == (min(vals[:3]), max(vals[:3]))
    plt.close(ax.figure)
    ax = draw_sweep([r for r in rows if r["point"]["devices"] == 3], kind="bars", problem="multicell").axes[0]
    from matplotlib.container import ErrorbarContainer
    (errors,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segment = errors.lines[2][0].get_segments()[0]
    assert sorted(segment[:, 1].tolist()) == [1.0, 4.0]
    plt.close(ax.figure)


def test_errors_name_the_option_or_the_spec_field_that_gave_it(tmp_path):
    from semalloc.errors import InputError
    from semalloc.experiments.analysis import plot_request
    from semalloc.experiments.reproduce import plot_spec

    rows = _runs({3: [1.0, 2.0], 6: [3.0, 4.0]})
    for options, field in [({"x": "power"}, "x"), ({"kind": "pie"}, "kind"), ({"y": "joules"}, "y"),
                           ({"panels": "power"}, "panels"), ({"names": ["a"]}, "names"),
                           ({"y": ["objective", "time_s"], "ylabel": ["a"]}, "ylabel"), ({"xunit": "dBm"}, "xunit"),
                           ({"band": {"objective": ["joules", "time_s"]}}, "band")]:
        with pytest.raises(InputError) as e:
            plot_request(rows, **options)
        assert e.value.field == field, (options, str(e.value))
    with pytest.raises(InputError, match="^kind: lines need a numeric"):          # nothing numeric varies
        plot_request([dict(r, point={"utility": "accuracy"}) for r in rows], kind="line")
    with pytest.raises(InputError, match="^path: figure format"):
        plot_sweep(rows, tmp_path / "f.txt")
    spec = parse_spec({"problem": "multicell", "vary": {"devices": [3, 6]}, "algorithms": ["prop"],
                       "plot": {"x": "power", "kind": "line"}}, check_generator=False)
    with pytest.raises(InputError, match="^plot.x: 'power' is not a varied setting"):
        plot_spec(spec, rows, tmp_path / "f.png")
    with pytest.raises(InputError, match="^kind: must be one of"):                # an override keeps its name
        plot_spec(spec, rows, tmp_path / "f.png", x="devices", kind="pie")
    assert not list(tmp_path.iterdir())


def test_an_algorithm_keeps_its_line_style_in_every_figure_of_its_problem():
    """sbq Fig. 1 has no `dqn` (K > 6) and Fig. 2 has it: the lines after it kept their styles anyway."""
    from semalloc.experiments.reproduce import figures, highlighted
    from semalloc.experiments.spec import load_spec
    from semalloc.experiments.style import line_styles
    for problem in ("sbq", "compression", "offloading"):
        styles = {}
        for path in figures(problem).values():
            spec = load_spec(path)
            proposed = highlighted(spec)
            for a, style in line_styles(spec.algorithms, proposed, problem).items():
                if a != proposed:
                    assert styles.setdefault(a, style) == style, (problem, path.name, a)
        others = [a for a in styles if a not in ("best", "exact")]
        pairs = {(styles[a]["color"], styles[a]["marker"], styles[a]["linestyle"]) for a in others}
        assert len(pairs) == len(others), problem                   # still distinct within the problem


def test_every_line_of_every_figure_has_a_colour_of_its_own():
    """sbq Fig. 2 draws 12 algorithms: more than the 8 colours the palette once had, so two lines shared one."""
    from semalloc.experiments.reproduce import figures, highlighted
    from semalloc.experiments.spec import load_spec
    from semalloc.experiments.style import line_styles
    from semalloc.solve import list_problems
    for problem in list_problems():
        for path in figures(problem).values():
            spec = load_spec(path)
            colours = [s["color"] for s in line_styles(spec.algorithms, highlighted(spec), problem).values()]
            assert len(set(colours)) == len(colours), (problem, path.name, colours)


def test_a_panels_title_names_its_setting_and_value_as_the_paper_does(drawn):
    """Panels by a numeric setting show its display name and unit (``exit points M = 3``); a setting
    whose values are words shows the paper's name of the value (He et al.: the concave utility u = A and
    the general u = 1/(1 - A)), never the code value."""
    spec, opts, fig = drawn
    panels = opts.get("panels")
    if not panels:
        pytest.skip("one panel")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    values = list(dict.fromkeys(p[panels] for p in spec.points))
    assert len(titles) == len(values)
    ax_ = axis(panels, spec.problem)
    for t, v in zip(titles, values):
        assert t.startswith(f"{ax_.name} = ")
        assert str(v) not in t if isinstance(v, str) else f"{float(ax_.convert(v)):g}" in t
    if panels == "utility":
        assert titles == ["utility = concave, $u = A$", "utility = general, $u = 1/(1 - A)$"]
