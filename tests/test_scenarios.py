"""Scenarios (issue 18): layouts, TR 38.901 path loss, the instance's scenario
record, redrawing gains from edited positions, and a sweep by a user generator."""
from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import semalloc
from semalloc.channel import hex_sites, los_probability, path_loss_38901, redraw, sector_gain_db
from semalloc.errors import InputError
from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import parse_spec
from semalloc.experiments.store import ResultsStore

SMALL = {"multicell": {}, "offloading": {"terminals": 6, "subcarriers": 4}, "training": {"devices": 12},
         "compression": {"users": 8}, "sbq": {}}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "semalloc.cli", *map(str, args)], capture_output=True, text=True)


def _digest(inst) -> str:
    d = inst.to_dict()
    d.pop("scenario")
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


#: sha256 of each default instance (without its new ``scenario`` record), computed
#: with the generators of commit 3438528, before scenarios existed.
BEFORE = {("multicell", 0): "1a884489edbb415d", ("multicell", 3): "5a190bf90fd2f069",
          ("offloading", 0): "f5be0a782b56b5f7", ("offloading", 3): "3bce8f325c6b3a8e",
          ("training", 0): "7d2d2308400a363e", ("training", 3): "877d564ae4e5f6ab",
          ("compression", 0): "937cc91a58199ff3", ("compression", 3): "b50100084fe82bfe",
          ("sbq", 0): "3200884ab13a578d", ("sbq", 3): "422831569bec8e85"}


@pytest.mark.parametrize("key,seed", sorted(BEFORE))
def test_default_draws_are_byte_identical_to_before(key, seed):
    inst = semalloc.generate(key, seed=seed, **SMALL[key])
    assert _digest(inst) == BEFORE[key, seed]
    assert inst.scenario["path_loss"] == "paper" and inst.scenario["layout"] == "uniform"


#: TR 38.901 Table 7.4.1-1 (default heights: UMa hBS 25 m, UMi 10 m, RMa 35 m; hUT 1.5 m;
#: RMa h = 5 m, W = 20 m; c = 3e8 m/s; fc in GHz inside the formulas; d3D = sqrt(d2D^2 + (hBS-hUT)^2)):
#:   UMa LOS  PL1 = 28 + 22 lg d3D + 20 lg fc  (d2D <= d'BP = 4 (hBS-1)(hUT-1) fc[Hz]/c),
#:            PL2 = 28 + 40 lg d3D + 20 lg fc - 9 lg(d'BP^2 + (hBS-hUT)^2);
#:   UMa NLOS max(PL_LOS, 13.54 + 39.08 lg d3D + 20 lg fc - 0.6 (hUT - 1.5));
#:   UMi LOS  PL1 = 32.4 + 21 lg d3D + 20 lg fc, PL2 = 32.4 + 40 lg d3D + 20 lg fc - 9.5 lg(d'BP^2 + (hBS-hUT)^2);
#:   UMi NLOS max(PL_LOS, 35.3 lg d3D + 22.4 + 21.3 lg fc - 0.3 (hUT - 1.5));
#:   RMa LOS  PL1 = 20 lg(40 pi d3D fc/3) + min(0.03 h^1.72, 10) lg d3D - min(0.044 h^1.72, 14.77) + 0.002 lg(h) d3D
#:            (d2D <= dBP = 2 pi hBS hUT fc[Hz]/c), PL2 = PL1(dBP) + 40 lg(d3D/dBP);
#:   RMa NLOS max(PL_LOS, 161.04 - 7.1 lg W + 7.5 lg h - (24.37 - 3.7 (h/hBS)^2) lg hBS
#:            + (43.42 - 3.1 lg hBS)(lg d3D - 3) + 20 lg fc - (3.2 (lg(11.75 hUT))^2 - 4.97)).
#: Worked example, UMa LOS, 100 m, 3.5 GHz: d3D = sqrt(100^2 + 23.5^2) = 102.72 m,
#: 28 + 22 x 2.01166 + 20 x 0.54407 = 83.14 dB (d'BP = 560 m). The values were computed
#: with a scalar transcription of these formulas (math module), apart from channel.py.
#: Breakpoints: UMa d'BP 560 m / 4480 m, UMi 210 m / 1680 m, RMa dBP 3848 m / 30788 m
#: (3.5 / 28 GHz), so the table covers PL1 and PL2 of each LOS model.
TABLE = [
    ("38.901-uma", 100.0, 3.5e9, True, 83.14), ("38.901-uma", 100.0, 3.5e9, False, 103.04),
    ("38.901-uma", 1000.0, 3.5e9, True, 109.41), ("38.901-uma", 1000.0, 3.5e9, False, 141.67),
    ("38.901-uma", 100.0, 28e9, True, 101.20), ("38.901-uma", 100.0, 28e9, False, 121.10),
    ("38.901-uma", 1000.0, 28e9, True, 122.95), ("38.901-uma", 1000.0, 28e9, False, 159.73),
    ("38.901-umi", 100.0, 3.5e9, True, 85.31), ("38.901-umi", 100.0, 3.5e9, False, 104.64),
    ("38.901-umi", 500.0, 3.5e9, True, 107.11), ("38.901-umi", 500.0, 3.5e9, False, 129.26),
    ("38.901-umi", 100.0, 28e9, True, 103.38), ("38.901-umi", 100.0, 28e9, False, 123.88),
    ("38.901-umi", 500.0, 28e9, True, 118.02), ("38.901-umi", 500.0, 28e9, False, 148.50),
    ("38.901-rma", 100.0, 3.5e9, True, 84.20), ("38.901-rma", 100.0, 3.5e9, False, 92.67),
    ("38.901-rma", 5000.0, 3.5e9, True, 125.97), ("38.901-rma", 5000.0, 3.5e9, False, 157.42),
    ("38.901-rma", 100.0, 28e9, True, 102.26), ("38.901-rma", 100.0, 28e9, False, 110.74),
    ("38.901-rma", 5000.0, 28e9, True, 143.42), ("38.901-rma", 5000.0, 28e9, False, 175.48),
]
HEIGHTS = {"38.901-uma": 25.0, "38.901-umi": 10.0, "38.901-rma": 35.0}
SIGMA = {("38.901-uma", True): 4.0, ("38.901-uma", False): 6.0, ("38.901-umi", True): 4.0,
         ("38.901-umi", False): 7.82, ("38.901-rma", False): 8.0}


