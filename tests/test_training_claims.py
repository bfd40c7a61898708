"""The training paper's Sec. VII claims that hold (docs/models.md, "Claims of Sec. VII"),
as trends of the quick specs of Figs. 3-8: means over the quick seeds (0, 1), margins stated
per test. Claims that do not hold have their measured cause in docs/models.md; where the
cause is cheap to check, it is tested here too. Algorithm 3 as printed (``alg3_printed``)
against the P4-first variant (``alternating``) at the same start."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import semalloc
from semalloc.experiments.reproduce import figures
from semalloc.experiments.spec import load_spec
from semalloc.problems.training.algorithms import (
    _objective,
    _random_point,
    alternating,
    average_point,
    optimise_pb,
    start_point,
)
from semalloc.problems.training.subproblems import solve_p3

BASELINES = ["random", "average", "pb_only", "fhr_only"]
PROPOSED = ["alternating", "alg3_printed"]


@functools.lru_cache(maxsize=None)
def quick(fig: int, algo: str, seeds: int | None = None) -> tuple[list, dict]:
    """The quick spec's x values and, per measure, the mean over its seeds (or seeds 0 to
    ``seeds - 1``) at each x."""
    spec = load_spec(figures("training")[fig], quick=True)
    (x,) = spec.points[0]
    runs = [[semalloc.solve(semalloc.generate("training", seed=s, **spec.settings, **p), algo)
             for s in (spec.seeds if seeds is None else range(seeds))] for p in spec.points]
    assert all(r.status == "feasible" for rs in runs for r in rs)
    keys = ["objective", *runs[0][0].stats["metrics"]]
    return [p[x] for p in spec.points], {k: np.array([np.mean([r.objective if k == "objective" else
                                                               r.stats["metrics"][k] for r in rs])
                                                      for rs in runs]) for k in keys}


def falls(v, rel=0.0) -> bool:
    """Every step lowers ``v`` by at least ``rel`` (relative)."""
    return bool(np.all(v[1:] <= v[:-1] * (1 - rel)))


def rises(v, rel=0.0) -> bool:
    return bool(np.all(v[1:] >= v[:-1] * (1 + rel)))


# ----------------------------------------------------------------------------- evaluate's measures

@pytest.mark.parametrize("algo", PROPOSED + BASELINES)
def test_measures_of_evaluate_add_up(algo):
    """T's device and BS parts split T as the devices' total device and BS times do, and add up
    to T; E's parts add up to E; the PSNR range contains its mean and meets P_min."""
    inst = semalloc.generate("training", seed=4, devices=12, bandwidth_hz=3e6, psnr_min_db=28.0)
    r = semalloc.solve(inst, algo)
    m = semalloc.evaluate(inst, r.variables).metrics
    c1, c2 = inst.cycles
    v = r.variables
    snr = v["power_w"] * inst.snr_per_hz / v["bandwidth_hz"]
    t_dev = c1 / v["cpu_hz"] + v["rho"] * inst.raw_bits / (v["bandwidth_hz"] * np.log2(1 + snr))
    share = t_dev.sum() / (t_dev + c2 / v["bs_cpu_hz"]).sum()
    assert m["round_time_device_s"] == pytest.approx(share * m["round_time_s"], rel=1e-9)
    assert m["round_time_device_s"] + m["round_time_bs_s"] == pytest.approx(m["round_time_s"], rel=1e-12)
    assert m["energy_bs_j"] == pytest.approx(inst.kappa * np.sum(c2 * v["bs_cpu_hz"] ** 2), rel=1e-12)
    assert m["energy_device_j"] + m["energy_bs_j"] == pytest.approx(m["energy_j"], rel=1e-12)
    assert 28.0 - 1e-6 <= m["psnr_db_min"] <= m["psnr_db_mean"] <= m["psnr_db_max"]


# ----------------------------------------------------------------------------- Figs. 3-5

