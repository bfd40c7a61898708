"""Library-level validation of multicell instances and solutions, and file round trips."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semalloc
from semalloc import InputError
from semalloc.problems.multicell.instance import SCHEMA, MulticellInstance

N, M, A = 5, 3, 2


@pytest.fixture(scope="module")
def raw():
    """A valid instance as parsed JSON (plain lists), N = 5, M = 3, A = 2."""
    inst = semalloc.generate("multicell", seed=4, devices=N, base_stations=M, applications=A, rbs=[6])
    return json.loads(json.dumps(inst.to_dict()))


def rejects(raw, mutate):
    """Apply ``mutate`` to a deep copy of ``raw`` and return the InputError's text."""
    bad = copy.deepcopy(raw)
    mutate(bad)
    with pytest.raises(InputError) as err:
        MulticellInstance.from_dict(bad)
    text = str(err.value)
    assert text.startswith("multicell: "), text
    assert "\n" not in text                                  # one line for the CLI
    return text


def setitem(path, value):
    """Mutation that sets raw[path[0]][path[1]]... = value."""
    def mutate(d):
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return mutate


def delitem(path):
    def mutate(d):
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]
    return mutate


def test_valid_instance_loads(raw):
    inst = MulticellInstance.from_dict(raw)
    assert (inst.N, inst.M) == (N, M)
    assert inst.gain.shape == (N, M) and inst.base_stations.position_m.shape == (M, 2)


# ----------------------------------------------------------------------------- missing / extra

@pytest.mark.parametrize("path", [("gain",), ("deadline_s",), ("utility",), ("devices",),
                                  ("devices", "energy_j"), ("base_stations", "rbs"), ("applications", "eta2")])
def test_missing_field_is_named(raw, path):
    text = rejects(raw, delitem(path))
    assert ".".join(path) in text and "missing" in text


@pytest.mark.parametrize("path", [("foo",), ("devices", "foo"), ("applications", "bar")])
def test_extra_field_is_named(raw, path):
    text = rejects(raw, setitem(path, 1.0))
    assert ".".join(path) in text and "unknown field" in text


# ----------------------------------------------------------------------------- shapes

def test_gain_with_wrong_number_of_columns(raw):
    text = rejects(raw, lambda d: d.update(gain=[row + [1e-10] for row in d["gain"]]))
    assert "gain" in text and str(M + 1) in text


def test_device_array_with_wrong_length(raw):
    text = rejects(raw, lambda d: d["devices"]["power_max_w"].append(0.2))
    assert "devices.power_max_w" in text and str(N + 1) in text


def test_positions_need_two_coordinates(raw):
    text = rejects(raw, setitem(("base_stations", "position_m"), [[0.0, 0.0, 0.0]] * M))
    assert "base_stations.position_m" in text


def test_scalar_given_as_list_and_list_given_as_scalar(raw):
    assert "deadline_s" in rejects(raw, setitem(("deadline_s",), [0.01]))
    assert "devices.energy_j" in rejects(raw, setitem(("devices", "energy_j"), 0.002))


# ----------------------------------------------------------------------------- values

@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_named_with_their_index(raw, value):
    text = rejects(raw, lambda d: d["devices"]["energy_j"].__setitem__(2, value))
    assert "devices.energy_j[2]" in text and "finite" in text
    text = rejects(raw, lambda d: d["gain"][1].__setitem__(0, value))
    assert "gain[1][0]" in text
    assert "noise_w" in rejects(raw, setitem(("noise_w",), value))


@pytest.mark.parametrize("path,index", [
    (("devices", "energy_j"), 2), (("devices", "power_max_w"), 1), (("devices", "cpu_max_hz"), 4),
    (("devices", "gamma"), 0), (("devices", "raw_bits"), 3), (("base_stations", "rbs"), 1),
    (("base_stations", "interference_w"), 2), (("applications", "cycles_max"), 1),
])
def test_negative_array_values_are_named_with_their_index(raw, path, index):
    def mutate(d):
        d[path[0]][path[1]][index] = -1
    text = rejects(raw, mutate)
    assert f"{'.'.join(path)}[{index}]" in text and ">" in text