@pytest.mark.parametrize("model,d,fc,los,expected", TABLE)
def test_38901_path_loss_matches_the_standard(model, d, fc, los, expected):
    pl, sigma = path_loss_38901(model, np.array([d]), np.array([los]), fc, HEIGHTS[model], 1.5)
    assert pl[0] == pytest.approx(expected, abs=0.006)
    # shadow fading std (Table 7.4.1-1): RMa LOS is 4 dB before the breakpoint, 6 dB after
    rma_los = 4.0 if d < 2 * math.pi * 35 * 1.5 * fc / 3e8 else 6.0
    assert sigma[0] == (rma_los if (model, los) == ("38.901-rma", True) else SIGMA[model, los])


def test_los_probability_matches_table_7_4_2_1():
    """UMa 18/d + exp(-d/63)(1 - 18/d), UMi the same with 36, RMa exp(-(d-10)/1000); 1 at short range."""
    d = np.array([5.0, 18.0, 100.0])
    assert los_probability("38.901-uma", d) == pytest.approx([1.0, 1.0, 0.18 + 0.82 * math.exp(-100 / 63)], abs=1e-6)
    assert los_probability("38.901-umi", d) == pytest.approx([1.0, 1.0, 0.18 + 0.82 * math.exp(-100 / 36)], abs=1e-6)
    assert los_probability("38.901-rma", d) == pytest.approx([1.0, math.exp(-8e-3), math.exp(-0.09)], abs=1e-9)


def test_generated_los_fraction_follows_the_probability():
    """Each UMi link's gain is the LOS or the NLOS law at its shadowing draw (standard
    normal of the link's stream times the law's sigma); the share that is LOS matches
    the mean LOS probability within 3 binomial standard errors."""
    n, m = 400, 4
    inst = semalloc.generate("multicell", seed=2, devices=n, base_stations=m, path_loss="38.901-umi", area_m=300.0)
    d = np.linalg.norm(inst.devices.position_m[:, None] - inst.base_stations.position_m[None], axis=-1)
    z = np.stack([semalloc.draws.stream(2, "shadowing", i).standard_normal(m) for i in range(n)])
    loss_db = -10 * np.log10(inst.gain)
    law = {los: path_loss_38901("38.901-umi", d, np.full(d.shape, los), 3.5e9, 10.0, 1.5) for los in (True, False)}
    is_los = [np.isclose(loss_db, pl + s * z, rtol=0, atol=1e-9) for pl, s in (law[True], law[False])]
    assert np.all(is_los[0] | is_los[1])                  # every link follows one of the two laws
    p = los_probability("38.901-umi", d)
    assert abs(is_los[0].mean() - p.mean()) < 3 * math.sqrt(p.mean() * (1 - p.mean()) / p.size)


