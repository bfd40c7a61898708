"""Sweeps: spec validation, the results store's crash safety, local pool and
Dask giving the same rows, plots and exports."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import semalloc
from semalloc.cli import app
from semalloc.experiments.analysis import export_rows, plot_sweep, summarise
from semalloc.experiments.reproduce import figures
from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import load_spec, parse_spec
from semalloc.experiments.store import COLUMNS, ResultsStore

RAW = {"problem": "multicell", "title": "test sweep", "settings": {"base_stations": 2, "rbs": [6]},
       "vary": {"devices": [3, 5]}, "seeds": 3, "algorithms": ["prop", "nua", "exact"],
       "options": {"exact": {"time_limit": 20}}, "plot": {"x": "devices"}}
runner = CliRunner()


def invariant(rows):
    """The rows without their wall times (which differ from run to run)."""
    return sorted((str(r["point"]), r["seed"], r["algorithm"], r["status"], r["objective"], r["feasible"])
                  for r in rows)


def stored(path):
    with ResultsStore.open(path) as store:
        return store.rows()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_spec(tmp_path, raw=RAW, name="spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The rows of an uninterrupted in-process run of RAW."""
    path = tmp_path_factory.mktemp("ref") / "ref.db"
    rep = run_sweep(parse_spec(RAW), path, progress=False)
    assert (rep.done, rep.skipped, rep.total) == (18, 0, 18)        # tasks: 2 points x 3 seeds x 3 algorithms
    return stored(path)


# ----------------------------------------------------------------------------- specs

def test_spec_expands_grid_seeds_and_tasks():
    spec = parse_spec({**RAW, "vary": {"devices": [3, 4], "utility": ["accuracy", "inverse_error"]}})
    assert len(spec.points) == 4 and spec.seeds == [0, 1, 2] and len(spec.tasks()) == 12
    assert parse_spec({**RAW, "title": "other", "plot": {}}).hash == parse_spec(RAW).hash   # presentation only
    assert parse_spec({**RAW, "seeds": 4}).hash != parse_spec(RAW).hash


def test_quick_overrides_apply_only_with_quick():
    raw = {**RAW, "quick": {"seeds": 1, "vary": {"devices": [3]}}}
    assert len(parse_spec(raw).tasks()) == 6
    assert parse_spec(raw, quick=True).tasks() == [('{"devices": 3}', {"devices": 3}, 0)]


@pytest.mark.parametrize("change,field", [
    ({"colour": "red"}, "spec.colour"),
    ({"algorithms": ["prop", "magic"]}, "spec.algorithms[1]"),
    ({"problem": "nope"}, "spec.problem"),
    ({"vary": {"devicez": [3]}}, "devicez"),
    ({"vary": {"devices": [3, -1]}}, "devices"),
    ({"settings": {"base_stations": 2, "rbs": [6], "energy_j": -1.0}}, "energy_j"),
    ({"options": {"exact": {"tim_limit": 3}}}, "spec.options.exact.tim_limit"),
    ({"options": {"best": {}}}, "spec.options.best"),
    ({"seeds": 0}, "spec.seeds"),
    ({"seeds": [0, -2]}, "spec.seeds[1]"),
    ({"vary": {"devices": []}}, "spec.vary.devices"),
    ({"plot": {"colour": 1}}, "spec.plot.colour"),
    ({"points": [{"devices": 3}]}, "spec"),                      # both vary and points
    ({"settings": {"devices": 4}}, "spec.settings.devices"),      # varied and fixed
])
def test_bad_specs_name_the_field(change, field):
    with pytest.raises(semalloc.InputError) as err:
        parse_spec({**RAW, **change})
    assert field in str(err.value)


@pytest.mark.parametrize("change,field", [({"algorithms": ["prop", "magic"]}, "spec.algorithms[1]"),
                                          ({"vary": {"devicez": [3]}}, "devicez"),
                                          ({"extra": 1}, "spec.extra")])
def test_cli_sweep_bad_spec_exits_2_naming_the_field_and_writes_nothing(tmp_path, change, field):
    spec = write_spec(tmp_path, {**RAW, **change})
    res = runner.invoke(app, ["sweep", str(spec), "-o", str(tmp_path / "r.db"), "--no-progress"])
    assert res.exit_code == 2, res.output
    assert field in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.db").exists()


