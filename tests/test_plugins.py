"""Plugins: a user's algorithm (a module in a temp dir, found by an entry point,
by ``--plugin`` or by a spec's ``plugins:``) is seen by compare, sweep (local
pool and Dask workers), plot and export; a store of its rows reads without it.

The plugin algorithm ``maxgain`` (strongest-gain BS, exact per-BS RB split)
is checked against the in-process run and against ``exact`` (the optimum
over the same Stage-1 tables), so the rows it produces in workers are real.
"""
from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import semalloc
from semalloc import plugins
from semalloc.cli import app
from semalloc.errors import InputError
from semalloc.experiments.runner import run_sweep, run_task
from semalloc.experiments.spec import SPECS_DIR, find_spec, parse_spec, shipped_specs
from semalloc.experiments.store import ResultsStore
from semalloc.result import Evaluation

solve_module = sys.modules["semalloc.solve"]     # (semalloc.solve is the function)
SRC = Path(semalloc.__file__).resolve().parents[1]
runner = CliRunner()

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def blocks(lang: str) -> list[str]:
    """The fenced ``lang`` code blocks of docs/plugins.md, in order."""
    parts = DOC.read_text().split("```")
    return [b[len(lang) + 1:] for b in parts[1::2] if b.startswith(lang + "\n")]


PLUGIN = blocks("python")[0]            # the tutorial's my_algorithms.py: maxgain
SETTINGS = {"base_stations": 2, "rbs": [6]}
SPEC = {"problem": "multicell", "title": "plugin sweep", "settings": SETTINGS, "vary": {"devices": [3, 5]},
        "seeds": 2, "algorithms": ["prop", "maxgain", "exact"], "plugins": ["my_algorithms"],
        "plot": {"x": "devices"}}


@pytest.fixture(scope="module")
def plugin_dirs(tmp_path_factory):
    """``mod``: the plugin module alone; ``ep``: a dist-info declaring it (and a broken
    plugin) under the ``semalloc.plugins`` entry-point group."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "mod").mkdir()
    (root / "mod" / "my_algorithms.py").write_text(PLUGIN)
    info = root / "ep" / "semalloc_demo-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: semalloc-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[semalloc.plugins]\ndemo = my_algorithms\n"
                                           "broken = semalloc_no_such_module\n")
    return root / "mod", root / "ep"


@pytest.fixture
def clean_registry():
    """Leave the registry as found: this process's other tests list the built-ins."""
    prob = semalloc.get_problem("multicell")
    algos, problems, imported = dict(prob.algorithms), dict(solve_module._REGISTERED), list(plugins._imported)
    yield
    prob.algorithms.clear()
    prob.algorithms.update(algos)
    solve_module._REGISTERED.clear()
    solve_module._REGISTERED.update(problems)
    plugins._imported[:] = imported
    sys.modules.pop("my_algorithms", None)


@pytest.fixture
def on_path(plugin_dirs, monkeypatch, clean_registry):
    """The plugin module importable here and in child processes (sys.path and PYTHONPATH)."""
    mod, _ = plugin_dirs
    monkeypatch.syspath_prepend(str(mod))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(mod), str(SRC), os.environ.get("PYTHONPATH", "")]))
    return mod


def rows_of(path):
    with ResultsStore.open(path) as store:
        return store.rows()


def check_plugin_rows(rows, settings):
    """maxgain's rows (from workers) are the in-process runs, feasible, and no better
    than exact (the optimum over the same tables)."""
    by = {(json.dumps(r["point"], sort_keys=True), r["seed"], r["algorithm"]): r for r in rows}
    mine = [r for r in rows if r["algorithm"] == "maxgain"]
    assert len(mine) == 4 and all(r["status"] == "feasible" and r["feasible"] for r in mine)
    for r in mine:
        inst = semalloc.generate("multicell", seed=r["seed"], **settings, **r["point"])
        assert r["objective"] == pytest.approx(semalloc.solve(inst, "maxgain").objective, rel=1e-12)
        exact = by[(json.dumps(r["point"], sort_keys=True), r["seed"], "exact")]
        assert exact["status"] == "optimal" and r["objective"] <= exact["objective"] * (1 + 1e-9)


# ----------------------------------------------------------------------------- the API