def test_generate_multicell_hex_umi_from_the_cli(tmp_path):
    out = tmp_path / "hex.json"
    r = cli("generate", "multicell", "--set", "layout=hex", "--set", "path_loss=38.901-umi",
            "--set", "carrier_hz=3.5e9", "-o", out)
    assert r.returncode == 0, r.stderr
    inst = semalloc.load(out)
    assert inst.scenario["layout"] == "hex" and inst.scenario["carrier_hz"] == 3.5e9
    assert inst.scenario["isd_m"] == 200.0 and inst.scenario["bs_height_m"] == 10.0    # UMi defaults
    bs = inst.base_stations.position_m
    nearest = np.sort(np.linalg.norm(bs[:, None] - bs[None], axis=-1), axis=1)[:, 1]
    assert nearest == pytest.approx(200.0)                 # sites on the grid, ISD apart
    ue = inst.devices.position_m                           # every device inside a site's cell
    assert np.linalg.norm(ue[:, None] - bs[None], axis=-1).min(axis=1).max() <= 200.0 / math.sqrt(3) + 1e-9
    assert np.all((inst.gain > 0) & (inst.gain < 1))
    r = cli("solve", out, "-a", "nua")
    assert r.returncode == 0, r.stderr


def test_hex_sites_ring_by_ring():
    sites = hex_sites(19, 100.0)
    r = np.round(np.linalg.norm(sites, axis=1), 6)
    assert r[0] == 0 and np.allclose(r[1:7], 100.0) and np.all(r[7:19] > 100.0) and np.all(r[7:19] <= 200.0)
    d = np.linalg.norm(sites[:, None] - sites[None], axis=-1) + np.eye(19) * 1e9
    assert d.min() == pytest.approx(100.0)


def test_three_sectors_see_a_user_through_their_antenna_pattern():
    """Table 7.3-1: 8 dBi on boresight, 8 - min(12 (phi/65)^2, 30) off it."""
    g = sector_gain_db(np.array([[math.cos(math.radians(30)), math.sin(math.radians(30))]]), np.zeros((3, 2)))
    assert g[0] == pytest.approx([8.0, 8.0 - 30.0, 8.0 - 30.0])
    inst = semalloc.generate("multicell", seed=1, devices=6, base_stations=6, layout="hex", sectors=3,
                             path_loss="38.901-uma")
    bs = inst.base_stations.position_m
    assert np.array_equal(bs[0], bs[2]) and not np.array_equal(bs[0], bs[3])


@pytest.mark.parametrize("key", ["training", "compression", "sbq"])
def test_one_bs_problems_take_a_path_loss_but_refuse_hex(key):
    with pytest.raises(InputError, match="layout: hex needs several BSs"):
        semalloc.generate(key, seed=0, layout="hex", **SMALL[key])
    inst = semalloc.generate(key, seed=0, path_loss="38.901-uma", carrier_hz=28e9, **SMALL[key])
    paper = semalloc.generate(key, seed=0, **SMALL[key])
    assert inst.scenario["carrier_hz"] == 28e9
    gain = {"training": lambda i: i.devices.gain, "compression": lambda i: i.users.gain_std,
            "sbq": lambda i: np.abs(i.h)}[key]
    assert np.all(gain(inst) != gain(paper))


@pytest.mark.parametrize("settings,field", [
    ({"carrier_hz": 3e9}, "carrier_hz"),                              # the paper model has none
    ({"path_loss": "38.901-rma", "carrier_hz": 60e9}, "carrier_hz"),  # RMa holds to 30 GHz
    ({"path_loss": "38.901-uma", "shadowing_db": 3.0}, "shadowing_db"),
    ({"path_loss": "38.901-uma", "ue_height_m": 20.0}, "ue_height_m"),
    ({"layout": "hex", "sectors": 3, "base_stations": 5}, "base_stations"),
    ({"sectors": 3}, "sectors"), ({"isd_m": 300.0}, "isd_m"), ({"layout": "positions"}, "positions"),
    ({"path_loss": "cost231"}, "path_loss"), ({"layout": "grid"}, "layout"),
])
def test_inconsistent_scenario_settings_name_the_field(settings, field):
    with pytest.raises(InputError) as e:
        semalloc.generate("multicell", seed=0, **settings)
    assert e.value.field == field


def test_positions_from_a_csv(tmp_path):
    csv = tmp_path / "pos.csv"
    csv.write_text("kind,x_m,y_m\nbs,0,0\nbs,300,0\nuser,10,20\nuser,250,-40\nuser,100,100\n")
    inst = semalloc.generate("multicell", seed=0, layout="positions", positions=str(csv), base_stations=2,
                             devices=3)
    assert inst.base_stations.position_m.tolist() == [[0.0, 0.0], [300.0, 0.0]]
    assert inst.devices.position_m.tolist() == [[10.0, 20.0], [250.0, -40.0], [100.0, 100.0]]
    with pytest.raises(InputError, match="positions: has 2 bs rows but the instance has 5 BSs"):
        semalloc.generate("multicell", seed=0, layout="positions", positions=str(csv))