def test_spec_file_that_is_not_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("problem: [multicell\n")
    with pytest.raises(semalloc.InputError, match="not valid YAML"):
        load_spec(bad)


def test_every_shipped_figure_spec_is_valid_in_both_modes():
    figs = figures("multicell")
    assert sorted(figs) == [2, 3, 4, 5, 6, 7, 8]
    for path in figs.values():
        full, quick = load_spec(path), load_spec(path, quick=True)
        assert full.algorithms[0] == "prop" and "exact" in full.algorithms
        assert len(quick.tasks()) < len(full.tasks())


def test_every_shipped_spec_passes_the_plot_check_and_a_bad_plot_field_is_refused_before_any_work(tmp_path):
    from semalloc.experiments.reproduce import check_plot, figures
    for key in ("multicell", "compression", "training", "offloading", "sbq"):
        for path in figures(key).values():
            if isinstance(path, str):                                  # drawn by a function, not a sweep
                continue
            for quick in (False, True):
                check_plot(load_spec(path, quick=quick))
    for plot, field in (({"x": "nosuch"}, "spec.plot.x"), ({"kind": "pie"}, "spec.plot.kind"),
                        ({"logx": "maybe"}, "spec.plot.logx"), ({"proposed": "nosuch"}, "spec.plot.proposed"),
                        ({"names": [1]}, "spec.plot.names"), ({"xunit": "MHz"}, "spec.plot.xunit")):
        spec = tmp_path / "s.yaml"
        spec.write_text(yaml.safe_dump({"problem": "sbq", "vary": {"users": [2, 3]}, "seeds": 1,
                                        "algorithms": ["equal"], "plot": plot}))
        r = CliRunner().invoke(app, ["sweep", str(spec), "-o", str(tmp_path / "r.db")])
        assert r.exit_code == 2 and field in r.output, (plot, r.output)
        assert not (tmp_path / "r.db").exists()


# ----------------------------------------------------------------------------- the store

def test_resume_skips_what_is_stored(tmp_path, reference):
    path = tmp_path / "r.db"
    spec = parse_spec(RAW)
    with ResultsStore.open(path, spec) as store:          # as if a run had stored two tasks
        for point_key, point, seed in spec.tasks()[:2]:
            store.write([r | {"point": point_key} for r in reference
                         if r["point"] == point and r["seed"] == seed])
    rep = run_sweep(spec, path, progress=False)
    assert (rep.done, rep.skipped) == (12, 6)                     # 2 instances x 3 algorithms stored
    assert invariant(stored(path)) == invariant(reference)


def test_a_task_is_written_all_or_nothing(tmp_path):
    spec = parse_spec(RAW)
    path = tmp_path / "r.db"
    row = {"point": "{}", "seed": 0, "algorithm": "prop", "status": "feasible", "objective": 1.0,
           "feasible": True, "time_s": 0.1, "message": ""}
    with ResultsStore.open(path, spec) as store:
        store.write([row])
        with pytest.raises(sqlite3.IntegrityError):       # a duplicate row aborts the whole task
            store.write([row | {"algorithm": "nua"}, row])
        assert [r["algorithm"] for r in store.rows()] == ["prop"]


def test_local_pool_gives_the_rows_of_the_in_process_run(tmp_path, reference):
    run_sweep(parse_spec(RAW), tmp_path / "pool.db", workers=2, progress=False)
    assert invariant(stored(tmp_path / "pool.db")) == invariant(reference)