@pytest.mark.parametrize("field", ["rb_bandwidth_hz", "deadline_s", "noise_w"])
@pytest.mark.parametrize("value", [-1.0, 0.0])
def test_non_positive_scalars(raw, field, value):
    assert field in rejects(raw, setitem((field,), value))


def test_zero_is_a_valid_energy_power_and_rb_count(raw):
    ok = copy.deepcopy(raw)
    ok["devices"]["energy_j"][0] = 0.0
    ok["devices"]["power_max_w"][1] = 0.0
    ok["base_stations"]["rbs"][2] = 0
    MulticellInstance.from_dict(ok)


def test_rb_count_must_be_an_integer(raw):
    text = rejects(raw, lambda d: d["base_stations"]["rbs"].__setitem__(0, 2.5))
    assert "base_stations.rbs[0]" in text and "integer" in text


@pytest.mark.parametrize("path,value", [(("deadline_s",), "0.01"), (("devices", "energy_j"), ["2e-3"] * N),
                                        (("base_stations", "rbs"), ["5"] * M), (("base_stations", "rbs"), [5, "6", 7])])
def test_numeric_strings_are_rejected(raw, path, value):
    """JSON strings such as ``"0.01"`` are a wrong type, not numbers."""
    text = rejects(raw, setitem(path, value))
    assert ".".join(path) in text


@pytest.mark.parametrize("value", [1e300, 2.0**63])
def test_huge_integer_fields_are_not_reported_as_negative(raw, value):
    """An integer field beyond int64 is named, not reported as a wrapped negative value."""
    text = rejects(raw, lambda d: d["base_stations"]["rbs"].__setitem__(0, value))
    assert "base_stations.rbs[0]" in text
    assert "-9223372036854775808" not in text, text


@pytest.mark.parametrize("value", [A, A + 7, -1])
def test_application_index_out_of_range(raw, value):
    text = rejects(raw, lambda d: d["devices"]["application"].__setitem__(3, value))
    assert "devices.application[3]" in text


@pytest.mark.parametrize("value", [1.0, 1.5])
def test_eta2_must_be_below_one(raw, value):
    text = rejects(raw, lambda d: d["applications"]["eta2"].__setitem__(1, value))
    assert "applications.eta2[1]" in text


def test_beta1_below_minus_beta3(raw):
    text = rejects(raw, lambda d: d["applications"]["beta1"].__setitem__(0, -d["applications"]["beta3"][0] - 0.1))
    assert "applications.beta1[0]" in text


def test_unknown_utility(raw):
    text = rejects(raw, setitem(("utility",), "log"))
    assert "utility" in text and "accuracy" in text


@pytest.mark.parametrize("value", [True, None, {"a": 1}, "fast"])
def test_wrong_scalar_types(raw, value):
    assert "deadline_s" in rejects(raw, setitem(("deadline_s",), value))


def test_wrong_problem_key(raw):
    assert "problem" in rejects(raw, setitem(("problem",), "offloading"))


@pytest.mark.parametrize("value", [[1, 2], "instance", 3, None])
def test_non_object_instance(value):
    with pytest.raises(InputError) as err:
        MulticellInstance.from_dict(value)
    assert "instance" in str(err.value) and "object" in str(err.value)


@pytest.mark.parametrize("group", ["devices", "base_stations", "applications"])
def test_non_object_group(raw, group):
    text = rejects(raw, setitem((group,), [1, 2, 3]))
    assert group in text and "object" in text


NUMERIC_ARRAYS = [(g, f) for g, spec in SCHEMA.items() if isinstance(spec, dict)
                  for f, fs in spec.items() if fs.kind != "str" and fs.dims]   # arrays (not the scenario record's scalars)


@settings(max_examples=60)
@given(which=st.sampled_from(NUMERIC_ARRAYS), index=st.integers(0, 100),
       bad=st.sampled_from([float("nan"), float("inf"), -1.0, "x", None]))