@pytest.mark.parametrize("key", sorted(SMALL))
@pytest.mark.parametrize("model", ["paper", "38.901-umi"])
def test_redraw_of_an_unedited_instance_reproduces_it(key, model):
    inst = semalloc.generate(key, seed=4, path_loss=model, **SMALL[key])
    again = redraw(inst)
    a, b = inst.to_dict(), again.to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or key == "sbq"
    if key == "sbq":                                     # h = sqrt(beta) g: equal to rounding
        assert np.allclose(again.h, inst.h, rtol=1e-12, atol=0)


def test_more_devices_keep_the_existing_ones_and_their_38901_gains():
    few = semalloc.generate("multicell", seed=5, devices=8, layout="hex", path_loss="38.901-uma")
    more = semalloc.generate("multicell", seed=5, devices=20, layout="hex", path_loss="38.901-uma")
    assert np.array_equal(more.gain[:8], few.gain) and np.array_equal(more.devices.position_m[:8],
                                                                       few.devices.position_m)


def test_a_hand_moved_bs_gets_new_gains_through_the_redraw_verb(tmp_path):
    src, moved, out = tmp_path / "a.json", tmp_path / "moved.json", tmp_path / "b.json"
    assert cli("generate", "multicell", "--seed", 2, "--set", "devices=10", "--set", "base_stations=4",
               "--set", "path_loss=38.901-uma", "-o", src).returncode == 0
    raw = json.loads(src.read_text())
    raw["base_stations"]["position_m"][1] = [raw["base_stations"]["position_m"][1][0] + 120.0,
                                             raw["base_stations"]["position_m"][1][1]]
    moved.write_text(json.dumps(raw))
    r = cli("generate", "--from", moved, "-o", out)
    assert r.returncode == 0, r.stderr
    old, new = np.array(raw["gain"]), semalloc.load(out).gain
    assert np.array_equal(np.delete(new, 1, axis=1), np.delete(old, 1, axis=1))      # untouched links keep theirs
    assert np.all(new[:, 1] != old[:, 1])                                             # the moved BS's change
    # a redraw at another carrier changes every link; refusing anything but channel settings
    r = cli("generate", "--from", moved, "--set", "carrier_hz=28e9", "-o", out)
    assert r.returncode == 0 and np.all(semalloc.load(out).gain < new)
    r = cli("generate", "--from", moved, "--set", "devices=3", "-o", out)
    assert r.returncode == 2 and "devices" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_old_file_without_a_scenario_still_loads_but_cannot_be_redrawn():
    raw = semalloc.generate("multicell", seed=0, devices=4, base_stations=2).to_dict()
    raw.pop("scenario")
    inst = type(semalloc.generate("multicell", seed=0, devices=2, base_stations=1)).from_dict(raw)
    with pytest.raises(InputError, match="scenario: the instance does not record"):
        redraw(inst)


GENERATOR = '''
import semalloc

def dense_urban(settings, seed):
    return semalloc.generate("multicell", seed=seed, layout="hex", path_loss="38.901-umi", base_stations=3,
                             **settings)

def wrong(settings, seed):
    return semalloc.generate("training", seed=seed, devices=3)
'''


def test_a_spec_with_a_user_generator_sweeps(tmp_path, monkeypatch):
    (tmp_path / "my_scenarios.py").write_text(GENERATOR)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = parse_spec({"problem": "multicell", "generator": "my_scenarios:dense_urban",
                       "vary": {"devices": [4, 6]}, "seeds": 2, "algorithms": ["nua", "prop"]})
    assert spec.settings == {"generator": "my_scenarios:dense_urban"}
    report = run_sweep(spec, tmp_path / "store.db", workers=2, progress=False)
    assert report.done == 8                 # tasks: 2 points x 2 seeds x 2 algorithms
    with ResultsStore.open(tmp_path / "store.db") as store:
        rows = store.rows()
    assert len(rows) == 8
    import my_scenarios
    for row in rows:                                   # each row is the user generator's instance, solved
        inst = my_scenarios.dense_urban({"devices": row["point"]["devices"]}, row["seed"])
        assert inst.M == 3 and inst.scenario["path_loss"] == "38.901-umi"
        assert row["objective"] == pytest.approx(semalloc.solve(inst, row["algorithm"]).objective, rel=1e-9)
    plain = parse_spec({"problem": "multicell", "vary": {"devices": [4, 6]}, "seeds": 2, "algorithms": ["nua"]})
    assert plain.hash != spec.hash                     # the generator is part of the results' identity
    with pytest.raises(InputError, match="spec.generator: my_scenarios:wrong returned TrainingInstance"):
        parse_spec({"problem": "multicell", "generator": "my_scenarios:wrong", "algorithms": ["nua"]})
    with pytest.raises(InputError, match="spec.generator: must be `module:function`"):
        parse_spec({"problem": "multicell", "generator": "my_scenarios.dense_urban", "algorithms": ["nua"]})