@pytest.mark.parametrize("algo", PROPOSED + BASELINES)
def test_fig3_everything_falls_as_bandwidth_grows(algo):
    """Fig. 3: "the general decreasing trend" of T, E and w1 T + w2 E in B_total (1, 10, 20 MHz),
    every curve, each step at least 2 % lower."""
    _, m = quick(3, algo)
    assert all(falls(m[k], 0.02) for k in ("objective", "round_time_s", "energy_j")), m


@pytest.mark.parametrize("fig", [3, 4, 5, 6, 7])
def test_p4_first_beats_every_baseline_at_every_point(fig):
    """Figs. 3(c), 4(c), 5(c) (and 6-7): alternating's weighted sum is below every baseline's at
    every quick point, by at least 2 %."""
    _, alt = quick(fig, "alternating")
    for b in BASELINES:
        assert np.all(alt["objective"] <= quick(fig, b)[1]["objective"] * 0.98), (fig, b)


@pytest.mark.parametrize("fig", [4, 5])
def test_printed_algorithm3_beats_random_average_and_pb_only_in_figs4_and_5(fig):
    """Figs. 4(c), 5(c) for the printed loop, against the baselines it does beat: at every quick
    point its mean over seeds 0-9 is at most 0.8 times random's and average's (per instance at
    most 0.71, 20 seeds) and below pb_only's (closest at 4 dBm: 2.8 % below on seeds 0-9, lower on
    16 of 20 instances). Seeds 0-9 (about 2 s): the quick seeds 0-1 are too few at 4 dBm, where
    one instance's ratio to pb_only spans 0.57-1.42."""
    _, pr = quick(fig, "alg3_printed", 10)
    for b, factor in (("random", 0.8), ("average", 0.8), ("pb_only", 1.0)):
        assert np.all(pr["objective"] < factor * quick(fig, b, 10)[1]["objective"]), (fig, b)


@pytest.mark.parametrize("fig", [4, 5])
def test_printed_algorithm3_ends_level_with_fhr_only_in_figs4_and_5(fig):
    """Figs. 4(c), 5(c) do NOT hold for the printed loop against fhr_only (docs/models.md, claims
    11 and 14): it ends at fhr_only's level, below it on some instances and above on others
    (Fig. 4: per-instance ratio 0.81-1.46, lower on 9-11 of 20 per point, means over seeds 0-9
    0.6-3.3 % below, over seeds 0-19 0.1-2.4 % above; Fig. 5: 0.97-1.05, 9-11 of 20, 0.2-0.7 %
    below, 0.1-0.4 % above). Asserted on seeds 0-9 at the quick points:
    the ratio printed / fhr_only is below 1 on some instances and above on others, and its mean
    over the figure is within 5 % of 1 (measured 0.979 in Fig. 4, 0.994 in Fig. 5; the standard
    error of that mean, from the per-instance spread over seeds 0-19, is 2.0 % in Fig. 4, so 5 %
    is 2.5 of them; 0.4 % in Fig. 5)."""
    spec = load_spec(figures("training")[fig], quick=True)
    ratio = np.array([[semalloc.solve(inst, "alg3_printed").objective / semalloc.solve(inst, "fhr_only").objective
                       for inst in (semalloc.generate("training", seed=s, **spec.settings, **p) for s in range(10))]
                      for p in spec.points])
    assert np.any(ratio < 1) and np.any(ratio > 1), ratio
    assert abs(ratio.mean() - 1) <= 0.05, ratio.mean()


def test_fig3b_p4_first_spends_the_least_energy():
    """Fig. 3(b): "the performance of our method on E is also better than other benchmarks":
    alternating's E is at most half of every other method's at 1, 10 and 20 MHz."""
    _, alt = quick(3, "alternating")
    for b in BASELINES + ["alg3_printed"]:
        assert np.all(alt["energy_j"] <= 0.5 * quick(3, b)[1]["energy_j"]), b


@pytest.mark.parametrize("algo", PROPOSED + BASELINES)
def test_fig4a_round_time_falls_with_power(algo):
    """Fig. 4(a): "all curves show a downward trend on T" (4, 12, 20 dBm): never up by more than
    1 %, and 20 dBm at least 20 % below 4 dBm."""
    _, m = quick(4, algo)
    t = m["round_time_s"]
    assert np.all(t[1:] <= t[:-1] * 1.01) and t[-1] <= 0.8 * t[0], t


