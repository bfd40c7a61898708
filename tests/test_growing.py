"""Issue 18, growing studies: a row is identified by its task (problem, settings,
seed, algorithm, options), so a store takes a grown spec, runs only the new
tasks, and its rows are those of a fresh run of the grown spec."""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import semalloc
from semalloc.cli import app
from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import parse_spec
from semalloc.experiments.store import ResultsStore

BASE = {"problem": "multicell", "title": "base", "settings": {"base_stations": 2, "rbs": [6]},
        "vary": {"devices": [3, 5]}, "seeds": 2, "algorithms": ["prop", "nua"], "plot": {"x": "devices"}}
GROWN = {**BASE, "title": "grown", "seeds": 3, "algorithms": ["prop", "nua", "exact"],
         "options": {"exact": {"time_limit": 20}}}
runner = CliRunner()


def computed(rows):
    """What a run computes, exactly (floats by their repr; not the wall time)."""
    return sorted(json.dumps([r["point"], r["seed"], r["algorithm"], r["status"], repr(r["objective"]),
                              r["feasible"], r["message"], r["metrics"], r["trace"]], sort_keys=True) for r in rows)


def rows_of(path, spec=None):
    with ResultsStore.open(path) as store:
        return store.rows(spec)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A store of BASE grown to GROWN, and a fresh run of GROWN."""
    d = tmp_path_factory.mktemp("grow")
    first = run_sweep(parse_spec(BASE), d / "study.db", progress=False)
    second = run_sweep(parse_spec(GROWN), d / "study.db", progress=False)
    fresh = run_sweep(parse_spec(GROWN), d / "fresh.db", progress=False)
    return d, first, second, fresh


def test_a_grown_spec_runs_only_its_new_tasks(grown):
    _, first, second, fresh = grown
    assert (first.done, first.skipped, first.total) == (8, 0, 8)          # 2 points x 2 seeds x 2 algorithms
    # 2 points x 3 seeds x 3 algorithms = 18: the 8 of BASE reused, seed 2 (x3) and exact at seeds 0-1 run
    assert (second.done, second.skipped, second.total) == (2 * 3 + 2 * 2, 8, 18)
    assert (fresh.done, fresh.skipped) == (18, 0)


def test_grown_rows_are_those_of_a_fresh_run(grown):
    d, *_ = grown
    spec = parse_spec(GROWN)
    grown_rows, fresh_rows = rows_of(d / "study.db", spec), rows_of(d / "fresh.db", spec)
    assert len(grown_rows) == 18 and computed(grown_rows) == computed(fresh_rows)
    assert all(r["feasible"] for r in grown_rows)
    assert {r["version"] for r in grown_rows} == {semalloc.__version__}
    base = rows_of(d / "study.db", parse_spec(BASE))                  # reproduce of the old spec: its rows only
    assert len(base) == 8 and {r["seed"] for r in base} == {0, 1} and {r["algorithm"] for r in base} == {"prop", "nua"}


def test_plot_uses_the_last_spec_and_export_every_row(grown, tmp_path):
    d, *_ = grown
    db = tmp_path / "s.db"
    db.write_bytes((d / "study.db").read_bytes())
    run_sweep(parse_spec(BASE), db, progress=False)                    # BASE written last: plot draws BASE
    with ResultsStore.open(db) as store:
        assert store.spec["title"] == "base" and len(store.rows()) == 18
    res = runner.invoke(app, ["plot", str(db), "-o", str(tmp_path / "f.png"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == 8
    res = runner.invoke(app, ["export", str(db), "-o", str(tmp_path / "all.csv")])
    assert res.exit_code == 0, res.output
    table = list(csv.DictReader((tmp_path / "all.csv").open()))
    assert len(table) == 18 and {r["algorithm"] for r in table} == {"prop", "nua", "exact"}


def test_a_changed_fixed_setting_or_option_makes_new_tasks(grown, tmp_path):
    d, *_ = grown
    db = tmp_path / "s.db"
    db.write_bytes((d / "study.db").read_bytes())
    same = run_sweep(parse_spec({**GROWN, "title": "renamed", "plot": {}}), db, progress=False)
    assert (same.done, same.skipped) == (0, 18)                        # presentation is not identity
    opt = run_sweep(parse_spec({**GROWN, "options": {"exact": {"time_limit": 30}}}), db, progress=False)
    assert (opt.done, opt.skipped) == (6, 12)                          # exact's 6 tasks are new, the rest reused
    fixed = run_sweep(parse_spec({**GROWN, "settings": {"base_stations": 2, "rbs": [5]}}), db, progress=False)
    assert (fixed.done, fixed.skipped) == (18, 0)                      # another instance: every task new
    rows = rows_of(db)
    assert len(rows) == 18 + 6 + 18
    rbs = {json.dumps(r["point"]["rbs"]) for r in rows}               # the changed fixed setting is a column
    assert rbs == {"[6]", "[5]"}
    exact = {r["point"].get("exact.time_limit") for r in rows if r["algorithm"] == "exact"}
    assert exact == {20, 30}


def test_an_option_varied_for_one_algorithm_shares_the_others_tasks(tmp_path):
    raw = {**BASE, "vary": {"devices": [3], "exact.time_limit": [10, 20]}, "algorithms": ["prop", "exact"]}
    spec = parse_spec(raw)
    rep = run_sweep(spec, tmp_path / "s.db", progress=False)
    assert (rep.done, rep.total) == (2 * (1 + 2), 6)                   # prop once per seed, exact per time limit
    rows = rows_of(tmp_path / "s.db", spec)
    assert len(rows) == 8                                              # prop drawn at both points
    prop = {(r["point"]["exact.time_limit"], r["seed"]): r["objective"] for r in rows if r["algorithm"] == "prop"}
    assert prop[(10, 0)] == prop[(20, 0)] and prop[(10, 1)] == prop[(20, 1)]


def test_rerun_recomputes_exactly_one_algorithms_rows(tmp_path):
    spec_file, db = tmp_path / "s.yaml", tmp_path / "s.db"
    spec_file.write_text(yaml.safe_dump(BASE))
    assert runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--no-progress"]).exit_code == 0
    before = {(r["key"], r["algorithm"]): r for r in rows_of(db)}
    with sqlite3.connect(db) as con:                                   # as if prop's rows were stale
        con.execute("UPDATE results SET objective = -1, version = 'old' WHERE algorithm = 'prop'")
    con.close()
    said = " ".join(runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--no-progress"]).stderr.split())
    assert "0 tasks run, 8 already stored" in said and "4 by old" in said     # reused, and said so
    res = runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--rerun", "prop", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "another semalloc version" not in res.stderr                # prop's rows were not reused
    assert "4 tasks run, 4 already stored" in " ".join(res.stderr.split())
    after = {(r["key"], r["algorithm"]): r for r in rows_of(db)}
    assert after.keys() == before.keys()
    for k, r in after.items():
        if k[1] == "prop":
            assert r["objective"] == before[k]["objective"] and r["version"] == semalloc.__version__
        else:
            assert r == before[k]                                      # nua not run again: same time_s too
    res = runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--rerun", "prop", "--rerun", "nua",
                              "--no-progress"])
    assert "8 tasks run, 0 already stored" in " ".join(res.stderr.split())
    res = runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--rerun", "magic", "--no-progress"])
    assert res.exit_code == 2 and "--rerun" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def v2_store(path: Path, spec) -> None:
    """A store as semalloc wrote it before tasks had keys (format 2)."""
    rows = run_sweep(spec, path.with_name("v3.db"), progress=False) and rows_of(path.with_name("v3.db"))
    cols = ("point", "seed", "algorithm", "status", "objective", "feasible", "time_s", "spec_hash", "message",
            "metrics", "trace")
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", {"format": "semalloc-results", "version": "2",
                        "spec_hash": spec.hash, "spec": json.dumps(spec.to_dict(), sort_keys=True)}.items())
        con.execute("CREATE TABLE results (point TEXT NOT NULL, seed INTEGER NOT NULL, algorithm TEXT NOT NULL, "
                    "status TEXT NOT NULL, objective REAL, feasible INTEGER NOT NULL, time_s REAL NOT NULL, "
                    "spec_hash TEXT NOT NULL, message TEXT NOT NULL, metrics TEXT NOT NULL, trace TEXT NOT NULL, "
                    "PRIMARY KEY (point, seed, algorithm))")
        con.executemany(f"INSERT INTO results VALUES ({', '.join('?' * len(cols))})",
                        [(json.dumps(r["point"], sort_keys=True), r["seed"], r["algorithm"], r["status"],
                          r["objective"], int(r["feasible"]), r["time_s"], spec.hash, r["message"],
                          json.dumps(r["metrics"], sort_keys=True), json.dumps(r["trace"])) for r in rows])
    con.close()


def test_a_format_2_store_is_read_untouched_and_migrated_by_a_sweep(tmp_path):
    spec, db = parse_spec(BASE), tmp_path / "old.db"
    v2_store(db, spec)
    before, fresh = digest(db), rows_of(tmp_path / "v3.db", spec)
    assert computed(rows_of(db, spec)) == computed(fresh)              # read in memory, file untouched
    res = runner.invoke(app, ["export", str(db), "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 0 and digest(db) == before
    spec_file = tmp_path / "grown.yaml"
    spec_file.write_text(yaml.safe_dump({**BASE, "seeds": 3}))
    res = runner.invoke(app, ["sweep", str(spec_file), "-o", str(db), "--no-progress"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.stderr.split())                                # unwrapped
    assert "migrated the results store from format 2 to 3" in said
    assert "4 tasks run, 8 already stored" in said
    assert "reused tasks computed by another semalloc version" in said and "8 by unknown" in said               # the old rows reused
    with ResultsStore.open(db) as store:
        assert store.meta["version"] == "3" and len(store.rows()) == 12
        assert {r["version"] for r in store.rows() if r["seed"] < 2} == {"unknown"}


def test_a_migration_that_fails_leaves_the_format_2_store_as_it_was(tmp_path, monkeypatch):
    from semalloc.experiments import store as store_module
    spec, db = parse_spec(BASE), tmp_path / "old.db"
    v2_store(db, spec)
    create = store_module._create

    def create_then_fail(con, table="results"):
        create(con, table)
        raise OSError("disk full")                             # after the new table, before the copy

    monkeypatch.setattr(store_module, "_create", create_then_fail)
    with pytest.raises(OSError, match="disk full"):
        run_sweep(spec, db, progress=False)
    monkeypatch.undo()
    with sqlite3.connect(db) as con:
        tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
    con.close()
    assert tables == {"meta", "results"} and version == "2"
    assert len(rows_of(db, spec)) == 8 and not (tmp_path / "old.db.lock").exists()
    assert run_sweep(spec, db, progress=False).skipped == 8               # and migrates next time
