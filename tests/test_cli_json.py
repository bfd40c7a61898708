"""One command line: every verb that produces something takes ``--json`` and prints
one JSON document on stdout (shapes in docs/cli.md); ``--version``, ``-h``,
``-o/--out`` everywhere (``--output`` a hidden alias); ``solve`` without ``-a`` runs
the problem's proposed algorithm; no third-party solver warning reaches stderr."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import semalloc
from semalloc.cli import app
from semalloc.solve import list_problems

runner = CliRunner()
SPEC = {"problem": "multicell", "title": "json test", "settings": {"base_stations": 2, "rbs": [6]},
        "vary": {"devices": [3, 4]}, "seeds": 2, "algorithms": ["prop", "nua"], "plot": {"x": "devices"}}


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (args, r.output)
    return r


def doc(*args):
    """Run a verb with ``--json``: stdout must be exactly one JSON document."""
    return json.loads(invoke(*args, "--json").stdout)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("json")
    (d / "s.yaml").write_text(yaml.safe_dump(SPEC))
    out = doc("sweep", d / "s.yaml", "-o", d / "s.db")
    return d, out


def test_version_and_short_help():
    r = invoke("--version")
    assert r.stdout.strip() == f"semalloc {semalloc.__version__}"
    for args in ([], ["solve"], ["learn", "asc"], ["rl", "train"]):
        assert "Usage:" in invoke(*args, "-h").stdout


def test_generate_settings_solve_evaluate_compare(tmp_path):
    g = doc("generate", "training", "--seed", 2, "--set", "devices=3", "-o", tmp_path / "t.json")
    assert g["written"] == [str(tmp_path / "t.json")] and g["settings"] == {"devices": 3} and g["time_s"] >= 0
    s = doc("settings", "compression")
    by = {r["setting"]: r for r in s}
    assert by["bandwidth_max_hz"]["unit"] == "Hz" and by["bandwidth_max_hz"]["plot_unit"] == "MHz"
    assert by["users"]["default"] == 10
    res = doc("solve", tmp_path / "t.json", "-o", tmp_path / "sol.json")
    assert res["algorithm"] == "alternating" and (tmp_path / "sol.json").exists()
    ev = doc("evaluate", tmp_path / "t.json", tmp_path / "sol.json")
    assert ev["feasible"] and ev["objective"] == pytest.approx(res["objective"])
    rows = doc("compare", tmp_path / "t.json", "-a", "alternating", "-a", "average")
    by = {r["algorithm"]: r for r in rows}
    assert by["alternating"]["ratio_to_proposed"] == 1.0
    assert by["average"]["ratio_to_proposed"] == pytest.approx(by["average"]["objective"] / res["objective"])
    assert all(r["gap_to_exact"] is None for r in rows)           # exact did not run


def test_compare_gap_to_exact_follows_the_sense(tmp_path):
    invoke("generate", "multicell", "--seed", 3, "--set", "devices=5", "--set", "base_stations=2",
           "--set", "rbs=[6]", "-o", tmp_path / "m.json")
    rows = {r["algorithm"]: r for r in doc("compare", tmp_path / "m.json", "-a", "exact", "-a", "nua")}
    ex, nua = rows["exact"]["objective"], rows["nua"]["objective"]
    assert rows["exact"]["gap_to_exact"] == 0.0
    assert rows["nua"]["gap_to_exact"] == pytest.approx((ex - nua) / ex) and rows["nua"]["gap_to_exact"] >= 0
    invoke("generate", "training", "--seed", 1, "--set", "devices=2", "-o", tmp_path / "t.json")     # minimises
    rows = {r["algorithm"]: r for r in doc("compare", tmp_path / "t.json", "-a", "exact", "-a", "average")}
    ex, avg = rows["exact"]["objective"], rows["average"]["objective"]
    assert avg > ex and rows["average"]["gap_to_exact"] == pytest.approx((avg - ex) / ex)


def test_sweep_plot_export(swept, tmp_path):
    d, s = swept
    assert s["written"] == [str(d / "s.db")] and s["rows"] == 8 and s["tasks_run"] == 8
    assert {(x["point"]["devices"], x["algorithm"]) for x in s["summary"]} == {(3, "prop"), (3, "nua"),
                                                                            (4, "prop"), (4, "nua")}
    for suffix in (".png", ".pdf", ".svg"):
        p = doc("plot", d / "s.db", "-o", tmp_path / f"f{suffix}")
        assert p["written"] == [str(tmp_path / f"f{suffix}")] and p["rows"] == 8
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    e = doc("export", d / "s.db", "-o", tmp_path / "rows.csv")
    assert e["rows"] == 8 and (tmp_path / "rows.csv").exists()
    piped = invoke("export", d / "s.db", "-o", "-").stdout           # CSV on stdout, nothing else
    table = list(csv.DictReader(io.StringIO(piped)))
    assert len(table) == 8 and piped == (tmp_path / "rows.csv").read_text()
    assert invoke("export", d / "s.db", "--output", tmp_path / "old.csv").exit_code == 0    # the old name
    assert (tmp_path / "old.csv").read_text() == piped


def test_reproduce_json_and_format(tmp_path):
    r = doc("reproduce", "multicell", "--figure", "4", "--quick", "--format", "pdf", "-o", tmp_path)
    (fig,) = r["figures"]
    assert fig["figure"] == 4 and fig["written"][0].endswith("multicell-fig4-quick.pdf")
    assert (tmp_path / "multicell-fig4-quick.pdf").read_bytes()[:4] == b"%PDF"
    assert {s["algorithm"] for s in fig["summary"]} >= {"prop", "exact"}
    bad = runner.invoke(app, ["reproduce", "multicell", "--format", "gif"])
    assert bad.exit_code == 2 and "--format" in bad.output


@pytest.mark.parametrize("key", list(list_problems()))
def test_solve_defaults_to_the_proposed_algorithm(tmp_path, key):
    prob = semalloc.get_problem(key)
    small = {"multicell": ["devices=4", "base_stations=2"], "compression": ["users=3"], "training": ["devices=3"],
             "offloading": ["terminals=3", "base_stations=2", "subcarriers=3"], "sbq": []}[key]
    invoke("generate", key, "--seed", 1, *[a for s in small for a in ("--set", s)], "-o", tmp_path / "i.json")
    r = runner.invoke(app, ["solve", str(tmp_path / "i.json"), "--json"])
    # sbq's proposed algorithm is the DRL agent: the shipped one decides, nothing is trained
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["algorithm"] == prob.proposed


@pytest.mark.slow
def test_rl_train_json(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    t = doc("rl", "train", "sbq", "--steps", "256", "--set", "users=2", "--set", "antennas=2",
            "--set", "subchannels=1", "--device", "cpu", "--output", tmp_path / "a.pt")
    assert t["written"] == [str(tmp_path / f"a.{x}") for x in ("pt", "json", "csv")] and t["steps"] >= 256
    assert all(Path(w).is_file() for w in t["written"])          # the checkpoint, its record, its curve


@pytest.mark.slow
def test_learn_json(tmp_path):
    pytest.importorskip("torch")
    p = doc("learn", "asc", "--quick", "--epochs", "1", "--limit", "60", "--no-progress", "--snr", "0",
            "-o", tmp_path / "asc.json")
    assert p["written"] == [str(tmp_path / "asc.json")] and "zeta" in p["profile"]
    j = doc("learn", "jscc", "--quick", "--epochs", "1", "--limit", "60", "--no-progress", "--rho", "0.1", "0.2",
            "--snr", "4", "10", "-o", tmp_path / "j.json")
    assert j["written"] == [str(tmp_path / "j.json")]
    e = doc("learn", "exits", "--quick", "--epochs", "1", "--limit", "60", "--no-progress", "-o", tmp_path / "e.json")
    assert "exit_rates" in e["profile"]


def test_no_solver_warning_reaches_stderr(tmp_path):
    """Compression's SCA (Clarabel) solved some subproblems only to "optimal_inaccurate";
    CVXPY printed a UserWarning for each during `make run`. With every warning shown
    (-W always), the quick Fig. 6 run must leave stderr empty."""
    r = subprocess.run([sys.executable, "-W", "always", "-m", "semalloc.cli", "reproduce", "compression",
                        "--figure", "6", "--quick", "--json", "-o", str(tmp_path)],
                       capture_output=True, text=True, env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert json.loads(r.stdout)["figures"][0]["figure"] == 6


def test_every_verb_has_json_and_out():
    """Every leaf command takes --json; every one that writes a file takes -o/--out."""
    import typer.main

    def leaves(cmd, path=()):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from leaves(sub, (*path, name))
        else:
            yield path, cmd

    found = dict(leaves(typer.main.get_command(app)))
    assert {("sweep",), ("learn", "asc"), ("rl", "train"), ("settings",)} <= set(found)
    writers = {("generate",), ("solve",), ("sweep",), ("plot",), ("export",), ("reproduce",), ("learn", "asc"),
               ("learn", "jscc"), ("learn", "exits"), ("rl", "train")}
    for path, cmd in found.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert "--json" in opts, path
        if path in writers:
            assert {"-o", "--out"} <= opts, path


def test_a_compiled_solvers_own_output_does_not_reach_a_json_document(tmp_path):
    """SCS writes "ERROR: could not determine problem status." to file descriptor 1 itself (compression
    ``msr`` at P_max = 1e300, the hostile-input audit): ``--json``'s stdout must still be one document."""
    exe = Path(sys.executable).parent / "semalloc"
    inst = tmp_path / "c.json"
    semalloc.save(semalloc.generate("compression", seed=0, power_max_w=1e300), inst)
    for verb in (["solve", str(inst), "-a", "msr", "--json"], ["compare", str(inst), "-a", "msr", "-a", "fra", "--json"]):
        done = subprocess.run([str(exe), *verb], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        json.loads(done.stdout)
