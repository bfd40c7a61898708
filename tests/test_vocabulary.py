"""One vocabulary (docs/vocabulary.md): every generator setting, algorithm option,
stats key, metrics key and status of the built-in problems is in its table;
no built-in uses a renamed (old) name; the old names still work, with a
warning naming the new one, in Python and on the command line."""
from __future__ import annotations

import importlib.util
import json
import pickle
import re
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

import semalloc
from semalloc.errors import InputError, RenamedWarning
from semalloc.result import STATUSES
from semalloc.rl.sbq_drl import AGENTS
from semalloc.solve import _MODULES, RENAMED, _option_types, get_problem

DOC = Path(__file__).resolve().parents[1] / "docs" / "vocabulary.md"
SPECS = Path(semalloc.__file__).parent / "experiments" / "specs"
PROBLEMS = list(_MODULES)

#: Small instances, so that every algorithm runs in well under a second (drl: a few).
SMALL = {"multicell": dict(devices=4, base_stations=2), "compression": dict(users=3), "training": dict(devices=3),
         "offloading": dict(terminals=3, base_stations=2, subcarriers=2, tasks=2),
         "sbq": dict(users=2, subchannels=2)}
OPTIONS = {("compression", "exact"): dict(units=10, o_cells=20), ("compression", "best"): dict(units=10, max_iter=2),
           ("training", "exact"): dict(starts=2), ("training", "best"): dict(max_iter=5)}


def _table(heading: str) -> list[list[str]]:
    """The rows of the first table under ``## heading``, as lists of cells."""
    text = DOC.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ")]
    return rows[1:]                                              # without the header


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, set[str]]:
    """Name -> kinds (S, O, T, M, Z) of the table; ``<m>`` in a name is an index."""
    out = {}
    for row in _table("The table"):
        assert len(row) == 6, row
        name = row[0].strip("`")
        assert name not in out, f"{name} has two rows"
        out[name] = {k.strip() for k in row[1].split(",")}
    return out


def in_table(name: str, kind: str) -> bool:
    voc = vocabulary()
    if name in voc:
        return kind in voc[name]
    return any(kind in kinds and re.fullmatch(re.escape(k).replace("<m>", r"\d+"), name)
               for k, kinds in voc.items() if "<m>" in k)


@lru_cache(maxsize=None)
def stats_of(key: str) -> dict[str, set[str]]:
    """Algorithm -> the stats keys (and ``metrics.*`` keys) it returns on a small instance."""
    inst = semalloc.generate(key, seed=1, **SMALL[key])
    out = {}
    for name in get_problem(key).algorithms:
        agent = name in AGENTS
        if agent and importlib.util.find_spec("torch") is None:        # the rl extra is not installed
            continue
        one = semalloc.generate("sbq", seed=1, users=2) if agent else inst   # the shipped agents' M
        r = semalloc.solve(one, name, **OPTIONS.get((key, name), {}))
        assert r.status in STATUSES and "time_s" in r.stats, (key, name, r.status, r.message)
        out[name] = set(r.stats) | {f"metrics.{m}" for m in r.stats.get("metrics", {})}
    assert any(any(k.startswith("metrics.") for k in keys) for keys in out.values()) or key == "sbq", key
    return out


def test_the_table_parses_and_every_row_has_a_unit_column_and_problems():
    voc = vocabulary()
    assert len(voc) > 150 and {"noise_dbm_hz", "gap_rel", "gap_abs", "bound", "max_iter"} <= set(voc)
    for row in _table("The table"):
        assert set(row[1].replace(" ", "").split(",")) <= set("SOTMZ"), row
        assert row[4], f"{row[0]}: which problems use it?"


@pytest.mark.parametrize("key", PROBLEMS)
def test_every_setting_is_in_the_table(key):
    missing = [n for n in get_problem(key).defaults if not in_table(n, "S")]
    assert not missing, f"{key} settings not in docs/vocabulary.md: {missing}"


@pytest.mark.parametrize("key", PROBLEMS)
def test_every_option_is_in_the_table(key):
    missing = [(a, n) for a, alg in get_problem(key).algorithms.items() for n in _option_types(alg)
               if not in_table(n, "O")]
    assert not missing, f"{key} options not in docs/vocabulary.md: {missing}"


@pytest.mark.parametrize("key", PROBLEMS)
def test_every_stats_and_metrics_key_returned_is_in_the_table(key):
    missing = sorted({(a, s) for a, keys in stats_of(key).items() for s in keys
                      if not (in_table(s[8:], "M") if s.startswith("metrics.") else in_table(s, "T"))})
    assert not missing, f"{key} stats not in docs/vocabulary.md: {missing}"


def test_the_infeasible_path_stats_are_in_the_table():
    inst = semalloc.generate("training", seed=0, devices=3)
    raw = inst.to_dict()
    raw["devices"]["psnr_min_db"][1] = 60.0                 # above the PSNR model's ceiling
    r = semalloc.solve(type(inst).from_dict(raw), "alternating")
    assert r.status == "infeasible" and r.stats["infeasible_devices"] == [1]
    assert all(in_table(s, "T") for s in r.stats)


def test_every_status_is_in_the_table():
    assert all(in_table(s, "Z") for s in STATUSES)