def test_any_bad_array_entry_is_named(raw, which, index, bad):
    """Whatever numeric field gets a bad entry, the error names the field."""
    group, name = which
    arr = raw[group][name]
    i = index % len(arr)
    if bad == -1.0 and SCHEMA[group][name].lo is None:
        return                                                   # positions may be negative
    d = copy.deepcopy(raw)
    if isinstance(d[group][name][i], list):
        d[group][name][i][0] = bad
    else:
        d[group][name][i] = bad
    with pytest.raises(InputError) as err:
        MulticellInstance.from_dict(d)
    assert f"{group}.{name}" in str(err.value)


# ----------------------------------------------------------------------------- solve / generate / problems

def test_unknown_algorithm_is_named(raw):
    inst = MulticellInstance.from_dict(raw)
    with pytest.raises(InputError) as err:
        semalloc.solve(inst, "nope")
    assert "nope" in str(err.value) and "prop" in str(err.value)


def test_unknown_generator_setting_is_named():
    with pytest.raises(InputError) as err:
        semalloc.generate("multicell", foo=1)
    assert "foo" in str(err.value)


@pytest.mark.parametrize("kw,field", [({"devices": 0}, "devices"), ({"base_stations": 2.5}, "base_stations"),
                                      ({"applications": True}, "applications"),
                                      ({"energy_j": [2e-3, 1e-3]}, "energy_j"),
                                      ({"utility": "log"}, "utility"),
                                      ({"power_max_w": -1.0}, "power_max_w")])
def test_bad_generator_settings_are_named(kw, field):
    with pytest.raises(InputError) as err:
        semalloc.generate("multicell", **kw)
    assert field in str(err.value)


def test_unknown_problem():
    with pytest.raises(InputError) as err:
        semalloc.generate("nope")
    assert "nope" in str(err.value)


# ----------------------------------------------------------------------------- solution variables

@pytest.fixture(scope="module")
def solved():
    inst = semalloc.generate("multicell", seed=2, devices=6, base_stations=2, rbs=[10])
    return inst, semalloc.solve(inst, "prop")


def test_solution_variables_are_validated(solved):
    inst, res = solved
    var = {k: np.asarray(v).tolist() for k, v in res.variables.items()}
    cases = [
        (lambda v: v["bs"].__setitem__(0, inst.M), "variables.bs[0]"),
        (lambda v: v["bs"].__setitem__(1, -2), "variables.bs[1]"),
        (lambda v: v["rbs"].append(1), "variables.rbs"),
        (lambda v: v["mode"].__setitem__(2, "fast"), "variables.mode[2]"),
        (lambda v: v["power_w"].__setitem__(3, float("nan")), "variables.power_w[3]"),
        (lambda v: v["cycles"].__setitem__(0, -5.0), "variables.cycles[0]"),
        (lambda v: v.pop("bits"), "variables.bits"),
        (lambda v: v.update(extra=[0] * inst.N), "variables.extra"),
    ]
    for mutate, field in cases:
        bad = copy.deepcopy(var)
        mutate(bad)
        with pytest.raises(InputError) as err:
            semalloc.evaluate(inst, bad)
        assert field in str(err.value), (field, str(err.value))


def test_evaluate_lists_violations_instead_of_raising(solved):
    inst, res = solved
    var = {k: np.asarray(v).copy() for k, v in res.variables.items()}
    served = np.nonzero(var["bs"] >= 0)[0]
    assert len(served)
    i = served[0]
    var["power_w"][i] = inst.devices.power_max_w[i] * 2
    var["rbs"][i] = 10 * int(inst.base_stations.rbs.max())
    ev = semalloc.evaluate(inst, var)
    assert not ev.feasible
    assert any("power_w" in v for v in ev.violations) and any("RBs allocated" in v for v in ev.violations)


# ----------------------------------------------------------------------------- round trips