def test_fig4_pb_only_time_gap_is_smaller_than_its_energy_gap():
    """Fig. 4(a): pb_only's T is near ours, "the gap is much smaller than that of E": at every
    p_max the relative T gap is under a quarter of the relative E gap."""
    _, alt = quick(4, "alternating")
    _, pb = quick(4, "pb_only")
    t_gap = np.abs(pb["round_time_s"] / alt["round_time_s"] - 1)
    e_gap = pb["energy_j"] / alt["energy_j"] - 1
    assert np.all(t_gap < 0.25 * e_gap), (t_gap, e_gap)


def test_fig4b_energy_of_p4_first_rises_moderately_with_power():
    """Fig. 4(b): "a moderate rise of E": alternating's E rises at every step, by less than a
    factor 2 from 4 to 20 dBm (1.42 at N = 50, 10 seeds)."""
    _, m = quick(4, "alternating")
    assert rises(m["energy_j"]) and m["energy_j"][-1] < 2 * m["energy_j"][0]


@pytest.mark.parametrize("algo", ["alg3_printed"] + BASELINES)
def test_fig5_time_falls_and_energy_rises_with_cpu_speed(algo):
    """Fig. 5(a)-(b): T falls and E rises with f_max (0.1, 0.5, 1 GHz), every curve but
    alternating's (next test): T never up by more than 0.5 %, E never down by more than 0.5 %,
    and both move by 1 % end to end."""
    _, m = quick(5, algo)
    t, e = m["round_time_s"], m["energy_j"]
    assert np.all(t[1:] <= t[:-1] * 1.005) and t[-1] < 0.99 * t[0], t
    assert np.all(e[1:] >= e[:-1] * 0.995) and e[-1] > 1.01 * e[0], e


def test_fig5_p4_first_time_falls_and_energy_rises_until_it_settles():
    """Fig. 5(a)-(b) for alternating: from 0.1 to 0.5 GHz T falls and E rises by at least 10 %
    (seeds 0-9: -24 %, +29 %); from 0.5 to 1 GHz it is stationary (f_max binds on 20 % of the
    devices at 0.5 GHz, on none from 0.75 GHz) and T and E move within the per-instance spread
    measured over seeds 0-19, T -1.7 % to +1.2 %, E -3.4 % to +3.1 % (so 2 % and 3.5 % here; the
    mean of seeds 0-1 has T +0.6 %, E -0.8 %: the claim does not hold per instance there)."""
    _, m = quick(5, "alternating")
    t, e = m["round_time_s"], m["energy_j"]
    assert t[1] <= 0.9 * t[0] and e[1] >= 1.1 * e[0], (t, e)
    assert abs(t[2] / t[1] - 1) <= 0.02 and abs(e[2] / e[1] - 1) <= 0.035, (t, e)


@pytest.mark.parametrize("algo", ["alternating", "fhr_only"])
def test_fig5_proposed_and_fhr_only_settle_at_high_cpu_speed(algo):
    """Fig. 5: the proposed method and "Optimize f, rho only" "enter a stationary phase":
    the weighted sum at 1 GHz within 3 % of that at 0.5 GHz, while 0.1 -> 0.5 GHz moves it
    by more than 10 %."""
    _, m = quick(5, algo)
    o = m["objective"]
    assert abs(o[2] / o[1] - 1) < 0.03 and o[0] / o[1] - 1 > 0.10, o


# ----------------------------------------------------------------------------- Figs. 6-8

@pytest.mark.parametrize("algo", PROPOSED)
def test_fig6_time_falls_and_energy_rises_with_w1(algo):
    """Fig. 6: as w1 grows (0.1, 0.5, 0.9) T falls and E rises, each step by at least 2 %."""
    _, m = quick(6, algo)
    assert falls(m["round_time_s"], 0.02) and rises(m["energy_j"], 0.02), m


