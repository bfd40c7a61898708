"""The offloading paper's simulation findings (Zheng et al., Sec. IV) on the
quick specs' points, the measured explanations of those that do not hold
(docs/models.md, offloading "Claims"), the infeasible points of a sweep in
its summary and figure, the deadline decision and the FLOP model's delay
ordering (Table II)."""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

import semalloc
from semalloc.experiments.analysis import plot_sweep, summarise
from semalloc.experiments.reproduce import figures
from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import load_spec, parse_spec
from semalloc.experiments.store import ResultsStore
from semalloc.problems.offloading.algorithms import bcd, start
from semalloc.problems.offloading.instance import OffloadingInstance
from semalloc.problems.offloading.model import Model

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1)                                          # the quick specs' seeds


def _quick(fig: int) -> list[dict]:
    return load_spec(figures("offloading")[fig], quick=True).points


def _bcd(seed: int, **settings) -> tuple[float, bool, dict]:
    inst = semalloc.generate("offloading", seed=seed, **settings)
    ev = semalloc.evaluate(inst, semalloc.solve(inst, "bcd", seed=seed).variables)
    return ev.objective, ev.feasible, ev.metrics


def _mean(measure: str = "objective", algorithm: str = "bcd", **settings) -> float:
    """Mean over SEEDS of a measure of ``algorithm``'s allocation, every run feasible."""
    vals = []
    for seed in SEEDS:
        inst = semalloc.generate("offloading", seed=seed, **settings)
        ev = semalloc.evaluate(inst, semalloc.solve(inst, algorithm, seed=seed).variables)
        assert ev.feasible, (algorithm, settings, seed)
        vals.append(ev.objective if measure == "objective" else ev.metrics[measure])
    return float(np.mean(vals))


# ----------------------------------------------------------------------------- why UC is close to BCD

