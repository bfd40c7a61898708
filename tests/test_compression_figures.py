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
    with pytest.raises(InputError, match="--series"):
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
    bits, dec = tcm.jpeg_scan(img, 95)
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
    image, title, summary = tcm.figure3(tmp_path, quick=True, progress=False, epochs=4, data={"limit": 600})
    assert image.exists() and image.with_suffix(".json").exists()
    acc = {(s["point"]["snr_db"], s["algorithm"]): s["mean"] for s in summary}
    for snr in (-5.0, 0.0):
        assert acc[(snr, "ASC=0%")] > acc[(snr, "TCM")] + 0.3, acc
    assert acc[(25.0, "TCM")] > 0.8                                                  # TCM fine at high SNR