@pytest.mark.parametrize("algo", PROPOSED)
def test_fig6_devices_take_more_time_than_the_bs(algo):
    """Fig. 6: "the users' overhead is greater than that of the BS": the device part of T is at
    least 1.2 times its BS part at every w1, and so is the devices' E at w1 <= 0.5 (at w1 = 0.9
    the BS's E is larger for alternating: docs/models.md)."""
    w, m = quick(6, algo)
    assert np.all(m["round_time_device_s"] >= 1.2 * m["round_time_bs_s"]), m
    low = np.array(w) <= 0.5
    assert np.all(m["energy_device_j"][low] >= 1.2 * m["energy_bs_j"][low]), m


@pytest.mark.parametrize("algo", PROPOSED)
def test_fig7_time_grows_with_devices_mostly_on_devices(algo):
    """Fig. 7(a): T rises with N (10, 30, 50), each step by at least 10 %, "especially on
    devices": the device part grows by a larger factor than the BS part."""
    _, m = quick(7, algo)
    dev, bs = m["round_time_device_s"], m["round_time_bs_s"]
    assert rises(m["round_time_s"], 0.10) and dev[-1] / dev[0] > bs[-1] / bs[0], m


def test_fig7b_energy_rises_sharper_than_time_for_the_printed_loop():
    """Fig. 7(b): "a sharper increase in energy" holds for the printed loop: E(50)/E(10) at least
    twice T(50)/T(10) (9.4 vs 3.9 at 10 seeds); not for alternating (docs/models.md)."""
    _, m = quick(7, "alg3_printed")
    e, t = m["energy_j"], m["round_time_s"]
    assert e[-1] / e[0] >= 2 * t[-1] / t[0], m


@pytest.mark.parametrize("algo", PROPOSED + ["best"])
def test_fig8_psnr_time_and_energy_rise_with_the_target(algo):
    """Fig. 8: the mean PSNR, T and E are non-decreasing in P_min (20, 25, 30 dB) and higher at
    30 dB than at 20 dB (PSNR by at least 1 dB, T and E by at least 20 %); the least PSNR over
    devices meets the target."""
    pmin, m = quick(8, algo)
    assert np.all(m["psnr_db_min"] >= np.array(pmin) - 1e-6)
    for k, up in (("psnr_db_mean", None), ("round_time_s", 1.2), ("energy_j", 1.2)):
        v = m[k]
        assert np.all(np.diff(v) >= -1e-9 * np.abs(v[1:])), (k, v)
        assert (v[-1] >= v[0] + 1.0) if up is None else (v[-1] >= up * v[0]), (k, v)


# ----------------------------------------------------------------------------- measured causes

def test_fig3a_pb_only_loses_on_time_only_because_of_its_rho():
    """Fig. 3(a) ("pb_only outperforms fhr_only as B_total increases") does not hold: pb_only keeps
    the Average rho = 0.2, twice fhr_only's. Given fhr_only's rho, pb_only's T is below
    fhr_only's (docs/models.md: by 20-33 %, more as B grows); here at 1 and 20 MHz, seeds 0-1."""
    for bw in (1e6, 20e6):
        for seed in range(2):
            inst = semalloc.generate("training", seed=seed, bandwidth_hz=bw)
            a, fhr = average_point(inst), semalloc.solve(inst, "fhr_only")
            pb = semalloc.solve(inst, "pb_only")
            t_cf = optimise_pb(inst, a["cpu_hz"], a["bs_cpu_hz"], fhr.variables["rho"],
                               _objective(inst, a) / inst.w_time)[2]
            t_fhr = fhr.stats["metrics"]["round_time_s"]
            assert pb.stats["metrics"]["round_time_s"] > t_fhr > t_cf * 1.05, (bw, seed)


def test_fig8_targets_up_to_25_db_bind_on_no_device():
    """Fig. 8 is flat from 20 to 25 dB: at rho_min the calibrated PSNR already exceeds 25 dB on
    every device of alternating's answer at P_min = 20 dB (seeds 0-1), so the allocation at
    25 dB is the same."""
    for seed in range(2):
        runs = [semalloc.solve(semalloc.generate("training", seed=seed, psnr_min_db=p), "alternating")
                for p in (20.0, 25.0)]
        assert runs[0].stats["metrics"]["psnr_db_min"] > 25.0
        assert runs[0].objective == pytest.approx(runs[1].objective, rel=1e-6)