def test_register_algorithm_refuses_a_taken_name_and_checks_the_return(clean_registry):
    inst = semalloc.generate("multicell", seed=0, devices=4, **SETTINGS)
    with pytest.raises(InputError, match="already registered"):
        semalloc.register_algorithm("multicell", "prop", lambda inst: None, "a clash")
    with pytest.raises(InputError, match="unknown problem"):
        semalloc.register_algorithm("nope", "x", lambda inst: None, "")
    copy = lambda inst, shift=0: semalloc.Allocation(semalloc.solve(inst, "nua").variables, "feasible")
    semalloc.register_algorithm("multicell", "copy", copy, "nua's allocation")
    semalloc.register_algorithm("multicell", "copy", copy, "again")        # the same function: a no-op
    assert semalloc.solve(inst, "copy").objective == semalloc.solve(inst, "nua").objective
    with pytest.raises(InputError, match="takes no option 'bad'"):
        semalloc.solve(inst, "copy", bad=1)
    # a bare tuple is the same Allocation; anything else is the algorithm's bug, named
    semalloc.register_algorithm("multicell", "tuple", lambda inst: (copy(inst).variables, "feasible", {}, ""), "")
    assert semalloc.solve(inst, "tuple").objective == semalloc.solve(inst, "nua").objective
    semalloc.register_algorithm("multicell", "wrong", lambda inst: {"bs": [0]}, "")
    with pytest.raises(TypeError, match="algorithm 'wrong' returned dict"):
        semalloc.solve(inst, "wrong")
    semalloc.register_algorithm("multicell", "liar", lambda inst: semalloc.Allocation(
        {**copy(inst).variables, "power_w": [1e3] * inst.N}, "optimal"), "claims an infeasible optimum")
    res = semalloc.solve(inst, "liar")            # the independent evaluate still has the last word
    assert res.status == "error" and not res.feasible and "evaluate rejected" in res.message
    semalloc.register_algorithm("multicell", "nan", lambda inst: semalloc.Allocation(
        {**copy(inst).variables, "power_w": [float("nan")] * inst.N}, "feasible"), "returns NaN powers")
    res = semalloc.solve(inst, "nan")             # the algorithm's bad output is its failure, not bad input
    assert res.status == "error" and "returned invalid variables: variables.power_w" in res.message


class PickInstance:
    """A toy problem: pick items of the largest value within a weight budget."""

    problem = "pick"

    def __init__(self, values, weights, budget):
        self.values, self.weights, self.budget = np.asarray(values, float), np.asarray(weights, float), budget

    @classmethod
    def from_dict(cls, d):
        return cls(d["values"], d["weights"], d["budget"])

    def to_dict(self):
        return {"problem": "pick", "values": self.values.tolist(), "weights": self.weights.tolist(),
                "budget": self.budget}


def _pick_generate(seed=0, items=5, budget=2.0):
    rng = np.random.default_rng(seed)
    return PickInstance(rng.uniform(1, 2, items), rng.uniform(0.5, 1.5, items), budget)


def _pick_evaluate(inst, v):
    x = np.asarray(v["x"], float)
    w = float(inst.weights @ x)
    ok = w <= inst.budget + 1e-12
    return Evaluation(ok, float(inst.values @ x) if ok else float("nan"), [] if ok else [f"weight {w} > budget"])


