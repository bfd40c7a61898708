"""sbq: instance validation, the similarity table, and evaluate against hand computations."""
from __future__ import annotations

import numpy as np
import pytest

import semalloc
from semalloc.errors import InputError
from semalloc.perf.sbq import SNR_DB, TABLE, bits_similarity, similarity, sqnr_db
from semalloc.problems.sbq.evaluate import RTOL, outcome, parse_variables
from semalloc.problems.sbq.instance import SBQInstance, episode, generate


def test_similarity_reproduces_every_table_point():
    n, s = np.meshgrid(np.arange(1, 21), SNR_DB, indexing="ij")
    assert np.array_equal(similarity(n, s), TABLE)
    assert similarity(5, -40.0) == TABLE[4, 0] and similarity(5, 60.0) == TABLE[4, -1]
    mid = similarity(3, 0.5)
    assert mid == pytest.approx((TABLE[2, 10] + TABLE[2, 11]) / 2, abs=1e-15)


def test_bits_similarity_is_the_similarity_at_the_bits_sqnr_bit_for_bit():
    """The table lookup the model evaluates with gives similarity(n, sqnr_db(q)) exactly, past the table's last
    column too (clamped), broadcasting as similarity does; fractional or negative q are interpolated."""
    n, q = np.arange(1, 21)[:, None, None], np.arange(0, 40)[None, :, None]
    assert np.array_equal(bits_similarity(n, q), similarity(n, sqnr_db(q)))
    assert bits_similarity(n, q).shape == (20, 40, 1)
    for frac in (np.array([0.5, 2.25]), np.array([-3, 2])):
        assert np.array_equal(bits_similarity(np.array([4, 16]), frac), similarity(np.array([4, 16]), sqnr_db(frac)))


def test_table_is_shipped_with_its_source_line():
    from importlib import resources
    text = resources.files("semalloc.perf").joinpath("data", "deepsc-sentence-similarity.csv").read_text()
    assert "Source:" in text and "S-SE" in text


def _two_user():
    inst = generate(seed=0, users=2, antennas=2, subchannels=1)
    d = inst.to_dict()
    d["channel_re"] = [[[1e-5, 0.0]], [[0.0, 2e-5]]]
    d["channel_im"] = [[[0.0, 0.0]], [[1e-5, 0.0]]]
    return SBQInstance.from_dict(d)


def test_sinr_matches_hand_computed_two_user_case():
    inst = _two_user()
    # h1 = (1e-5, 0), h2 = (1e-5 j, 2e-5); w1 = (0.3, 0), w2 = (0, 0.4 j)
    v = {"subchannel": [0, 0], "bits": [2, 3], "bandwidth_hz": [1e6],
         "beam_re": [[0.3, 0.0], [0.0, 0.0]], "beam_im": [[0.0, 0.0], [0.0, 0.4]]}
    o = outcome(inst, parse_variables(inst, v))
    N = inst.noise_psd_w_hz * 1e6
    s1, i1 = (1e-5 * 0.3) ** 2, 0.0                          # h1^H w2 = 0
    s2, i2 = (2e-5 * 0.4) ** 2, (1e-5 * 0.3) ** 2            # |h2^H w2|^2, |h2^H w1|^2 = |-1e-5 j * 0.3|^2
    assert o.sinr == pytest.approx([s1 / (i1 + N), s2 / (i2 + N)], rel=1e-12)
    assert o.rate_bps == pytest.approx(1e6 * np.log2(1 + o.sinr), rel=1e-12)
    xi = similarity(inst.users.symbols_per_word, sqnr_db([2, 3]))
    assert o.xi == pytest.approx(xi)
    assert o.sqe == pytest.approx(xi / (20 * inst.users.symbols_per_word * np.array([2, 3])))
    assert o.latency_s == pytest.approx(inst.symbols * [2, 3] / o.rate_bps)


@pytest.mark.parametrize("change, message", [
    (dict(bandwidth_hz=[1.9e6]), "bandwidth"),
    (dict(beam_re=[[1.0, 0.0], [0.1, 0.0]]), "transmit power"),
    (dict(subchannel=[-1, 0]), "not served but has a nonzero beam"),
])
def test_evaluate_rejects_each_violation(change, message):
    inst = _two_user()
    v = {"subchannel": [0, 0], "bits": [2, 3], "bandwidth_hz": [1e6],
         "beam_re": [[0.3, 0.0], [0.0, 0.0]], "beam_im": [[0.0, 0.0], [0.0, 0.4]], **change}
    ev = semalloc.evaluate(inst, v)
    assert not ev.feasible and any(message in x for x in ev.violations)


def test_evaluate_rejects_more_users_than_antennas():
    inst = generate(seed=0, users=3, antennas=2, subchannels=1)
    v = {"subchannel": [0, 0, 0], "bits": [1, 1, 1], "bandwidth_hz": [1e6],
         "beam_re": np.zeros((3, 2)), "beam_im": np.zeros((3, 2))}
    assert any("users > Nt" in x for x in semalloc.evaluate(inst, v).violations)


def test_deadline_and_threshold_gate_the_score():
    inst = _two_user()
    v = parse_variables(inst, {"subchannel": [0, 0], "bits": [1, 8], "bandwidth_hz": [1e6],
                               "beam_re": [[0.3, 0.0], [0.0, 0.0]], "beam_im": [[0.0, 0.0], [0.0, 0.4]]})
    o = outcome(inst, v)
    expect = (o.xi >= inst.xi_threshold) & (o.latency_s <= inst.deadline_s * (1 + RTOL))
    assert np.array_equal(o.effective, expect)
    assert np.array_equal(o.score, np.where(expect, o.qos, 0.0))


@pytest.mark.parametrize("path, value, field", [
    (("channel_re",), [[[0.0]]], "channel_re"),
    (("users", "symbols_per_word"), [21, 4], "users.symbols_per_word[0]"),
    (("power_max_w",), -1.0, "power_max_w"),
])
def test_bad_instance_names_the_field(path, value, field):
    d = generate(seed=0, users=2, antennas=2, subchannels=1).to_dict()
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(InputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        SBQInstance.from_dict(d)


def test_nan_channel_and_bits_out_of_range_are_refused():
    d = generate(seed=0, users=2, antennas=2, subchannels=1).to_dict()
    d["channel_im"][1][0][1] = float("nan")
    with pytest.raises(InputError, match=r"channel_im\[1, 0, 1\]|channel_im\[1\]\[0\]\[1\]"):
        SBQInstance.from_dict(d)
    inst = generate(seed=0, users=2, antennas=2, subchannels=1)
    with pytest.raises(InputError, match=r"variables.bits\[1\]"):
        parse_variables(inst, {"subchannel": [0, 0], "bits": [1, 9], "bandwidth_hz": [1e6],
                               "beam_re": np.zeros((2, 2)), "beam_im": np.zeros((2, 2))})
    with pytest.raises(InputError, match="unknown setting"):
        generate(seed=0, bogus=1)


def test_episode_is_gauss_markov_with_fixed_positions():
    rho = 0.9
    slots = list(episode(seed=3, slots=400, rho=rho, users=2, antennas=2, subchannels=1, shadowing_db=0.0))
    g = np.array([s.h[0, 0, 0] for s in slots])
    g = g / np.sqrt(np.mean(np.abs(g) ** 2))
    lag1 = np.real(np.mean(g[1:] * np.conj(g[:-1])))
    assert lag1 == pytest.approx(rho, abs=0.1)
    assert all(np.array_equal(s.users.position_m, slots[0].users.position_m) for s in slots)