def assert_same_instance(a, b):
    da, db = a.to_dict(), b.to_dict()
    assert json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)
    np.testing.assert_array_equal(a.gain, b.gain)
    for group in ("devices", "base_stations", "applications"):
        for name, arr in a.data[group].items():
            other = b.data[group][name]
            assert np.asarray(arr).dtype.kind == np.asarray(other).dtype.kind, (group, name)
            np.testing.assert_array_equal(arr, other)
    for name in ("rb_bandwidth_hz", "deadline_s", "noise_w", "utility"):
        assert getattr(a, name) == getattr(b, name)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), devices=st.integers(1, 8), base_stations=st.integers(1, 3),
       utility=st.sampled_from(["accuracy", "inverse_error"]))
def test_from_dict_to_dict_round_trip(seed, devices, base_stations, utility):
    inst = semalloc.generate("multicell", seed=seed, devices=devices, base_stations=base_stations, utility=utility)
    again = MulticellInstance.from_dict(inst.to_dict())
    assert_same_instance(inst, again)
    via_json = MulticellInstance.from_dict(json.loads(json.dumps(inst.to_dict())))
    assert_same_instance(inst, via_json)


def test_save_load_round_trip(tmp_path):
    inst = semalloc.generate("multicell", seed=11, devices=7, base_stations=3, rbs=[8, 16])
    path = tmp_path / "sub" / "inst.json"
    semalloc.save(inst, path)
    assert json.loads(path.read_text())["problem"] == "multicell"
    again = semalloc.load(path)
    assert isinstance(again, MulticellInstance)
    assert_same_instance(inst, again)
    # the loaded instance solves to the same allocation
    a, b = semalloc.solve(inst, "prop"), semalloc.solve(again, "prop")
    assert a.objective == b.objective


@pytest.mark.parametrize("algorithm", ["prop", "exact", "fan"])
def test_saved_solution_loads_and_evaluates_feasible(tmp_path, algorithm):
    inst = semalloc.generate("multicell", seed=6, devices=8, base_stations=2, rbs=[12])
    res = semalloc.solve(inst, algorithm)
    assert res.feasible
    path = tmp_path / "sol.json"
    semalloc.save(res, path)
    doc = json.loads(path.read_text())
    assert doc["algorithm"] == algorithm and doc["status"] == res.status
    var = semalloc.load_solution(path, inst)
    ev = semalloc.evaluate(inst, var)
    assert ev.feasible, ev.violations
    assert ev.objective == pytest.approx(res.objective, rel=1e-12)
    np.testing.assert_array_equal(var["bs"], res.variables["bs"])


def test_load_errors(tmp_path):
    with pytest.raises(InputError) as err:
        semalloc.load(tmp_path / "missing.json")
    assert "not found" in str(err.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError):
        semalloc.load(bad)
    nop = tmp_path / "noproblem.json"
    nop.write_text(json.dumps({"gain": []}))
    with pytest.raises(InputError) as err:
        semalloc.load(nop)
    assert "problem" in str(err.value)
    broken = tmp_path / "broken.json"
    inst = semalloc.generate("multicell", seed=0, devices=3, base_stations=2)
    d = inst.to_dict()
    d["devices"]["energy_j"][2] = -1.0
    broken.write_text(json.dumps(d))
    with pytest.raises(InputError) as err:
        semalloc.load(broken)
    assert "devices.energy_j[2]" in str(err.value)


def test_load_solution_errors(tmp_path):
    inst = semalloc.generate("multicell", seed=0, devices=3, base_stations=2)
    p = tmp_path / "sol.json"
    p.write_text(json.dumps({"problem": "offloading", "variables": {}}))
    with pytest.raises(InputError) as err:
        semalloc.load_solution(p, inst)
    assert "problem" in str(err.value)
    p.write_text(json.dumps({"problem": "multicell"}))
    with pytest.raises(InputError) as err:
        semalloc.load_solution(p, inst)
    assert "variables" in str(err.value)
    other = semalloc.generate("multicell", seed=0, devices=4, base_stations=2)
    semalloc.save(semalloc.solve(other, "prop"), p)
    with pytest.raises(InputError) as err:                  # solution for 4 devices, instance has 3
        semalloc.load_solution(p, inst)
    assert "variables." in str(err.value)
