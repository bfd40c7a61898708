"""compression figures (issue 15): FCR's ratio as an option and a sweep axis
(Figs. 4-5), the average-per-user metrics (Figs. 4-8), TCM and Fig. 3, and the
trends of the paper's claims that hold (docs/models.md, compression "Claims")."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import semalloc
from semalloc import InputError
from semalloc.experiments.reproduce import DRAWN, figures
from semalloc.experiments.runner import run_task
from semalloc.experiments.spec import load_spec, parse_spec
from semalloc.schema import to_jsonable

warnings.filterwarnings("ignore", message="Solution may be inaccurate")


# ----------------------------------------------------------------------------- FCR's ratio

def test_fcr_ratio_is_an_option_and_is_validated():
    inst = semalloc.generate("compression", seed=2)
    r = semalloc.solve(inst, "fcr", ratio=0.7)
    assert r.feasible and np.all(r.variables["compression"] == 0.7) and r.stats["ratio"] == 0.7
    assert np.all(semalloc.solve(inst, "fcr").variables["compression"] == 0.8)        # Sec. VI default
    for bad in (0.0, 1.0, 1.2, -0.1, "x"):
        with pytest.raises(InputError, match="ratio"):
            semalloc.solve(inst, "fcr", ratio=bad)


def test_fcr_ratio_cli_exits_2_naming_the_option(tmp_path):
    path = tmp_path / "i.json"
    path.write_text(json.dumps(to_jsonable(semalloc.generate("compression", seed=0, users=3).to_dict())))
    r = subprocess.run([sys.executable, "-m", "semalloc.cli", "solve", str(path), "-a", "fcr", "--set", "ratio=1.5"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: compression: --set ratio: must be in (0, 1) (14e), got 1.5"], r.stderr


def test_mean_success_metrics_are_the_objectives_over_u():
    inst = semalloc.generate("compression", seed=1, users=7)
    r = semalloc.solve(inst, "crra")
    m = r.stats
    assert m["metrics"]["mean_success"] == pytest.approx(r.objective / 7, rel=1e-12)
    assert m["metrics"]["mean_success_eq20"] == pytest.approx(m["metrics"]["objective_eq20"] / 7, rel=1e-12)


def test_an_algorithm_option_is_a_sweep_axis():
    raw = {"problem": "compression", "vary": {"fcr.ratio": [0.3, 0.7]}, "settings": {"users": 4}, "seeds": 1,
           "algorithms": ["fcr", "fra"]}
    spec = parse_spec(raw)
    assert spec.points == [{"fcr.ratio": 0.3}, {"fcr.ratio": 0.7}]
    inst = semalloc.generate("compression", seed=0, users=4)
    for p in spec.points:
        rows = {r["algorithm"]: r for r in run_task("compression", spec.settings, p, 0, spec.algorithms, {})}
        assert rows["fcr"]["objective"] == pytest.approx(semalloc.solve(inst, "fcr", ratio=p["fcr.ratio"]).objective)
        assert rows["fra"]["objective"] == pytest.approx(semalloc.solve(inst, "fra").objective)   # untouched
    for vary, field in (({"fcr.nope": [1]}, "spec.vary.fcr.nope"), ({"msr.ratio": [0.5]}, "spec.vary.msr.ratio")):
        with pytest.raises(InputError, match=field.replace(".", r"\.")):
            parse_spec({**raw, "vary": vary})


def test_figure_specs_plot_the_average_per_user():
    figs = figures("compression")
    assert {4, 5, 6, 7, 8, 9, 10, 11} <= set(figs) and 3 in DRAWN["compression"]
    for n in (4, 5, 6, 7, 8):
        assert load_spec(figs[n]).plot["y"] == ["mean_success", "mean_success_eq20"], n
    for n in (4, 5):
        spec = load_spec(figs[n], quick=True)
        assert spec.algorithms == ["fcr"] and spec.plot["x"] == "fcr.ratio" and spec.plot["series"] in spec.points[0]


def test_series_plot_draws_one_line_per_value(tmp_path):
    from semalloc.experiments.analysis import plot_sweep
    rows = [{"point": {"fcr.ratio": o, "power_max_w": p}, "seed": 0, "algorithm": "fcr", "objective": o * p,
             "feasible": True, "time_s": 0.0, "status": "feasible", "metrics": {}}
            for o in (0.2, 0.5) for p in (1e-3, 1.0)]
    assert plot_sweep(rows, tmp_path / "s.png", x="fcr.ratio", series="power_max_w").exists()
    with pytest.raises(InputError, match="^series: "):
        plot_sweep(rows, tmp_path / "s.png", x="fcr.ratio", series="users")


# ----------------------------------------------------------------------------- TCM and Fig. 3

torch = pytest.importorskip("torch")
pytest.importorskip("PIL")
from semalloc.learn import tcm  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one torch thread is ~10x cheaper than two on a loaded machine (measured)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_capacity_and_jpeg_scan_sizes():
    assert tcm.capacity_bits(0.0, 64) == pytest.approx(32.0)
    assert tcm.capacity_bits(10 * np.log10(3), 10) == pytest.approx(10.0)          # log2(4) / 2 per symbol
    from sklearn.datasets import load_digits
    img = (load_digits().images[:40] / 16 * 255).round().astype(np.uint8)[:, None]
    sizes = np.array([tcm.jpeg_scan(img, q)[0].mean() for q in (1, 10, 50, 95)])
    assert np.all(np.diff(sizes) > 0), sizes                                        # more quality, more bits
    _, dec = tcm.jpeg_scan(img, 95)
    assert np.abs(dec.astype(float) - img).mean() < 4                              # high quality: near lossless


def test_tcm_cliff_and_full_delivery():
    """Below the SNR where no scan fits, TCM classifies a blank image (docs: the cliff)."""
    from semalloc.learn.common import load_dataset
    x_tr, y_tr, x_te, y_te = load_dataset("digits", 0, limit=300)
    clf = tcm.train_clean_classifier(x_tr, y_tr, epochs=3)
    res = tcm.tcm_accuracy(clf, x_te, y_te, [-20.0, 40.0], channel_uses=64)
    with torch.no_grad():
        blank = int(clf(torch.zeros_like(x_te[:1]), float("inf"))[0].argmax())
        clean = float((clf(x_te, float("inf"))[0].argmax(1) == y_te).float().mean())
    assert res["fit"] == [0.0, 1.0]
    assert res["accuracy"][0] == pytest.approx(float((y_te == blank).float().mean()))
    assert res["accuracy"][1] > clean - 0.05 and res["quality"][1] >= 80


@pytest.mark.slow
def test_figure3_asc_beats_tcm_at_low_snr(tmp_path):
    """Fig. 3's claim: the semantic system is much better than TCM at low SNR
    (one seed, 4 epochs on 600 images: the margins are wide)."""
    image, _, summary = tcm.figure3(tmp_path, quick=True, progress=False, epochs=4, data={"limit": 600})
    assert image.exists() and image.with_suffix(".json").exists()
    acc = {(s["point"]["snr_db"], s["algorithm"]): s["mean"] for s in summary}
    for snr in (-5.0, 0.0):
        assert acc[(snr, "ASC=0%")] > acc[(snr, "TCM")] + 0.3, acc
    assert acc[(25.0, "TCM")] > 0.8                                                  # TCM fine at high SNR
    from rich.console import Console

    from semalloc.cli import _summary_table
    Console(record=True).print(_summary_table(summary, "Fig. 3"))      # the rows `reproduce` prints (make run)


# ----------------------------------------------------------------------------- claims that hold (docs/models.md)

def _fixed_ratio_curve(fig: int, series_value) -> dict:
    """Fig. 4/5 quick spec: mean (over its seeds) average success (Lemma 1) per fixed ratio at one series value."""
    spec = load_spec(figures("compression")[fig], quick=True)
    series = spec.plot["series"]
    out = {}
    for p in spec.points:
        if p[series] != series_value:
            continue
        vals = [run_task("compression", spec.settings, p, s, ["fcr"], {})[0]["metrics"]["mean_success"]
                for s in spec.seeds]
        out[p["fcr.ratio"]] = float(np.mean(vals))
    return out


def test_figs4_5_the_best_fixed_ratio_moves_with_the_resources():
    """Figs. 4-5: the optimal fixed ratio depends on P_max and B_max, with an
    interior optimum at the default 20 MHz, 1 W (measured with 10 seeds, Lemma 1:
    0.95 at 1 mW, 0.7 at 1 W; 0.85 at 5 MHz, 0.7 at 20 MHz).

    At 20 MHz, 1 W the top is flat: 0.5-0.8 lie within 0.005 of each other
    (10 seeds; per seed s(0.6) - s(0.8) = +0.002, sd 0.003, negative on 4 of 10),
    so where in 0.5-0.8 the maximum falls is seed noise and is not asserted; that
    it lies below 0.9 is (s(0.5) - s(0.9) = +0.025, sd 0.007, min +0.014 per seed:
    a 2-seed mean is 3 sd above the 0.01 margin). At 5 MHz o = 0.7 is far below
    0.8 (per seed +0.11 to +0.40)."""
    argmax = lambda c: max(c, key=c.get)
    lo_p, hi_p = _fixed_ratio_curve(4, 0.001), _fixed_ratio_curve(4, 1.0)
    assert argmax(lo_p) >= 0.9 and argmax(hi_p) <= 0.8, (lo_p, hi_p)
    assert hi_p[argmax(hi_p)] > max(hi_p[0.1], hi_p[0.95]) + 0.05                  # rises, then falls
    lo_b, hi_b = _fixed_ratio_curve(5, 5e6), _fixed_ratio_curve(5, 20e6)
    assert argmax(lo_b) >= 0.8 and hi_b[0.5] > hi_b[0.9] + 0.01, (lo_b, hi_b)       # the optimum moves down


def _means(algos, seeds, **kw):
    out = {a: np.zeros(2) for a in algos}
    for s in range(seeds):
        inst = semalloc.generate("compression", seed=s, **kw)
        for a in algos:
            r = semalloc.solve(inst, a)
            out[a] += np.array([r.stats["metrics"]["objective_eq20"], r.objective]) / seeds
    return out


def _gain(m, proposed, k):
    base = max(m[b][k] for b in ("fcr", "fra", "msr"))
    return m[proposed][k] / base - 1


def test_fig9_regime_crra_gains_more_when_users_are_many():
    """Fig. 9 at the spec's tight regime (5 MHz, 1 mW): CRRA's gain over the strongest
    baseline grows with U. Measured per seed, seeds 0-9 (`benchmarks/compression_claims.py
    --parts spread --seeds 10`): eq. 20 +2.3 % at U = 5 (sd 1.5, 0.2 to 4.8), +4.0 % at 30
    (sd 0.7, min 3.2); Lemma 1 +2.5 % (sd 2.0) and +7.0 % (sd 1.3); the paired increase
    is +1.8 points (sd 1.7) on eq. 20 and +4.4 (sd 2.8) on Lemma 1. With seeds 0-2 (this
    test's former count) the eq. 20 increase was 1.8 standard errors above 0 and the
    gain at U = 5 (+1.6 %) 0.7 above its 1 % margin; over the 10 seeds the margins below
    are 3.3 (eq. 20), 3.9 (Lemma 1, 1 point) and 9 (gain at U = 30 > 2 %) standard errors."""
    spec = load_spec(figures("compression")[9], quick=True)
    g = {U: _means(("crra", "fcr", "fra", "msr"), 10, users=U, **spec.settings) for U in (5, 30)}
    assert _gain(g[30], "crra", 1) > _gain(g[5], "crra", 1) + 0.01, g
    assert _gain(g[30], "crra", 0) > max(_gain(g[5], "crra", 0), 0.02), g
    assert all(m["msr"][0] < min(m[a][0] for a in ("crra", "fra")) for m in g.values())       # MSR worst


def test_figs10_11_regime_user_selection_matters():
    """The specs' regime (U = 30, 1 MHz, 1 mW): CRRAUS drops users and beats CRRA
    by far; at the paper's U = 10, 20 MHz, 1 W it selects everyone and equals CRRA.
    Measured per seed, seeds 0-9 (`compression_claims.py --parts spread`): 19 of 30
    selected (sd 2.6, 15-23), CRRAUS / CRRA on eq. 20 = 1.35 (sd 0.14, min 1.18).
    The margin 1.15 (3 seeds before common random numbers: +31 %) sat 2.1 standard
    errors of a 2-seed mean below the measured mean; 1.10 sits 2.6 below it."""
    levels = [0.2, 0.4, 0.6, 0.8]
    tight = {"users": 30, "bandwidth_max_hz": 1e6, "power_max_w": 1e-3, "level_weights": levels}
    for n, x in ((10, "bandwidth_max_hz"), (11, "power_max_w")):                  # the specs use this regime
        spec = load_spec(figures("compression")[n], quick=True)
        assert all(tight[k] == v for k, v in spec.settings.items()) and tight[x] in [p[x] for p in spec.points]
    sel, us, crra = [], [], []
    for s in range(2):
        inst = semalloc.generate("compression", seed=s, **tight)
        r = semalloc.solve(inst, "crraus")
        sel.append(r.variables["selected"].sum())
        us.append(r.stats["metrics"]["objective_eq20"])
        crra.append(semalloc.solve(inst, "crra").stats["metrics"]["objective_eq20"])
    assert np.mean(sel) < 27 and np.mean(us) > 1.10 * np.mean(crra), (sel, us, crra)
    inst = semalloc.generate("compression", seed=0, level_weights=levels)
    assert semalloc.solve(inst, "crraus").variables["selected"].all()


def test_figs6_8_success_grows_with_bandwidth_and_power_and_msr_is_worst():
    m = {kw: _means(("crra", "fra", "msr"), 2, **dict([kw])) for kw in
         (("bandwidth_max_hz", 1e6), ("bandwidth_max_hz", 30e6), ("power_max_w", 1e-3), ("power_max_w", 1.0))}
    for lo, hi in ((("bandwidth_max_hz", 1e6), ("bandwidth_max_hz", 30e6)),
                   (("power_max_w", 1e-3), ("power_max_w", 1.0))):
        assert m[hi]["crra"][0] > m[lo]["crra"][0] + 0.5 and m[hi]["crra"][1] > m[lo]["crra"][1] + 0.5
    for v in m.values():
        assert v["msr"][0] < 0.3 * v["crra"][0]                     # "MSR is no longer suitable"


def test_with_d0_24_5_mb_every_user_fails_at_the_equal_split():
    """Table II's d0 = 24.5 MB as printed: at the equal split every user's x of
    eq. (8) exceeds 1e14, so eq. (20) is 0 with a zero gradient and CRRA, FCR and
    FRA stay at 0; only MSR (all to one user) and CRRAUS (selection) serve anyone."""
    from semalloc.perf.success import outage_argument
    from semalloc.problems.compression.algorithms import enumerate_o
    from semalloc.problems.compression.sca import equal_split
    inst = semalloc.generate("compression", seed=0, data_bits=24.5 * 1024 * 1024 * 8, bandwidth_max_hz=30e6)
    B, P = equal_split(inst, np.ones(inst.U, dtype=bool))
    assert outage_argument(enumerate_o(inst, B, P), B, P, **inst.channel()).min() > 1e14
    assert semalloc.solve(inst, "crra").objective == 0.0
    assert semalloc.solve(inst, "msr").objective > 0.1
