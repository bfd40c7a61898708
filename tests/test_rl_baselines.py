"""The single-type DRL baselines of the sbq figures: scenario-general DQN and TD3, shipped as their
deterministic policies alone, below the hybrid agent at the figures' ends."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

import semalloc  # noqa: E402
from semalloc.errors import InputError  # noqa: E402
from semalloc.problems.sbq.mdp import observe_general  # noqa: E402
from semalloc.rl.baselines import Exported, export  # noqa: E402
from semalloc.rl.checkpoint import SHIPPED, SHIPPED_DQN, SHIPPED_TD3, load  # noqa: E402
from semalloc.rl.training import PRESETS, train  # noqa: E402


@pytest.mark.parametrize("kind,general", [("td3", {"max_users": 5}),
                                          ("dqn", {"max_users": 3, "ranges": {"users": [2, 3]}})])
def test_a_general_baseline_trains_and_its_exported_policy_acts_as_the_model(kind, general, tmp_path):
    agent = train(kind, 300, {}, progress=False, slots=10, general=general)
    full, alone = load(agent.save(tmp_path / f"{kind}.zip")), load(agent.save(tmp_path / f"{kind}.pt"))
    assert isinstance(alone.model, Exported) and alone.general == full.general and alone.K == general["max_users"]
    assert (tmp_path / f"{kind}.pt").stat().st_size < 0.2 * (tmp_path / f"{kind}.zip").stat().st_size
    rng = np.random.default_rng(0)
    for seed in range(20):
        inst = semalloc.generate("sbq", seed=seed, users=int(rng.integers(2, general["max_users"] + 1)))
        obs = observe_general(inst, alone.K)
        with torch.no_grad():
            x = torch.as_tensor(obs)[None]
            ref = (full.model.q_net(x) if kind == "dqn" else full.model.actor(x))[0].numpy()
        net = alone.model
        out = obs
        for i, (w, b) in enumerate(net.layers):
            out = out @ w.T + b
            out = np.maximum(out, 0) if i < len(net.layers) - 1 else out
        got = out if kind == "dqn" else np.tanh(out)
        np.testing.assert_allclose(got, ref, atol=0.02 * (1 + np.abs(ref).max()))   # float16 weights
        v, _ = alone.decide(inst)
        assert semalloc.evaluate(inst, v).feasible
    with pytest.raises(InputError, match="saves as .pt only"):
        alone.save(tmp_path / "again.zip")
    with pytest.raises(InputError, match="only dqn, ddpg, td3 export"):
        export(None, "sac")


@pytest.mark.parametrize("name,path", [("dqn", SHIPPED_DQN), ("td3", SHIPPED_TD3)])
def test_the_shipped_baselines_match_their_records_and_serve_with_no_options(name, path):
    import hashlib
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and record["preset"] == name
    assert {k: record[k] for k in PRESETS[name]} == PRESETS[name]
    assert path.stat().st_size < 6e6
    top = PRESETS[name]["max_users"]
    for settings in ({}, {"users": 2, "power_max_w": 0.01}, {"users": top, "power_max_w": 10.0}):
        r = semalloc.solve(semalloc.generate("sbq", seed=3, **settings), name)
        assert r.feasible and r.stats["agent"] == name, r.message


def test_dqn_refuses_more_users_than_its_joint_action_covers_and_a_wrong_kind():
    with pytest.raises(InputError, match="agent: trained for up to 6 users"):
        semalloc.solve(semalloc.generate("sbq", seed=0, users=8), "dqn")
    with pytest.raises(InputError, match="agent: dqn needs a dqn checkpoint; this one holds a hybrid agent"):
        semalloc.solve(semalloc.generate("sbq", seed=0), "dqn", agent=str(SHIPPED))


@pytest.mark.parametrize("settings", [{}, {"users": 2}, {"users": 12}, {"power_max_w": 0.01}, {"power_max_w": 10.0}])
def test_the_hybrid_agent_beats_the_single_type_baselines_at_the_ends_of_the_figures(settings):
    """The figures' finding: drl at or above every single-type DRL baseline (means over 20 first slots)."""
    slots = [semalloc.generate("sbq", seed=s, **settings) for s in range(100, 120)]
    drl = np.mean([semalloc.solve(i, "drl").objective for i in slots])
    for name in ("td3", "dqn") if slots[0].K <= PRESETS["dqn"]["max_users"] else ("td3",):
        base = np.mean([semalloc.solve(i, name).objective for i in slots])
        assert drl >= base, (name, drl, base)