def test_register_problem_is_solved_and_swept(clean_registry, tmp_path):
    prob = semalloc.Problem(key="pick", sense="max", instance_type=PickInstance, evaluate=_pick_evaluate,
                            generate=_pick_generate, parse_variables=lambda inst, v: v, summary="toy")
    assert semalloc.register_problem(prob) is prob
    with pytest.raises(InputError, match="already registered"):
        semalloc.register_problem(semalloc.Problem("multicell", "max", PickInstance, _pick_evaluate,
                                                   _pick_generate, lambda i, v: v))

    @prob.algorithm("densest", "by value per weight while it fits")
    def densest(inst):
        x = np.zeros(len(inst.values))
        room = inst.budget
        for i in np.argsort(-inst.values / inst.weights):
            if inst.weights[i] <= room:
                x[i], room = 1.0, room - inst.weights[i]
        return semalloc.Allocation({"x": x.tolist()}, "feasible")

    assert "pick" in semalloc.list_problems()
    inst = semalloc.generate("pick", seed=1)
    res = semalloc.solve(inst, "densest")
    brute = max(inst.values @ np.array(b) for b in np.ndindex(*[2] * 5)
                if inst.weights @ np.array(b) <= inst.budget)
    assert res.feasible and 0 < res.objective <= brute + 1e-12
    spec = parse_spec({"problem": "pick", "vary": {"items": [3, 4]}, "seeds": 2, "algorithms": ["densest"]})
    rep = run_sweep(spec, tmp_path / "pick.db", progress=False)
    assert rep.done == 4 and all(r["feasible"] for r in rows_of(tmp_path / "pick.db"))
    del solve_module._REGISTERED["pick"]           # the plugin gone: its store still exports
    with pytest.raises(InputError, match="unknown problem .pick."):
        parse_spec(spec.to_dict())
    res = runner.invoke(app, ["export", str(tmp_path / "pick.db"), "-o", str(tmp_path / "pick.csv")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "pick.csv") as fh:
        assert [r["algorithm"] for r in csv.DictReader(fh)] == ["densest"] * 4


# ----------------------------------------------------------------------------- discovery and the verbs

def test_plugin_option_compare_and_a_missing_plugin_named(on_path, tmp_path):
    inst = tmp_path / "i.json"
    semalloc.save(semalloc.generate("multicell", seed=2, devices=5, **SETTINGS), inst)
    res = runner.invoke(app, ["--plugin", "my_algorithms", "compare", str(inst), "--json"])
    assert res.exit_code == 0, res.output
    out = {r["algorithm"]: r for r in json.loads(res.stdout)}
    assert set(out) >= {"prop", "exact", "maxgain"} and out["maxgain"]["feasible"]
    assert out["maxgain"]["objective"] <= out["exact"]["objective"] * (1 + 1e-9)
    bad = runner.invoke(app, ["--plugin", "semalloc_no_such_module", "problems"])
    assert bad.exit_code == 2 and "--plugin" in bad.output and "semalloc_no_such_module" in bad.output
    # `plugins:` says where code comes from: not in the hash; stored only when given (old stores unchanged)
    with_p = parse_spec(SPEC, check_generator=False)
    without = parse_spec({k: v for k, v in SPEC.items() if k != "plugins"}, check_generator=False)
    assert with_p.hash == without.hash and with_p.plugins == ["my_algorithms"]
    assert with_p.to_dict()["plugins"] == ["my_algorithms"] and "plugins" not in without.to_dict()


def test_a_plugin_missing_on_a_worker_is_named():
    """A worker that cannot import a plugin fails with the InputError naming it (pickled across)."""
    import pickle
    e = pickle.loads(pickle.dumps(InputError("plugins[0]", "cannot import", "sweep")))
    assert (e.field, e.reason, e.problem, str(e)) == ("plugins[0]", "cannot import", "sweep",
                                                     "sweep: plugins[0]: cannot import")
    with pytest.raises(InputError, match=r"plugins\[0\] \(on a worker\).*semalloc_no_such_module"):
        run_task("multicell", SETTINGS, {"devices": 3}, 0, ["prop"], {}, ("semalloc_no_such_module",))


def test_spec_without_its_plugin_is_refused_naming_the_field(clean_registry, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(SPEC))          # the module is not on sys.path here
    res = runner.invoke(app, ["sweep", str(spec), "-o", str(tmp_path / "r.db"), "--no-progress"])
    assert res.exit_code == 2 and "spec.plugins[0]" in res.output and not (tmp_path / "r.db").exists()
    with pytest.raises(InputError, match="name its module in the spec's `plugins:`"):
        parse_spec({k: v for k, v in SPEC.items() if k != "plugins"})


def test_entry_point_registers_and_a_broken_one_only_warns(plugin_dirs, tmp_path):
    mod, ep = plugin_dirs
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ep), str(mod), str(SRC)])}
    done = subprocess.run([sys.executable, "-m", "semalloc.cli", "problems", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    algos = {p["key"]: p["algorithms"] for p in json.loads(done.stdout)}
    assert "maxgain" in algos["multicell"] and "prop" in algos["multicell"]
    assert "'broken'" in done.stderr and "semalloc_no_such_module" in done.stderr


def test_sweep_on_a_dask_local_cluster_imports_the_spec_plugins(on_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = parse_spec(SPEC)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        # the worker is another process: it knows maxgain only by importing the spec's plugins
        assert not any(client.run(lambda: "my_algorithms" in sys.modules).values())
        rep = run_sweep(spec, tmp_path / "d.db", scheduler=client, progress=False)
        assert all(client.run(lambda: "my_algorithms" in sys.modules).values())
    assert rep.done == 12                           # 4 instances x 3 algorithms
    check_plugin_rows(rows_of(tmp_path / "d.db"), SETTINGS)


# ----------------------------------------------------------------------------- shipped specs

def test_specs_list_show_copy_and_sweep_by_name(tmp_path):
    names = set(shipped_specs())
    assert names == {p.stem for p in SPECS_DIR.glob("*.yaml")} and "multicell-fig6" in names
    res = runner.invoke(app, ["specs"])
    assert res.exit_code == 0 and "multicell-fig6" in res.stdout and "compression-fig10" in res.stdout
    shown = runner.invoke(app, ["specs", "show", "multicell-fig6"])
    assert shown.exit_code == 0 and shown.stdout == (SPECS_DIR / "multicell-fig6.yaml").read_text()
    dest = tmp_path / "mine.yaml"
    assert runner.invoke(app, ["specs", "copy", "multicell-fig6", str(dest)]).exit_code == 0
    assert dest.read_text() == shown.stdout
    again = runner.invoke(app, ["specs", "copy", "multicell-fig6", str(dest)])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["specs", "copy", "multicell-fig6", str(tmp_path)]).exit_code == 0
    assert (tmp_path / "multicell-fig6.yaml").read_text() == shown.stdout
    assert runner.invoke(app, ["specs", "show", "nope"]).exit_code == 2
    assert find_spec("multicell-fig6") == find_spec("multicell-fig6.yaml") == SPECS_DIR / "multicell-fig6.yaml"
    assert find_spec(dest) == dest                 # a file wins over a shipped name
    missing = runner.invoke(app, ["sweep", "no-such-spec", "-o", str(tmp_path / "x.db")])
    assert missing.exit_code == 2 and "semalloc specs" in missing.output


# ----------------------------------------------------------------------------- the tutorial

def test_tutorial_runs_and_its_store_reads_without_the_plugin(tmp_path, monkeypatch, clean_registry):
    """docs/plugins.md's code, in order: the module, the Python comparison, the spec, the
    commands (`--plugin` for compare and solve; the sweep's `plugins:` in 2 worker
    processes); then plot and export of its store in a process that cannot import the plugin."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(SRC), os.environ.get("PYTHONPATH", "")]))
    module, compare = blocks("python")
    assert module.startswith("# my_algorithms.py\n")
    (tmp_path / "my_algorithms.py").write_text(module)
    exec(compare, {})
    spec, = blocks("yaml")
    assert spec.startswith("# mine.yaml\n")
    (tmp_path / "mine.yaml").write_text(spec)
    for block in blocks("bash"):
        for line in block.strip().splitlines():
            argv = shlex.split(line)
            assert argv[0] == "semalloc"
            res = runner.invoke(app, argv[1:])
            assert res.exit_code == 0, (line, res.output)
    db = tmp_path / "runs" / "mine.db"
    rows = rows_of(db)
    assert {r["algorithm"] for r in rows} == {"prop", "nua", "maxgain", "exact"} and all(r["feasible"] for r in rows)
    check_plugin_rows(rows, yaml.safe_load(spec)["settings"])
    with open(tmp_path / "mine.csv") as fh:
        assert sum(r["algorithm"] == "maxgain" for r in csv.DictReader(fh)) == 4
    # a fresh process, elsewhere, that cannot import the plugin reads the store
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"}
    script = textwrap.dedent(f"""
        import importlib.util
        assert importlib.util.find_spec("my_algorithms") is None
        from semalloc.cli import app
        for argv in (["plot", {str(db)!r}, "-o", "f.png"], ["export", {str(db)!r}, "-o", "t.csv"]):
            try:
                app(argv)
            except SystemExit as e:
                assert e.code == 0, (argv, e.code)
        """)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=elsewhere, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "f.png").stat().st_size > 10_000
    with open(elsewhere / "t.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 16 and sum(r["algorithm"] == "maxgain" for r in table) == 4


def test_api_reference_builds_offline(tmp_path):
    """`make docs`: pdoc renders the plugin API from the docstrings (the `docs` extra; skipped without it)."""
    pdoc = pytest.importorskip("pdoc")
    make = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "pdoc -d numpy" in make and "semalloc.plugins" in make
    pdoc.render.configure(docformat="numpy")
    pdoc.pdoc("semalloc.plugins", "semalloc.solve", output_directory=tmp_path)
    page = (tmp_path / "semalloc" / "solve.html").read_text()
    assert all(name in page for name in ("register_algorithm", "register_problem", "Allocation"))
    assert "semalloc.plugins" in (tmp_path / "semalloc" / "plugins.html").read_text()
