"""`semalloc rl train|eval` and `semalloc solve -a drl` through the command line."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

from typer.testing import CliRunner  # noqa: E402

from semalloc.cli import app  # noqa: E402

runner = CliRunner()
TINY = ["--set", "users=2", "--set", "antennas=2", "--set", "subchannels=1"]


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_eval_and_solve_with_drl(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ckpt = tmp_path / "agents" / "hybrid.pt"
    r = _run("rl", "train", "sbq", "--agent", "hybrid", "--steps", 512, *TINY, "-o", ckpt, "--no-progress")
    assert r.exit_code == 0, r.output
    assert ckpt.is_file() and "mean reward per slot" in r.output
    r = _run("rl", "eval", "sbq", "--agent", ckpt, "--episodes", 2, "--slots", 3, "-a", "equal", "-a", "best", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["drl (hybrid)", "equal", "best"]
    assert all(x["infeasible"] == 0 and x["mean"] >= 0 for x in rows)
    cell = tmp_path / "cell.json"
    assert _run("generate", "sbq", "--seed", 1, *TINY, "-o", cell).exit_code == 0
    r = _run("solve", cell, "-a", "drl", "--set", f"agent={ckpt}", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["algorithm"] == "drl" and res["status"] == "feasible" and res["stats"]["agent"] == "hybrid"


@pytest.mark.parametrize("args, field", [
    (["solve", "{cell}", "-a", "drl"], "agent"),
    (["solve", "{cell}", "-a", "drl", "--set", "agent={bad}"], "agent"),
    (["rl", "eval", "sbq", "--agent", "{bad}", "--episodes", "1"], "agent"),
    (["rl", "train", "sbq", "--agent", "ppo", "-o", "{out}"], "agent"),
    (["rl", "train", "sbq", "--agent", "hybrid", "--set", "users=0", "-o", "{out}"], "users"),
    (["rl", "train", "sbq", "--device", "tpu", "-o", "{out}"], "device"),
    (["rl", "train", "multicell", "-o", "{out}"], "problem"),
    (["rl", "train", "sbq", "--agent", "td3", "--pathwise", "1", "-o", "{out}"], "--pathwise"),
    (["rl", "train", "sbq", "--pathwise", "-1", "-o", "{out}"], "pathwise"),
    (["rl", "train", "sbq", "--pathwise", "nan", "-o", "{out}"], "pathwise"),
    (["rl", "train", "sbq", "--pathwise", "1", "--kappa", "0", "-o", "{out}"], "kappa"),
    (["rl", "train", "sbq", "--median", "-o", "{out}"], "median"),
    (["rl", "train", "sbq", "--agent", "dqn", "--counterfactual", "1", "-o", "{out}"], "--counterfactual"),
    (["rl", "train", "sbq", "--counterfactual", "-1", "-o", "{out}"], "counterfactual"),
    (["rl", "train", "sbq", "--counterfactual", "inf", "-o", "{out}"], "counterfactual"),
    (["rl", "train", "sbq", "--counterfactual", "1", "--around", "best", "-o", "{out}"], "around"),
    (["rl", "train", "sbq", "--around", "mode", "-o", "{out}"], "around"),
    (["rl", "train", "sbq", "--sequential", "--counterfactual", "1", "-o", "{out}"], "sequential"),
    (["rl", "train", "sbq", "--agent", "td3", "--sequential", "-o", "{out}"], "--sequential"),
    # found by the fifteenth session's audit (internal errors, or a line printed before the check)
    (["rl", "train", "sbq", "--seed", "-1", "--steps", "64", "-o", "{out}"], "--seed"),
    (["rl", "train", "sbq", "--stop-after", "-1", "--steps", "64", "-o", "{out}"], "--stop-after"),
    (["rl", "eval", "sbq", "--episodes", "1", "--slots", "1", "-a", "equal", "--set", "power_max_w=-1"], "power_max_w"),
    (["rl", "eval", "sbq", "--episodes", "1", "--slots", "1", "-a", "equal", "--set", "users=100"], "agent"),
    (["rl", "eval", "sbq", "--episodes", "1", "--slots", "1", "-a", "equal", "--seed", "-1"], "--seed"),
    (["rl", "curves", "{csv}", "-o", "{out}.txt"], "-o"),
    (["rl", "curves", "{csv}", "--window", "0", "-o", "{out}.png"], "--window"),
    (["rl", "curves", "{empty}", "-o", "{out}.png"], "csv"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, field):
    cell, bad = tmp_path / "cell.json", tmp_path / "bad.pt"
    bad.write_bytes(b"not ours")
    assert _run("generate", "sbq", "--seed", 0, *TINY, "-o", cell).exit_code == 0
    (tmp_path / "empty.csv").write_text("")
    from semalloc.rl.curves import SHIPPED_CURVES
    csv = sorted(SHIPPED_CURVES.glob("*.csv"))[0]
    r = _run(*[a.format(cell=cell, bad=bad, out=tmp_path / "o.pt", csv=csv, empty=tmp_path / "empty.csv")
               for a in args])
    assert r.exit_code == 2, r.output
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and field in lines[0], r.output
    assert not list(tmp_path.glob("o.pt*"))