def test_dask_local_cluster_gives_the_rows_of_the_local_run(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            run_sweep(parse_spec(RAW), tmp_path / "dask.db", scheduler=client, progress=False)
    assert invariant(stored(tmp_path / "dask.db")) == invariant(reference)


def test_unreachable_scheduler_is_named(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("semalloc.experiments.runner.CONNECT_TIMEOUT_S", 2.0)
    res = runner.invoke(app, ["sweep", str(write_spec(tmp_path)), "-o", str(tmp_path / "r.db"),
                              "--scheduler", "tcp://127.0.0.1:9", "--no-progress"])
    assert res.exit_code == 2 and "--scheduler" in res.stderr


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_rows(tmp_path):
    raw = {**RAW, "vary": {"devices": [8]}, "seeds": 16, "algorithms": ["prop", "best"], "options": {}}
    spec_file, db = write_spec(tmp_path, raw), tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-m", "semalloc.cli", "sweep", str(spec_file), "-o", str(db),
                             "--workers", "2", "--no-progress"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    n, deadline = 0, time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                n = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                continue
            finally:
                con.close()
            if n >= 6:
                break
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = stored(db)
    tasks = {(str(r["point"]), r["seed"]) for r in partial}
    assert 0 < len(tasks) < 16 and len(partial) == 2 * len(tasks)      # whole tasks only
    rep = run_sweep(parse_spec(raw), db, progress=False)
    assert rep.skipped == 2 * len(tasks) and rep.done == 2 * (16 - len(tasks))
    whole = run_sweep(parse_spec(raw), tmp_path / "whole.db", progress=False)
    assert whole.done == 32
    assert invariant(stored(db)) == invariant(stored(tmp_path / "whole.db"))


@pytest.mark.parametrize("content", [b"not a database at all\n" * 10, b"SQLite format 3\x00" + b"\x07" * 200])
def test_corrupt_file_is_refused_without_damage(tmp_path, content):
    path = tmp_path / "r.db"
    path.write_bytes(content)
    for args in (["sweep", str(write_spec(tmp_path)), "-o", str(path), "--no-progress"],
                 ["sweep", str(write_spec(tmp_path)), "-o", str(path), "--fresh", "--no-progress"],
                 ["plot", str(path)], ["export", str(path), "-o", str(tmp_path / "x.csv")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "not a semalloc results store" in res.stderr
        assert path.read_bytes() == content
    assert not (tmp_path / "x.csv").exists()


def test_foreign_sqlite_database_is_refused_without_damage(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE results (a, b)")
        con.execute("INSERT INTO results VALUES (1, 2)")
    con.close()
    before = digest(path)
    with pytest.raises(semalloc.InputError, match="not a semalloc results store"):
        run_sweep(parse_spec(RAW), path, progress=False)
    assert digest(path) == before


def test_store_schema_has_the_design_columns(tmp_path, reference):
    assert {"point", "seed", "algorithm", "status", "objective", "feasible", "time_s", "spec_hash"} <= set(COLUMNS)
    path = tmp_path / "r.db"
    run_sweep(parse_spec(RAW), path, progress=False)
    with sqlite3.connect(path) as con:
        hashes = {h for (h,) in con.execute("SELECT spec_hash FROM results")}
    assert hashes == {parse_spec(RAW).hash}


# ----------------------------------------------------------------------------- results

def test_rows_pass_evaluate_and_exact_dominates(reference):
    for r in reference:
        assert r["feasible"] and r["status"] in ("optimal", "feasible"), r
    best = {}
    for r in reference:
        best.setdefault((str(r["point"]), r["seed"]), {})[r["algorithm"]] = r["objective"]
    for algos in best.values():
        assert algos["exact"] >= max(algos.values()) - 1e-9


def test_summary_interval_is_the_t_interval_and_the_band_the_range(reference):
    summary = summarise(reference, parse_spec(RAW).points, ["prop", "nua", "exact"])
    assert [s["algorithm"] for s in summary[:3]] == ["prop", "nua", "exact"]
    s = summary[0]
    obj = np.array([r["objective"] for r in reference if r["algorithm"] == "prop" and r["point"] == s["point"]])
    assert s["mean"] == pytest.approx(obj.mean())
    assert s["ci95"] == pytest.approx(4.302652729911275 * obj.std(ddof=1) / np.sqrt(3))   # t(0.975, 2)
    assert (s["min"], s["max"]) == (obj.min(), obj.max())                                   # what plots shade
    assert summary[2]["gap"] == 0.0


def test_cli_sweep_plot_export_round_trip(tmp_path):
    spec, db = write_spec(tmp_path), tmp_path / "r.db"
    res = runner.invoke(app, ["sweep", str(spec), "-o", str(db), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "devices=3" in res.stdout and "95 % CI" in res.stdout
    res = runner.invoke(app, ["sweep", str(spec), "-o", str(db), "--no-progress"])
    assert "0 tasks run, 18 already stored" in res.stderr
    for suffix in (".png", ".svg", ".pdf"):
        res = runner.invoke(app, ["plot", str(db), "-o", str(tmp_path / f"f{suffix}"), "--logy"])
        assert res.exit_code == 0, res.output
        assert (tmp_path / f"f{suffix}").stat().st_size > 1000
    res = runner.invoke(app, ["plot", str(db), "--x", "nonsense"])
    assert res.exit_code == 2 and "--x" in res.stderr
    res = runner.invoke(app, ["export", str(db), "-o", str(tmp_path / "r.csv")])
    assert res.exit_code == 0
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].startswith("devices,seed,algorithm") and len(lines) == 1 + 18
    res = runner.invoke(app, ["export", str(db), "-o", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 2 and not (tmp_path / "r.xlsx").exists()


def test_parquet_export_round_trip(tmp_path, reference):
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(export_rows(reference, tmp_path / "r.parquet"))
    assert table.num_rows == len(reference)
    assert sorted(table.column("objective").to_pylist()) == sorted(r["objective"] for r in reference)


def test_reproduce_runs_a_shipped_figure_quick(tmp_path, monkeypatch):
    """``reproduce`` on a shipped spec, shrunk to one point and seed for speed."""
    from semalloc.experiments import reproduce as rp
    small = tmp_path / "specs"
    small.mkdir()
    raw = yaml.safe_load(figures("multicell")[6].read_text())
    raw["quick"] = {"seeds": 1, "vary": {"utility": ["accuracy"], "devices": [6]}}     # one panel of the two
    (small / "multicell-fig6.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(rp, "SPECS_DIR", small)
    reps = rp.reproduce("multicell", figure=6, quick=True, out=tmp_path / "out", progress=False)
    assert len(reps) == 1 and reps[0].image.exists() and reps[0].report.done == len(raw["algorithms"])
    assert {s["algorithm"] for s in reps[0].summary} == set(raw["algorithms"])


# ----------------------------------------------------------------------------- metrics beside the objective

def test_metrics_are_stored_plotted_and_exported(tmp_path):
    """Training's T and E travel from evaluate through the store to plots and exports."""
    raw = {"problem": "training", "settings": {"devices": 4}, "vary": {"bandwidth_hz": [5e6, 20e6]}, "seeds": 2,
           "algorithms": ["alternating", "average"],
           "plot": {"x": "bandwidth_hz", "y": ["objective", "round_time_s", "energy_j"],
                    "ylabel": ["w1 T + w2 E", "T (s)", "E (J)"]}}
    db = tmp_path / "t.db"
    run_sweep(parse_spec(raw), db, progress=False)
    rows = stored(db)
    for r in rows:
        inst = semalloc.generate("training", seed=r["seed"], devices=4, **r["point"])
        res = semalloc.solve(inst, r["algorithm"])
        ev = semalloc.evaluate(inst, res.variables)
        assert r["metrics"] == pytest.approx(ev.metrics) and {"round_time_s", "energy_j"} <= set(ev.metrics)
        w = inst.w_time * ev.metrics["round_time_s"] + inst.w_energy * ev.metrics["energy_j"]
        assert r["objective"] == pytest.approx(w, rel=1e-12)
    res = runner.invoke(app, ["plot", str(db), "-o", str(tmp_path / "t.png")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["plot", str(db), "--y", "energy_j", "-o", str(tmp_path / "e.png")])
    assert res.exit_code == 0 and (tmp_path / "e.png").stat().st_size > 1000
    res = runner.invoke(app, ["plot", str(db), "--y", "joules", "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "--y" in res.stderr and "energy_j" in res.stderr
    assert not (tmp_path / "x.png").exists()
    header = export_rows(rows, tmp_path / "t.csv").read_text().splitlines()[0].split(",")
    assert {"round_time_s", "energy_j"} <= set(header)
    band = {"psnr_db_mean": ["psnr_db_min", "psnr_db_max"]}          # Li et al. Fig. 8(a)
    out = plot_sweep(rows, tmp_path / "b.png", x="bandwidth_hz", y=["psnr_db_mean", "energy_j"], band=band,
                     names={"alternating": "Alg. 3, P4 first"})
    assert out.stat().st_size > 1000
    with pytest.raises(semalloc.InputError, match="^band: "):
        plot_sweep(rows, tmp_path / "c.png", x="bandwidth_hz", y="energy_j", band=band)


def test_the_sweeps_tables_are_of_the_measures_its_figure_plots(tmp_path):
    """A spec whose figure plots other measures than the objective (Li et al. Fig. 3: T and E beside w1 T +
    w2 E; Zheng et al. Fig. 3: the reward per terminal) gets a summary of the objective and of each plotted
    measure, each mean the mean of that measure over the feasible runs (until 2026-12-07 the table showed
    the objective alone under the figure's title: Zheng's Fig. 3 table was 10-30x its plot), the gap to
    exact only for the objective; a plot.y of the wrong shape is refused before any run."""
    raw = {"problem": "training", "settings": {"devices": 4}, "vary": {"bandwidth_hz": [5e6, 20e6]}, "seeds": 2,
           "algorithms": ["alternating", "average"],
           "plot": {"x": "bandwidth_hz", "y": ["objective", "round_time_s", "energy_j"]}}
    res = runner.invoke(app, ["sweep", str(write_spec(tmp_path, raw)), "-o", str(tmp_path / "t.db"), "--json"])
    assert res.exit_code == 0, res.output
    import json
    summary = json.loads(res.stdout)["summary"]
    rows = stored(tmp_path / "t.db")
    assert [s["measure"] for s in summary] == ["objective"] * 4 + ["round_time_s"] * 4 + ["energy_j"] * 4
    for s in summary:
        runs = [r for r in rows if r["algorithm"] == s["algorithm"] and r["point"] == s["point"] and r["feasible"]]
        value = [r["objective"] if s["measure"] == "objective" else r["metrics"][s["measure"]] for r in runs]
        assert s["mean"] == pytest.approx(np.mean(value), rel=1e-12) and s["n"] == 2
    text = runner.invoke(app, ["sweep", str(write_spec(tmp_path, raw)), "-o", str(tmp_path / "t.db")]).stdout
    assert "measure" in text                                              # a column of the table
    raw = {**raw, "plot": {"x": "bandwidth_hz", "y": ["energy_j", "joules"]}}    # only results can tell: the runs
    res = runner.invoke(app, ["sweep", str(write_spec(tmp_path, raw, "bad.yaml")), "-o", str(tmp_path / "b.db"),
                              "--json"])                                      # stand, the known measures shown
    assert res.exit_code == 0 and "warning: plot.y: unknown measure 'joules'" in res.stderr, res.stderr
    assert [s["measure"] for s in json.loads(res.stdout)["summary"]] == ["objective"] * 4 + ["energy_j"] * 4
    for bad in (3, [], {"energy_j": 1}):                                      # a shape no results could make right
        raw = {**raw, "plot": {"x": "bandwidth_hz", "y": bad}}
        res = runner.invoke(app, ["sweep", str(write_spec(tmp_path, raw, "bad.yaml")), "-o", str(tmp_path / "c.db")])
        assert res.exit_code == 2 and res.stderr.startswith("error: training: plot.y: must be a measure"), res.stderr
        assert not (tmp_path / "c.db").exists()


def test_store_of_an_older_format_is_refused_untouched(tmp_path, reference):
    path = tmp_path / "old.db"
    run_sweep(parse_spec(RAW), path, progress=False)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    con.close()
    before = digest(path)
    with pytest.raises(semalloc.InputError, match="version '1'"):
        run_sweep(parse_spec(RAW), path, progress=False)
    assert digest(path) == before


def test_per_bs_utilities_sum_to_the_objective_and_draw_as_groups(tmp_path, reference):
    """He et al. Figs. 2-3: evaluate splits the total utility by BS; bars group by measure."""
    for r in reference:
        per_bs = [r["metrics"][f"utility_bs{m}"] for m in range(2)]
        assert sum(per_bs) == pytest.approx(r["objective"], rel=1e-12, abs=1e-12)
        ranked = [r["metrics"][f"utility_load_rank{k}"] for k in (1, 2)]      # the same BSs, by load
        assert sorted(ranked) == sorted(per_bs)
    one = [r for r in reference if r["point"] == {"devices": 3}]
    png = plot_sweep(one, tmp_path / "bs.png", y=["utility_bs0", "utility_bs1"], kind="bars")
    assert png.stat().st_size > 1000
    with pytest.raises(semalloc.InputError, match="one point per panel"):
        plot_sweep(reference, tmp_path / "x.png", y=["utility_bs0", "utility_bs1"], kind="bars")


def test_traces_are_stored_and_drawn_per_iteration(tmp_path, reference):
    """Zheng et al. Fig. 2: each run's reward per BCD iteration, non-decreasing, ending at its objective."""
    raw = {"problem": "offloading", "settings": {"terminals": 8}, "vary": {"exit_points": [3, 1]},
           "seeds": 2, "algorithms": ["bcd", "ftm"], "plot": {"kind": "trace", "panels": "exit_points"}}
    db = tmp_path / "o.db"
    run_sweep(parse_spec(raw), db, progress=False)
    rows = stored(db)
    for r in rows:
        assert r["trace"] and np.all(np.diff(r["trace"]) >= -1e-9 * abs(r["trace"][-1])), r
        assert r["trace"][-1] == pytest.approx(r["objective"], rel=1e-9), r
    assert runner.invoke(app, ["plot", str(db), "-o", str(tmp_path / "o.png")]).exit_code == 0
    assert (tmp_path / "o.png").stat().st_size > 1000
    with pytest.raises(semalloc.InputError, match="no run recorded a trace"):
        plot_sweep([r for r in reference if r["point"] == {"devices": 3}], tmp_path / "x.png", kind="trace")
    res = runner.invoke(app, ["plot", str(db), "--kind", "pie", "-o", str(tmp_path / "p.png")])
    assert res.exit_code == 2 and "--kind" in res.stderr and not (tmp_path / "p.png").exists()


def test_a_spec_with_slots_scores_each_algorithm_over_its_own_episode(tmp_path):
    """`slots`: each seed an episode decided in turn, an agent seeing the outcome of its own last decision;
    the row is the mean per slot that the independent episode loop (rl.evaluation.run_episodes) gives."""
    pytest.importorskip("torch")
    from semalloc.rl.checkpoint import SHIPPED, load
    from semalloc.rl.evaluation import run_episodes
    spec = parse_spec({"problem": "sbq", "vary": {"users": [3]}, "seeds": [5, 6], "slots": 4,
                       "algorithms": ["drl", "equal"]})
    run_sweep(spec, tmp_path / "s.db", progress=False)
    with ResultsStore.open(tmp_path / "s.db") as store:
        rows = {(r["algorithm"], r["seed"]): r for r in store.rows()}
    agent = load(SHIPPED)
    for seed in (5, 6):
        for name, decide in (("drl", lambda i, s, e: agent.decide(i, s, e)[0]),
                             ("equal", lambda i, s, e: semalloc.solve(i, "equal").variables)):
            want = run_episodes(decide, {"users": 3}, 1, 4, seed=seed)["rewards"].mean()
            assert rows[(name, seed)]["feasible"] and rows[(name, seed)]["objective"] == pytest.approx(want, rel=1e-12)
    # the last outcome is what drl saw: deciding every slot alone gives another mean
    alone = run_episodes(lambda i, s, e: agent.decide(i)[0], {"users": 3}, 1, 4, seed=5)["rewards"].mean()
    assert rows[("drl", 5)]["objective"] != pytest.approx(alone, rel=1e-12)
    one = parse_spec({"problem": "sbq", "vary": {"users": [3]}, "seeds": [5], "algorithms": ["drl"]})
    assert one.task_key({"users": 3}, 5, "drl") != spec.task_key({"users": 3}, 5, "drl")
    assert "slots" not in one.to_dict() and one.hash != spec.hash


@pytest.mark.parametrize("raw,message", [
    ({"problem": "multicell", "algorithms": ["prop"], "slots": 3}, "spec.slots: multicell has no episodes"),
    ({"problem": "sbq", "algorithms": ["equal"], "slots": 0}, r"spec.slots: must be an integer in \[1, 100000\], got 0"),
    ({"problem": "sbq", "algorithms": ["equal"], "slots": 2.5}, r"spec.slots: must be an integer in \[1, 100000\], got 2.5"),
    ({"problem": "sbq", "algorithms": ["equal"], "slots": 10**12}, r"spec.slots: must be an integer in \[1, 100000\]"),
    ({"problem": "sbq", "algorithms": ["equal"], "seeds": 10**12}, r"spec.seeds: must be in \[1, 100000\]"),
    ({"problem": "sbq", "algorithms": ["equal"], "seeds": [2**70]}, r"spec.seeds\[0\]: must be an integer in \[0, 2\*\*63\)"),
    ({"problem": "sbq", "algorithms": ["equal"], "quick": {"seeds": -1}}, r"spec.seeds: must be in \[1, 100000\], got -1"),
    ({"problem": "sbq", "algorithms": ["equal"], "quick": {"zz": 1}}, r"spec.quick.zz: unknown field"),
    ({"problem": "sbq", "algorithms": ["drl-local"], "options": {"drl-local": {"reallocate": "abc"}}},
     r"spec.options.drl-local.reallocate: drl-local: must be true or false, got 'abc'"),
    ({"problem": "compression", "algorithms": ["fcr"], "options": {"fcr": {"ratio": -1}}},
     r"spec.options.fcr.ratio: fcr: must be > 0, got -1"),
])
def test_a_bad_slots_field_names_it(raw, message):
    with pytest.raises(semalloc.errors.InputError, match=message):
        parse_spec(raw)


def test_a_run_that_fails_is_counted_named_and_drawn_apart_from_an_infeasible_one(tmp_path, monkeypatch):
    """An algorithm that refuses a point (``exact`` beyond its size) is a failed run, not an infeasible
    instance: the summary counts it as ``failed``, the sweep names the algorithm, the point and the
    message in one line, and the figure marks the point ``o`` (``x`` is kept for no feasible allocation)."""
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({"problem": "sbq", "vary": {"users": [2, 4]}, "seeds": 1,
                                         "settings": {"subchannels": 2, "antennas": 2},
                                         "algorithms": ["equal", "exact"]}))
    res = CliRunner().invoke(app, ["sweep", str(spec_file), "-o", str(tmp_path / "s.db")])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "failed)" in said and "infeasible" not in said                        # the table: "0/1 (1 failed)"
    assert "exact failed 1 run (first at users=4, seed 0): InputError: sbq: instance: too large for exact" in said
    with ResultsStore.open(tmp_path / "s.db") as store:
        rows = store.rows()
    summ = {(s["point"]["users"], s["algorithm"]): s for s in summarise(rows)}
    assert (summ[4, "exact"]["failed"], summ[4, "exact"]["infeasible"], summ[4, "exact"]["feasible"]) == (1, 0, 0)
    assert (summ[2, "exact"]["failed"], summ[2, "exact"]["feasible"]) == (0, 1)
    ran = next(r["time_s"] for r in rows if r["algorithm"] == "exact" and r["point"]["users"] == 2)
    assert summ[2, "exact"]["time_s"] == ran and np.isnan(summ[4, "exact"]["time_s"])   # a refusal took no time
    import matplotlib.pyplot as plt
    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    plot_sweep(rows, tmp_path / "f.png", x="users")
    ax = figs[0].axes[0]
    marks = [ln for ln in ax.lines if ln.get_gid() == "infeasible"]
    assert [(float(ln.get_xdata()[0]), ln.get_marker()) for ln in marks] == [(4.0, "o")]
    assert "1/1 failed" in [t.get_text() for t in ax.texts if t.get_gid() == "infeasible"]


def test_drawing_a_figure_writes_nothing_under_the_home_directory(tmp_path):
    """matplotlib keeps its font cache in ~/.cache/matplotlib unless told otherwise; semalloc tells it
    $SEMALLOC_CACHE/matplotlib (else the system's temporary directory) when it imports matplotlib first."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"problem": "sbq", "vary": {"users": [2, 3]}, "seeds": 1, "algorithms": ["equal"]}))
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"} | {"HOME": str(home), "SEMALLOC_CACHE": str(cache)}
    exe = Path(sys.executable).parent / "semalloc"
    for args in (["sweep", str(spec), "-o", str(tmp_path / "r.db")], ["plot", str(tmp_path / "r.db")]):
        done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.png").is_file() and not list(home.iterdir())
    assert list((cache / "matplotlib").glob("fontlist*.json"))


def test_a_user_generator_that_raises_is_named_not_an_internal_error():
    """A spec's ``generator`` that raises is the user's code failing: an InputError naming it (before: an
    internal error asking to report a semalloc bug)."""
    from semalloc.experiments.spec import make_instance
    with pytest.raises(semalloc.errors.InputError, match=r"spec.generator: math:sqrt raised TypeError"):
        make_instance("multicell", 0, {"generator": "math:sqrt"})
