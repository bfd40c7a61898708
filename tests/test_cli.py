"""The `semalloc` command: verbs, --json shapes (DESIGN.md), exit codes, bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = ["--set", "devices=8", "--set", "base_stations=3", "--set", "rbs=[10,20]"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "semalloc.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "net.json"
    r = run("generate", "multicell", "--seed", 3, *SMALL, "-o", path)
    assert r.returncode == 0, r.stderr
    return path


def test_problems_json():
    r = run("problems", "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    mc = next(p for p in doc if p["key"] == "multicell")
    assert set(mc) == {"key", "sense", "algorithms"} and mc["sense"] == "max"
    assert {"prop", "tc", "fsc", "arb", "nua", "fan", "exact", "best"} <= set(mc["algorithms"])


def test_solve_evaluate_round_trip(net, tmp_path):
    sol = tmp_path / "sol.json"
    r = run("solve", net, "-a", "exact", "-o", sol, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)                       # stdout is one JSON document
    assert set(res) == {"problem", "algorithm", "status", "objective", "variables", "stats", "message"}
    assert res["status"] == "optimal" and "time_s" in res["stats"]
    assert set(res["variables"]) == {"bs", "rbs", "mode", "cpu_hz", "power_w", "cycles", "bits"}
    r = run("evaluate", net, sol, "--json")
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert set(ev) == {"feasible", "objective", "violations"}
    assert ev["feasible"] and ev["violations"] == []
    assert ev["objective"] == pytest.approx(res["objective"], rel=1e-12)


def test_evaluate_infeasible_exits_1_and_lists_every_violation(net, tmp_path):
    sol = tmp_path / "sol.json"
    assert run("solve", net, "-a", "prop", "-o", sol).returncode == 0
    doc = json.loads(sol.read_text())
    served = [i for i, b in enumerate(doc["variables"]["bs"]) if b >= 0]
    assert len(served) >= 2
    a, b = served[:2]
    doc["variables"]["power_w"][a] = 1e3                       # over P_max and the energy budget
    doc["variables"]["bits"][b] *= 1e3                         # misses the deadline
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = run("evaluate", net, bad, "--json")
    assert r.returncode == 1
    ev = json.loads(r.stdout)
    assert not ev["feasible"]
    text = "\n".join(ev["violations"])
    assert f"device {a}: power_w" in text and f"device {a}: energy" in text and f"device {b}: time" in text
    r = run("evaluate", net, bad)
    assert r.returncode == 1 and "violated" in r.stdout


def test_compare_json_one_entry_per_algorithm(net):
    r = run("compare", net, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [set(row) for row in rows] == [{"algorithm", "status", "objective", "feasible", "time_s", "gap_to_exact",
                                          "ratio_to_proposed"}] * len(rows)
    by = {row["algorithm"]: row for row in rows}
    assert set(by) == {"prop", "tc", "fsc", "arb", "nua", "fan", "exact", "best"}
    assert all(row["feasible"] for row in rows)
    assert all(row["objective"] <= by["exact"]["objective"] * (1 + 1e-9) for row in rows)
    r = run("compare", net)
    assert r.returncode == 0 and "gap to exact" in r.stdout


def _mutations():
    def drop(d):
        del d["devices"]["energy_j"]
    def extra(d):
        d["devices"]["colour"] = [0] * len(d["devices"]["energy_j"])
    def nan(d):
        d["devices"]["gamma"][1] = float("nan")
    def neg_energy(d):
        d["devices"]["energy_j"][2] = -1e-3
    def neg_bw(d):
        d["rb_bandwidth_hz"] = -2e5
    def neg_rbs(d):
        d["base_stations"]["rbs"][0] = -1
    def shape(d):
        d["gain"] = [row[:-1] for row in d["gain"]]
    def app_range(d):
        d["devices"]["application"][0] = 99
    def not_ours(d):
        d.clear()
        d["hello"] = "world"
    return [(drop, "devices.energy_j"), (extra, "devices.colour"), (nan, "devices.gamma[1]"),
            (neg_energy, "devices.energy_j[2]"), (neg_bw, "rb_bandwidth_hz"), (neg_rbs, "base_stations.rbs[0]"),
            (shape, "gain"), (app_range, "devices.application[0]"), (not_ours, "problem")]


@pytest.mark.parametrize("mutate,field", _mutations(), ids=lambda x: getattr(x, "__name__", x))
def test_bad_instance_exit_2_one_line_no_file(net, tmp_path, mutate, field):
    doc = json.loads(net.read_text())
    mutate(doc)
    bad = tmp_path / "bad.json"
    text = json.dumps(doc)
    bad.write_text(text)
    out = tmp_path / "sol.json"
    for args in (("solve", bad, "-o", out), ("compare", bad), ("evaluate", bad, bad)):
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and field in lines[0], lines
        assert "Traceback" not in r.stderr
    assert not out.exists() and bad.read_text() == text


@pytest.mark.parametrize("args,field", [
    (("solve", "{net}", "-a", "nope"), "algorithm"),
    (("compare", "{net}", "-a", "prop", "-a", "nope"), "algorithm"),
    (("generate", "multicell", "--set", "foo=1", "-o", "{out}"), "foo"),
    (("generate", "multicell", "--set", "devices=0", "-o", "{out}"), "devices"),
    (("generate", "multicell", "--set", "energy_j=-1", "-o", "{out}"), "energy_j"),
    (("generate", "nope", "-o", "{out}"), "problem"),
    (("solve", "{missing}"), "not found"),
    (("solve", "{net}", "-a", "prop", "--set", "foo=1", "-o", "{out}"), "--set foo"),
    (("solve", "{net}", "-a", "prop", "--set", "foo"), "--set"),
    (("evaluate", "{net}", "{net}"), "variables"),
])
def test_bad_arguments_exit_2(net, tmp_path, args, field):
    out = tmp_path / "x.json"
    fill = {"net": net, "out": out, "missing": tmp_path / "missing.json"}
    r = run(*(a.format(**fill) for a in args))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines
    assert not out.exists()


def test_not_json_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("hello")
    r = run("solve", bad)
    assert r.returncode == 2 and "not a JSON instance file" in r.stderr


def test_reproduce_quick_writes_png(tmp_path):
    r = run("reproduce", "multicell", "--figure", "4", "--quick", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    png = tmp_path / "multicell-fig4-quick.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert "prop" in r.stdout and "exact" in r.stdout
    r = run("reproduce", "multicell", "--figure", "99")
    assert r.returncode == 2



def test_compare_says_why_an_algorithm_was_skipped_with_json_too(tmp_path):
    """A skipped algorithm (exact beyond its size) is a row with status `skipped`, and its reason is on stderr
    in both modes (with --json it was silent until 2026-12-07)."""
    inst = tmp_path / "of.json"
    assert run("generate", "offloading", "--seed", 1, "--set", "terminals=4", "-o", inst).returncode == 0
    for json_flag in ((), ("--json",)):
        r = run("compare", inst, "-a", "bcd", "-a", "exact", *json_flag)
        assert r.returncode == 0 and "exact skipped: too large for exact" in r.stderr, r.stderr
    assert [row["status"] for row in json.loads(r.stdout)][-1] == "skipped"
