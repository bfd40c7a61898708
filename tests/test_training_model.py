"""The training problem's PSNR model, profiles, instance validation and generator."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semalloc
from semalloc import InputError
from semalloc.perf.psnr import PAPER_POINTS, PROFILES, PsnrModel, calibrated, fit_psnr, load_profile
from semalloc.problems.training.instance import TrainingInstance

DB = lambda s: 10 ** (np.asarray(s, dtype=float) / 10)


# ----------------------------------------------------------------------------- PSNR model

def test_calibration_matches_the_two_sec_vii_g_points():
    m = load_profile("cifar10-calibrated")
    for rho, snr_db, psnr in PAPER_POINTS:
        assert m.psnr(rho, DB(snr_db)) == pytest.approx(psnr, abs=1e-9)


def test_printed_eq58_never_binds_a_25_db_threshold():
    """The inconsistency the calibration fixes: eq. (58) gives > 30 dB even at rho = 0, S = 0 dB."""
    m = PROFILES["paper-eq58"]
    assert m.psnr(0.0, DB(0.0)) > 30.0
    assert m.psnr(0.1, DB(4.0)) - 25.70 > 7.0


def test_calibrated_profile_makes_20_to_30_db_meaningful():
    """Across rho in [0.1, 0.3] and SNR in [-10, 20] dB the PSNR spans 20-30 dB: 30 dB is
    reachable (below the ceiling) but needs both a high rho and a high SNR."""
    m = load_profile("cifar10-calibrated")
    assert 30.0 < m.ceiling(0.3) < 33.0
    assert m.ceiling(0.1) < 30.0                       # 30 dB needs rho above rho_min
    assert m.psnr(0.1, DB(-10.0)) < 25.0               # 25 dB binds at low SNR
    assert m.snr_needed(30.0, 0.3) > DB(0.0)           # and 30 dB needs a good channel


@settings(max_examples=40)
@given(rho=st.floats(0.05, 0.5), snr_db=st.floats(-15, 40), pmin=st.floats(20, 30))
def test_inverses_agree_with_the_model(rho, snr_db, pmin):
    m = load_profile("cifar10-calibrated")
    s = m.snr_needed(pmin, rho)
    if np.isfinite(s):
        assert m.psnr(rho, s) == pytest.approx(pmin, abs=1e-9)
    else:
        assert m.ceiling(rho) < pmin
    r = m.rho_needed(pmin, DB(snr_db))
    if snr_db <= m.snr_db_max and r > 0:
        assert m.psnr(r, DB(snr_db)) == pytest.approx(pmin, abs=1e-9)


@settings(max_examples=30)
@given(rho=st.floats(0.05, 0.5), s1=st.floats(-10, 30), s2=st.floats(-10, 30))
def test_psnr_non_decreasing_and_concave_in_snr_and_rho(rho, s1, s2):
    """Condition 1: concave and non-decreasing in rho and in the (linear) SNR."""
    m = load_profile("cifar10-calibrated")
    lo, hi = sorted((DB(s1), DB(s2)))
    assert m.psnr(rho, lo) <= m.psnr(rho, hi) + 1e-12
    assert m.psnr(rho, (lo + hi) / 2) >= (m.psnr(rho, lo) + m.psnr(rho, hi)) / 2 - 1e-9
    assert m.psnr(rho, lo) <= m.psnr(rho + 0.1, lo)


@settings(max_examples=15)
@given(a=st.floats(10, 25), b=st.floats(1, 6), c_rho=st.floats(1, 10), c_s=st.floats(0.01, 0.2))
def test_fitter_recovers_known_parameters(a, b, c_rho, c_s):
    true = PsnrModel(a, b, c_rho, c_s, 20.0)
    rho, snr = np.meshgrid([0.1, 0.15, 0.2, 0.3], [0.0, 4.0, 10.0, 13.0, 20.0])
    y = true.psnr(rho.ravel(), DB(snr.ravel()))
    fit, rmse = fit_psnr(rho.ravel(), snr.ravel(), y)
    assert rmse < 1e-6
    assert fit.psnr(0.25, DB(7.0)) == pytest.approx(true.psnr(0.25, DB(7.0)), abs=1e-5)


def test_calibrated_rejects_points_of_different_rho():
    with pytest.raises(InputError, match="equal rho"):
        calibrated(points=((0.1, 4.0, 25.7), (0.2, 13.0, 26.79)))


# ----------------------------------------------------------------------------- profiles from files

def test_profile_file_loads_like_a_builtin(tmp_path):
    path = tmp_path / "jscc.json"
    m = PROFILES["cifar10-calibrated"]
    path.write_text(json.dumps({**m.to_dict(), "dataset": "cifar10", "rmse": 0.1, "seed": 0}))
    assert load_profile(str(path)) == m
    a = semalloc.generate("training", seed=1, devices=4, psnr_profile=str(path))
    b = semalloc.generate("training", seed=1, devices=4)
    assert a.to_dict() == b.to_dict()


def test_profile_file_with_points_only_is_fitted_and_changes_instances(tmp_path):
    true = PsnrModel(15.0, 2.0, 6.0, 0.05, 20.0)
    pts = [[r, s, float(true.psnr(r, DB(s)))] for r in (0.1, 0.2, 0.3) for s in (0.0, 5.0, 10.0, 20.0)]
    path = tmp_path / "measured.json"
    path.write_text(json.dumps({"points": pts}))
    inst = semalloc.generate("training", seed=1, devices=4, psnr_profile=str(path))
    assert inst.psnr.a == pytest.approx(15.0, rel=1e-5)
    assert inst.to_dict() != semalloc.generate("training", seed=1, devices=4).to_dict()


@pytest.mark.parametrize("content, field", [("{}", "points"), ('{"a": 1, "b": 1, "c_rho": -1, "c_s": 1}', "c_rho"),
                                             ('{"points": [[1, 2]]}', "points"), ("[1]", "JSON object"),
                                             ("not json", "JSON")])
def test_bad_profile_file_is_named(tmp_path, content, field):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=field):
        load_profile(str(path))


def test_unknown_profile_name():
    with pytest.raises(InputError, match="psnr_profile"):
        semalloc.generate("training", psnr_profile="nope")


# ----------------------------------------------------------------------------- instance and generator

@pytest.fixture(scope="module")
def raw():
    return json.loads(json.dumps(semalloc.generate("training", seed=4, devices=5).to_dict()))


def rejects(raw, mutate):
    bad = copy.deepcopy(raw)
    mutate(bad)
    with pytest.raises(InputError) as err:
        TrainingInstance.from_dict(bad)
    text = str(err.value)
    assert text.startswith("training: ") and "\n" not in text
    return text


def test_table_ii_defaults():
    inst = semalloc.generate("training", seed=0)
    d = inst.devices
    assert inst.N == 50 and inst.bandwidth_hz == 20e6 and inst.kappa == 1e-28
    assert inst.noise_psd_w_per_hz == pytest.approx(10 ** (-174 / 10) / 1e3)
    assert np.all(d.samples == 32) and np.all(d.bits_per_sample == 1e6)
    assert np.all((d.cycles_device >= 1e6) & (d.cycles_device <= 3e6))
    assert np.all((d.cycles_bs >= 3e6) & (d.cycles_bs <= 5e6))
    assert np.allclose(d.power_max_w, 0.1) and np.all(d.cpu_max_hz == 1e9) and np.all(d.bs_cpu_max_hz == 5e9)
    assert np.all(d.psnr_min_db == 25) and np.all(d.rho_min == 0.1) and np.all(d.rho_max == 0.3)
    assert np.all(np.linalg.norm(d.position_m, axis=1) <= 250.0)       # 500 m diameter disc
    assert inst.w_time + inst.w_energy == pytest.approx(1.0)


def test_path_loss_and_shadowing_statistics():
    """Gain = -(128.1 + 37.6 log10(d/km)) dB + N(0, 8^2) shadowing."""
    inst = semalloc.generate("training", seed=0, devices=4000)
    d_km = np.maximum(np.linalg.norm(inst.devices.position_m, axis=1), 10.0) / 1e3
    shadow = -10 * np.log10(inst.devices.gain) - (128.1 + 37.6 * np.log10(d_km))
    assert abs(shadow.mean()) < 0.5 and shadow.std() == pytest.approx(8.0, rel=0.05)


def test_w_energy_defaults_to_one_minus_w_time():
    inst = semalloc.generate("training", devices=3, w_time=0.8)
    assert inst.w_energy == pytest.approx(0.2)


@pytest.mark.parametrize("path", [("kappa",), ("devices", "gain"), ("psnr", "a"), ("psnr",)])
def test_missing_field_is_named(raw, path):
    def mutate(d):
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    text = rejects(raw, mutate)
    assert ".".join(path) in text and "missing" in text


def test_extra_field_is_named(raw):
    assert "devices.foo" in rejects(raw, lambda d: d["devices"].update(foo=[1.0] * 5))


def test_nan_negative_and_shape_are_named(raw):
    assert "devices.gain[2]" in rejects(raw, lambda d: d["devices"]["gain"].__setitem__(2, float("nan")))
    assert "devices.power_max_w[3]" in rejects(raw, lambda d: d["devices"]["power_max_w"].__setitem__(3, -1.0))
    assert "devices.rho_max" in rejects(raw, lambda d: d["devices"].update(rho_max=[0.3] * 4))
    assert "bandwidth_hz" in rejects(raw, lambda d: d.update(bandwidth_hz=0.0))


def test_rho_min_above_rho_max_is_named(raw):
    text = rejects(raw, lambda d: d["devices"]["rho_min"].__setitem__(1, 0.5))
    assert "devices.rho_min[1]" in text and "rho_max" in text


def test_unknown_setting_is_named():
    with pytest.raises(InputError, match="foo"):
        semalloc.generate("training", foo=1)
    with pytest.raises(InputError, match="devices"):
        semalloc.generate("training", devices=0)
    with pytest.raises(InputError, match="cycles_bs"):
        semalloc.generate("training", cycles_bs=[5e6, 3e6])


def test_a_time_weight_of_one_or_more_names_w_time_not_the_energy_weight_it_implies():
    """``w_energy`` defaults to ``1 - w_time``: w_time = 1.5 said "w_energy: must be > 0, got -0.5"."""
    with pytest.raises(semalloc.InputError, match=r"^training: w_time: must be < 1 when w_energy is not given"):
        semalloc.generate("training", seed=0, w_time=1.5)
    assert semalloc.generate("training", seed=0, w_time=1.5, w_energy=0.5).w_time == 1.5
