"""Common random numbers in every generator (issue 15, docs/models.md
"Common random numbers"): with the same seed, an instance with more items
contains the items of the instance with fewer, with the same values, so the
points of a sweep over a count compare nested scenarios."""
import numpy as np
import pytest

from semalloc.draws import draw_choice, draw_setting, per_item
from semalloc.errors import InputError
from semalloc.problems.compression.instance import generate as compression
from semalloc.problems.multicell.instance import generate as multicell
from semalloc.problems.offloading.instance import generate as offloading
from semalloc.problems.sbq.instance import episode
from semalloc.problems.sbq.instance import generate as sbq
from semalloc.problems.training.instance import generate as training


def _leaves(d, path=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    else:
        yield path, d


def assert_nested(small, big):
    """Every value of ``small`` is the leading block of the same value of ``big``;
    returns the names of the values that grew (so a test sees the count changed)."""
    b = dict(_leaves(big.to_dict()))
    grown = []
    for name, v in _leaves(small.to_dict()):
        if isinstance(v, str) or np.ndim(v) == 0:
            assert v == b[name], name
            continue
        v, w = np.asarray(v), np.asarray(b[name])
        assert v.ndim == w.ndim, name
        assert np.array_equal(v, w[tuple(slice(0, n) for n in v.shape)]), f"{name} changed when a count grew"
        if v.shape != w.shape:
            grown.append(name)
    return grown


# (generator, count, fewer, more, a value that must grow); seeds 0 and 7
CASES = [
    (multicell, "devices", 10, 20, "gain"),
    (multicell, "base_stations", 5, 6, "gain"),
    (multicell, "base_stations", 2, 10, "base_stations.position_m"),
    (compression, "users", 5, 30, "users.gain_std"),
    (training, "devices", 10, 50, "devices.gain"),
    (offloading, "terminals", 10, 30, "gain"),
    (offloading, "base_stations", 4, 6, "gain"),
    (offloading, "subcarriers", 16, 32, "gain"),
    (sbq, "users", 3, 12, "channel_re"),
    (sbq, "antennas", 2, 4, "channel_re"),
    (sbq, "subchannels", 1, 3, "channel_im"),
]


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("gen,count,few,more,grows", CASES,
                         ids=[f"{g.__module__.split('.')[2]}-{c}" for g, c, *_ in CASES])
def test_more_items_contain_the_fewer(gen, count, few, more, grows, seed):
    grown = assert_nested(gen(seed, **{count: few}), gen(seed, **{count: more}))
    assert grows in grown


def test_multicell_issue_statement():
    """`generate multicell --set devices=20` contains the 10 devices (positions and
    channels) of `--set devices=10`; `--set base_stations=6` the 5 BSs of the default."""
    a, b = multicell(3, devices=10), multicell(3, devices=20)
    assert np.array_equal(a.devices.position_m, b.devices.position_m[:10])
    assert np.array_equal(a.gain, b.gain[:10])
    d, e = multicell(3), multicell(3, base_stations=6)
    assert np.array_equal(d.base_stations.position_m, e.base_stations.position_m[:5])
    assert np.array_equal(d.gain, e.gain[:, :5])
    assert not np.array_equal(multicell(3).gain, multicell(4).gain)          # the seed matters


def test_sbq_episode_first_slot_is_generate_and_nested_in_antennas():
    s0 = next(episode(seed=2, slots=3, users=3, antennas=2, subchannels=2))
    g = sbq(2, users=3, antennas=2, subchannels=2)
    assert np.array_equal(s0.h, g.h) and np.array_equal(s0.users.sentences, g.users.sentences)
    few = list(episode(seed=2, slots=3, users=3, antennas=2, subchannels=2))
    more = list(episode(seed=2, slots=3, users=4, antennas=3, subchannels=2))
    for a, b in zip(few, more):
        assert np.array_equal(a.h, b.h[:3, :, :2])
        assert np.array_equal(a.users.sentences, b.users.sentences[:3])
    assert not np.array_equal(few[1].h, few[2].h)


def test_streams_are_distinct_and_draws_follow_their_law():
    rng_free = per_item(0, "a", 4000, lambda g: g.random())
    assert abs(rng_free.mean() - 0.5) < 0.02 and abs(rng_free.std() - np.sqrt(1 / 12)) < 0.01
    assert not np.allclose(per_item(0, "a", 5, lambda g: g.random()), per_item(0, "b", 5, lambda g: g.random()))
    assert not np.allclose(per_item(0, "a", 5, lambda g: g.random()), per_item(1, "a", 5, lambda g: g.random()))
    x = draw_setting(0, "x", [2, 5], 4000, "p", integer=True)
    assert set(np.unique(x)) == {2, 3, 4, 5} and np.all(np.abs(np.bincount(x.astype(int))[2:] / 4000 - 0.25) < 0.03)
    y = draw_setting(0, "y", [1.0, 3.0], 1000, "p")
    assert y.min() >= 1 and y.max() <= 3
    c = draw_choice(0, "c", [10, 20, 30], 6000, p=[0.0, 1.0, 3.0])
    assert 10 not in c and abs(np.mean(c == 30) - 0.75) < 0.03


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_a_bad_seed_is_an_input_error_naming_the_seed(seed):
    with pytest.raises(InputError, match="seed"):
        multicell(seed)


def test_offloading_exit_points_change_only_the_exits():
    """Offloading's Figs. 2-6 sweep the number of exit points (3 and 1): positions, gains,
    task types and every other draw stay; only the exits (and their FLOPs) move, and
    with one exit point every task leaves at it."""
    a, b = (dict(_leaves(offloading(5, exit_points=m).to_dict())) for m in (3, 1))
    moved = {k for k in a if not np.array_equal(np.asarray(a[k]), np.asarray(b[k]))}
    assert moved <= {"tasks.exit", "tasks.recognition_flop"}
    assert set(np.asarray(b["tasks.exit"]).tolist()) == {0}


# ----------------------------------------------------------------------------- the settings table

MODULE_GENERATE = {"multicell": multicell, "offloading": offloading, "compression": compression,
                   "training": training, "sbq": sbq}
COUNT = {"multicell": "devices", "offloading": "terminals", "compression": "users", "training": "devices",
         "sbq": "users"}


@pytest.mark.parametrize("key", list(MODULE_GENERATE))
@pytest.mark.parametrize("bad", [{"no_such_setting": 1}, {"count": 0}, {"count": 2.5}, {"count": True}])
def test_a_module_generate_refuses_what_semalloc_generate_refuses_with_the_same_message(key, bad):
    """The one check of the settings table (solve.check_settings), from either entry point."""
    import semalloc
    bad = {COUNT[key] if k == "count" else k: v for k, v in bad.items()}
    messages = []
    for gen in (lambda **s: semalloc.generate(key, seed=0, **s), MODULE_GENERATE[key]):
        with pytest.raises(InputError) as e:
            gen(**bad)
        messages.append(str(e.value))
    assert messages[0] == messages[1] and list(bad)[0] in messages[0]


@pytest.mark.parametrize("key,setting,inside,outside,message", [
    ("sbq", {}, {"rho": 0.0}, {"rho": 1.5}, "sbq: rho: must be in [0, 1], got 1.5"),
    ("sbq", {}, {"rho": 1}, {"rho": -1e-9}, "sbq: rho: must be in [0, 1], got -1e-09"),
    ("compression", {"radius_m": 50.0}, {"min_distance_m": 50.0}, {"min_distance_m": 50.5},
     "compression: min_distance_m: must be in [0, radius_m = 50], got 50.5"),
    ("compression", {}, {"radius_m": 10.0}, {"radius_m": 9.0},       # the default min_distance_m is 10 m
     "compression: min_distance_m: must be in [0, radius_m = 9], got 10.0"),
])
def test_ranges_of_the_settings_table_hold_at_their_bounds_and_refuse_past_them(key, setting, inside, outside,
                                                                                message):
    import semalloc
    assert semalloc.generate(key, seed=0, users=2, **setting, **inside).problem == key
    for gen in (lambda **s: semalloc.generate(key, seed=0, **s), MODULE_GENERATE[key]):
        with pytest.raises(InputError) as e:
            gen(users=2, **setting, **outside)
        assert str(e.value) == message
    row = {r["setting"]: r for r in _settings_rows(key)}[list(outside)[0] if key == "sbq" else "min_distance_m"]
    assert row["range"] == list(semalloc.get_problem(key).ranges[row["setting"]])


def _settings_rows(key):
    import json

    from typer.testing import CliRunner

    from semalloc.cli import app
    r = CliRunner().invoke(app, ["settings", key, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)