# ----------------------------------------------------------------------------- Algorithm 3 as printed

def test_alg3_printed_is_the_printed_loop():
    """Algorithm 3 as printed: sol^(0) is the Random allocation of ``seed`` (a random feasible
    (p, B)); step 4 is P3 at its (p, B), step 5 P4; it stops when the scaled solution moves by at
    most tol (epsilon), and returns sol^(k+1) (after P4)."""
    inst = semalloc.generate("training", seed=3, devices=20, bandwidth_hz=5e6)
    r = semalloc.solve(inst, "alg3_printed", seed=7, tol=1e-6)
    start = _random_point(inst, 7)
    p3 = solve_p3(inst, start["power_w"], start["bandwidth_hz"])
    h = r.stats["history"]
    assert h[0] == pytest.approx(_objective(inst, start), rel=1e-12)
    assert h[1] == pytest.approx(_objective(inst, dict(start, cpu_hz=p3.f, bs_cpu_hz=p3.h, rho=p3.rho)),
                                 rel=1e-12)
    assert r.stats["first"] == "p3" and r.stats["stop"] == "solution" and r.stats["last_move"] <= 1e-6
    assert r.objective == pytest.approx(h[-1], rel=1e-12) and len(h) == 1 + 2 * r.stats["iterations"]
    assert np.all(np.diff(h) <= 1e-12 * np.abs(h[:-1]))
    other = semalloc.solve(inst, "alg3_printed", seed=8)
    assert other.objective != r.objective                      # the start is random


def test_printed_loop_from_the_average_start_begins_at_fhr_only_and_never_rises():
    """From the Average (p, B), the printed loop's first P3 is fhr_only exactly; P4 and the next
    steps can only lower it (how far is not general: 0.0 % at 1 MHz, -0.8 % at 4 dBm, N = 50, seeds 0-9)."""
    for setting in ({"bandwidth_hz": 1e6}, {"power_max_dbm": 4.0}):
        inst = semalloc.generate("training", seed=0, devices=20, **setting)
        _, stats = alternating(inst, start_point(inst, "average"), first="p3", tol=1e-6, stop="solution")
        fhr = semalloc.solve(inst, "fhr_only").objective
        assert stats["history"][1] == pytest.approx(fhr, rel=1e-12) and stats["history"][-1] <= fhr


@pytest.mark.parametrize("start", ["random", "average", "fastest"])
def test_which_order_wins_at_the_same_start_depends_on_the_setting(start):
    """Same start, both orders (docs/models.md table, N = 50, 10 seeds): at 1 MHz P4 first ends
    lower (10/10 from every start); at p_max = 4 dBm P3 first (the printed order) does (10/10
    from every start). Here seeds 0-1, each by at least 2 %."""
    for setting, p4_wins in (({"bandwidth_hz": 1e6}, True), ({"power_max_dbm": 4.0}, False)):
        for seed in range(2):
            inst = semalloc.generate("training", seed=seed, **setting)
            pr = semalloc.solve(inst, "alg3_printed", start=start, seed=seed).objective
            p4 = semalloc.solve(inst, "alternating", start=start, seed=seed).objective
            assert (p4 <= 0.98 * pr) if p4_wins else (pr <= 0.98 * p4), (setting, seed, pr, p4)


def test_options_of_the_two_orders_are_validated():
    inst = semalloc.generate("training", seed=0, devices=3)
    with pytest.raises(semalloc.InputError, match="start"):
        semalloc.solve(inst, "alg3_printed", start="slowest")
    with pytest.raises(semalloc.InputError, match="stop"):
        alternating(inst, start_point(inst, "average"), stop="never")
    with pytest.raises(semalloc.InputError, match="max_iter"):
        semalloc.solve(inst, "alg3_printed", max_iter=0)