def _uc_script():
    spec = importlib.util.spec_from_file_location("offloading_uc", ROOT / "benchmarks" / "offloading_uc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_even_cpu_split_is_optimal_without_fixed_delay_and_its_gap_shrinks_as_alpha_goes_to_zero():
    """The log reward: with alpha = 0 the even split (UC) is 26a's optimum whatever beta is;
    the gap of UC on BCD's own (x, rho, e) shrinks as alpha is scaled towards 0."""
    split_gap = _uc_script().split_gap
    gaps = {s: [] for s in (1.0, 0.1, 0.01, 0.0)}
    for seed in SEEDS:
        m = Model(semalloc.generate("offloading", seed=seed))
        st, _ = bcd(m, start(m, seed))
        for s in gaps:
            g, _, reward = split_gap(m, st, s)
            assert g >= -1e-9 * abs(reward)                        # the KKT split is optimal
            gaps[s].append(g if s else abs(g) / abs(reward))
    assert max(gaps[0.0]) < 1e-9
    mean = {s: np.mean(v) for s, v in gaps.items() if s}
    assert mean[0.01] < mean[0.1] < mean[1.0]
    assert mean[0.01] < 0.05 * mean[1.0]


# ----------------------------------------------------------------------------- Fig. 4: infeasible points shown

def _captured_figure(monkeypatch, rows, **kw):
    import matplotlib.pyplot as plt
    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    plot_sweep(rows, kw.pop("path"), **kw)
    return figs[0]


def test_a_point_without_feasible_allocation_is_counted_and_marked(tmp_path, monkeypatch):
    """Fig. 4's lowest F_k (Table III / 16): no feasible allocation; the summary counts the run
    and the figure marks the point with an x at the axis foot (logarithmic x axis)."""
    low, default = _quick(4)[0]["edge_cpu_hz"], 2048 * 0.96e9
    spec = parse_spec({"problem": "offloading", "vary": {"edge_cpu_hz": [low, default]}, "seeds": [0],
                       "algorithms": ["bcd"]})
    run_sweep(spec, tmp_path / "s.db", progress=False)
    with ResultsStore.open(tmp_path / "s.db") as store:
        rows = store.rows()
    summ = {s["point"]["edge_cpu_hz"]: s for s in summarise(rows)}
    assert (summ[low]["infeasible"], summ[low]["feasible"]) == (1, 0)
    assert (summ[default]["infeasible"], summ[default]["feasible"]) == (0, 1)
    from rich.console import Console

    from semalloc.cli import _summary_table
    console = Console(record=True, width=200)
    console.print(_summary_table(summarise(rows), "t"))
    assert "0/1 (1 infeasible)" in console.export_text()                      # the CLI's sweep summary
    fig = _captured_figure(monkeypatch, rows, path=tmp_path / "f.png", x="edge_cpu_hz", logx=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    marks = [ln for ln in ax.lines if ln.get_gid() == "infeasible"]
    from semalloc.experiments.style import axis
    assert [float(ln.get_xdata()[0]) for ln in marks] == [float(axis("edge_cpu_hz").convert(low))]   # display unit
    assert any(t.get_text() == "1/1" for t in ax.texts if t.get_gid() == "infeasible")


def test_a_partly_infeasible_point_is_annotated_with_its_count(tmp_path, monkeypatch):
    rows = [{"point": {"b": b}, "seed": s, "algorithm": "a", "objective": 1.0 + b, "feasible": not (b == 2 and s),
             "time_s": 0.0, "status": "feasible"} for b in (1, 2) for s in range(3)]
    assert [s["infeasible"] for s in summarise(rows)] == [0, 2]
    ax = _captured_figure(monkeypatch, rows, path=tmp_path / "f.png", x="b").axes[0]
    assert [t.get_text() for t in ax.texts if t.get_gid() == "infeasible"][0] == "2/3"
    assert not [ln for ln in ax.lines if ln.get_gid() == "infeasible"]      # a mean exists: no x


def test_two_algorithms_without_a_feasible_run_at_one_point_are_marked_apart(tmp_path, monkeypatch):
    """Fig. 7 at 0.05 MHz: raw and FTM find none, and BCD none in one seed of two. The two marks sit side by
    side on the axis and the three counts one above the other: none overlaps another on the drawn figure."""
    rows = [{"point": {"b": b}, "seed": s, "algorithm": a, "objective": 1.0, "status": "feasible", "time_s": 0.0,
             "feasible": b == 2 or (a == "c" and s == 0)} for b in (1, 2) for a in ("a", "b", "c") for s in (0, 1)]
    fig = _captured_figure(monkeypatch, rows, path=tmp_path / "f.png", x="b")
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    marks = [ln.get_window_extent(r) for ln in ax.lines if ln.get_gid() == "infeasible"]
    texts = [t for t in ax.texts if t.get_gid() == "infeasible"]
    assert len(marks) == 2 and sorted(t.get_text() for t in texts) == ["1/2", "2/2", "2/2"]
    notes = [t.get_window_extent(r) for t in texts]
    for boxes in (marks, notes):
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), boxes
    assert abs((marks[0].x0 + marks[1].x1) / 2 - ax.transData.transform((1.0, 0))[0]) < 1   # centred on b = 1


# ----------------------------------------------------------------------------- the claims that hold

def test_fig4_reward_rises_with_edge_capacity_then_levels_off():
    """Fig. 4: from Table III's F_k the last quadrupling (16x -> 64x) adds less than a quarter
    of what 1x -> 16x adds (measured: 0.11 on seeds 0-1, 0.11 over the full sweep's 6)."""
    f = sorted(p["edge_cpu_hz"] for p in _quick(4) if p["exit_points"] == 3)[1:]     # 1x, 16x, 64x
    r = [_mean(edge_cpu_hz=v) for v in f]
    assert r[0] < r[1] < r[2]
    assert r[2] - r[1] < 0.25 * (r[1] - r[0])


def test_fig3_terminal_average_reward_falls_as_terminals_grow():
    """Fig. 3: the terminal average reward decreases as U grows (quick points U = 10, 20, 30)."""
    us = sorted({p["terminals"] for p in _quick(3)})
    r = [_mean("reward_per_terminal", terminals=u) for u in us]
    assert all(np.diff(r) < 0), r


def test_fig5_and_fig6_reward_rises_with_bandwidth_more_than_with_compression():
    """Figs. 5-6: the reward rises with B and with the compression ratio, the latter
    much less ("not as significant as when the resource capacity changes")."""
    b = sorted({p["subcarrier_bandwidth_hz"] for p in _quick(5)})
    c = sorted({p["compression"] for p in _quick(6)})
    rb = [_mean(subcarrier_bandwidth_hz=v) for v in (b[0], b[-1])]
    rc = [_mean(compression=v) for v in (c[0], c[-1])]
    assert rb[1] > rb[0] and rc[1] > rc[0]
    assert rc[1] - rc[0] < 0.25 * (rb[1] - rb[0])


def test_early_exit_raises_the_reward_at_every_quick_bandwidth():
    """Figs. 3-6, Remark 2: M = 3 beats M = 1 (bcd, mean over seeds 0-1, Fig. 5's quick points)."""
    for b in sorted({p["subcarrier_bandwidth_hz"] for p in _quick(5)}):
        assert _mean(subcarrier_bandwidth_hz=b, exit_points=3) > _mean(subcarrier_bandwidth_hz=b, exit_points=1)


def test_semantic_mode_matters_at_low_bandwidth_not_at_table_iii():
    """Ours (offloading-fig7, compression 5, seeds 0-5, the sweep's start): bcd's mean gain over
    traditional mode only (raw) at B = 0.25 MHz exceeds 2x its gain at Table III's 1 MHz, which
    is below 4 % of raw's reward. Both gains are differences of two heuristic runs and move with
    the random start (``benchmarks/offloading_semantic.py --spread``, seeds 0-5 x starts 0-3):
    ratio 7.3 / 2.5 / 6.8 / 7.0 per start (pooled 5.3), 1 MHz gain 2.0 / 3.8 / 1.8 / 1.9 % of raw
    (pooled 2.4 %); the bounds are those every measured start meets. Two seeds do not
    suffice: seed 1 alone ranges -0.5 to 6.5 at 0.25 MHz and -0.5 to 5.1 at 1 MHz over starts."""
    gain, rel = {}, []
    for b in (2.5e5, 1e6):
        g = []
        for seed in range(6):
            inst = semalloc.generate("offloading", seed=seed, subcarrier_bandwidth_hz=b, compression=5.0)
            ev = {a: semalloc.evaluate(inst, semalloc.solve(inst, a).variables) for a in ("bcd", "raw")}
            assert ev["bcd"].feasible and ev["raw"].feasible, (b, seed)
            g.append(ev["bcd"].objective - ev["raw"].objective)
            if b == 1e6:
                rel.append(g[-1] / ev["raw"].objective)
        gain[b] = np.mean(g)
    assert gain[2.5e5] > 2 * max(gain[1e6], 0.0), gain
    assert np.mean(rel) < 0.04, rel


# ----------------------------------------------------------------------------- deadlines (9h): continuous

def test_integer_deadlines_change_nothing_on_the_default_scenario():
    """Decision: deadlines stay continuous in [0.5, 1] s. The integer reading (every
    deadline rounded up to 1 s) gives bcd the very same allocation on the default scenario:
    the deadlines do not bind there."""
    for seed in range(4):
        inst = semalloc.generate("offloading", seed=seed)
        tau = inst.tasks.deadline_s
        assert tau.min() >= 0.5 and tau.max() <= 1.0 and len(np.unique(tau)) == len(tau)
        raw = inst.to_dict()
        raw["tasks"]["deadline_s"] = np.ceil(tau)
        a = semalloc.solve(inst, "bcd", seed=seed).variables
        b = semalloc.solve(OffloadingInstance.from_dict(raw), "bcd", seed=seed).variables
        assert all(np.array_equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- Table II: FLOPs order delay

def test_paths_of_several_times_the_flops_take_longer():
    """Table II's premise, as an ordering only: of two network paths whose FLOP model counts
    differ by 4x or more, the larger takes longer on this machine (best of 7, one thread)."""
    torch = pytest.importorskip("torch")
    from semalloc.learn.exits import _modules
    from semalloc.perf.flops import DEEPJSCC_ENCODER, flops, output_shape
    from semalloc.problems.offloading.instance import DEFAULTS, networks

    rec, ext, con = networks(3, DEFAULTS)
    image = (3, 32, 32)
    paths = [(DEEPJSCC_ENCODER, image), (con, output_shape(ext, image)), (rec.trunk, image)]
    counts = [float(flops(n, s)) for n, s in paths]
    assert all(counts[i + 1] >= 4 * counts[i] for i in range(2)), counts
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = []
        for n, s in paths:
            mod = _modules(n, s, final=True)[0].eval()
            x = torch.randn(4, *s)
            times = []
            with torch.no_grad():
                mod(x)
                for _ in range(7):
                    t0 = time.perf_counter()
                    mod(x)
                    times.append(time.perf_counter() - t0)
            best.append(min(times))
    finally:
        torch.set_num_threads(threads)
    assert best[0] < best[1] < best[2], (counts, best)