def test_the_renamed_table_is_the_one_the_code_accepts():
    kinds = {"setting": "S", "option": "O", "stat": "T"}
    doc = {(kind, problem, old.strip("`"), new.strip("`")) for kind, problem, old, new in _table(
        "Renamed (old names accepted until the next release)")}
    code = {(kind, p, old, new) for kind, by in RENAMED.items() for p, table in by.items()
            for old, new in table.items()}
    assert doc == code
    for kind, problem, old, new in code:
        assert in_table(new, kinds[kind]), new
        # an old name may stay in the table only with another problem's meaning (training's `start` option)
        assert not in_table(old, kinds[kind]) or (kind, old) == ("stat", "start"), (kind, problem, old)


@pytest.mark.parametrize("key", PROBLEMS)
def test_no_builtin_uses_a_renamed_name(key):
    prob = get_problem(key)
    assert not set(RENAMED["setting"].get(key, {})) & set(prob.defaults)
    for a, alg in prob.algorithms.items():
        assert not set(RENAMED["option"].get(key, {})) & set(_option_types(alg)), a
    for a, keys in stats_of(key).items():
        assert not set(RENAMED["stat"].get(key, {})) & keys, a


def test_no_spec_uses_a_renamed_name():
    for path in sorted(SPECS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        key = spec["problem"]
        names = set(spec.get("settings") or {}) | set(spec.get("vary") or {}) \
            | set((spec.get("quick") or {}).get("vary") or {})
        old = set(RENAMED["setting"].get(key, {}))
        assert not {n for n in names if "." not in n} & old, path.name
        options = {n for opts in (spec.get("options") or {}).values() for n in opts} \
            | {n.partition(".")[2] for n in names if "." in n}
        assert not options & set(RENAMED["option"].get(key, {})), path.name


def test_an_old_setting_warns_naming_the_new_one_and_draws_the_same_bytes():
    for key, old, new in (("compression", "noise_psd_dbm_hz", "noise_dbm_hz"),
                          ("training", "noise_dbm_per_hz", "noise_dbm_hz")):
        with pytest.warns(RenamedWarning, match=f"'{old}' is renamed '{new}'"):
            a = semalloc.generate(key, seed=4, **SMALL[key], **{old: -160.0})
        b = semalloc.generate(key, seed=4, **SMALL[key], **{new: -160.0})
        c = semalloc.generate(key, seed=4, **SMALL[key])
        assert json.dumps(a.to_dict()) == json.dumps(b.to_dict()) != json.dumps(c.to_dict())


def test_an_old_and_a_new_name_together_are_refused_naming_both():
    with pytest.raises(InputError, match="noise_dbm_per_hz.*'noise_dbm_hz'"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        semalloc.generate("training", noise_dbm_per_hz=-170.0, noise_dbm_hz=-170.0)


def test_an_old_option_warns_naming_the_new_one_and_gives_the_same_result():
    inst = semalloc.generate("compression", seed=2, users=3)
    with pytest.warns(RenamedWarning, match="'max_rounds' is renamed 'max_iter'"):
        old = semalloc.solve(inst, "best", units=10, max_rounds=1)
    new = semalloc.solve(inst, "best", units=10, max_iter=1)
    assert old.variables.keys() == new.variables.keys()
    assert all((old.variables[k] == new.variables[k]).all() for k in new.variables)
    with pytest.raises(InputError, match="takes no option 'max_rounds'"):       # fra has no max_iter: not renamed
        semalloc.solve(inst, "fra", max_rounds=1)


def test_an_old_stats_key_reads_the_new_one_with_a_warning():
    inst = semalloc.generate("multicell", seed=3, devices=6, base_stations=2)
    r = semalloc.solve(inst, "exact")
    assert "gap" not in r.stats and "gap_rel" in r.stats
    with pytest.warns(RenamedWarning, match="'gap' is renamed 'gap_rel'"):
        assert r.stats["gap"] == r.stats["gap_rel"]
    with pytest.warns(RenamedWarning, match="'dual_bound' is renamed 'bound'"):
        assert semalloc.solve(inst, "best").stats.get("dual_bound") is not None
    assert r.stats.get("no_such_key", 7) == 7
    with pytest.raises(KeyError):
        r.stats["no_such_key"]
    assert json.loads(json.dumps(r.to_dict()))["stats"]["gap_rel"] == r.stats["gap_rel"]
    again = pickle.loads(pickle.dumps(r)).stats                # a sweep worker's result keeps the old names
    with pytest.warns(RenamedWarning, match="'gap' is renamed 'gap_rel'"):
        assert again["gap"] == r.stats["gap_rel"]


def test_the_cli_prints_one_warning_line_and_goes_on(tmp_path):
    out = tmp_path / "i.json"
    r = subprocess.run([sys.executable, "-m", "semalloc.cli", "generate", "training", "--set", "devices=3",
                        "--set", "noise_dbm_per_hz=-160", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert warned == ["warning: training: setting 'noise_dbm_per_hz' is renamed 'noise_dbm_hz' "
                      "(docs/vocabulary.md); the old name goes in the next release"]
    assert semalloc.load(out).to_dict() == semalloc.generate("training", seed=0, devices=3,
                                                             noise_dbm_hz=-160.0).to_dict()
