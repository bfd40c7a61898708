"""mapping-drl (the agent on the S-SE-perceived reward), per-user credit, demonstrations and training curves."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")

import torch  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import semalloc  # noqa: E402
from semalloc.cli import app  # noqa: E402
from semalloc.errors import InputError  # noqa: E402
from semalloc.problems.sbq.algorithms import perceived_value  # noqa: E402
from semalloc.problems.sbq.mdp import allocation  # noqa: E402
from semalloc.rl.agents import PRESETS, SHIPPED, SHIPPED_BY_PRESET, SHIPPED_MAPPING, load, train  # noqa: E402
from semalloc.rl.env import SBQEnv, ScenarioEnv, scored  # noqa: E402

runner = CliRunner()


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_user_rewards_sum_to_the_reward_as_the_perception_scores_it(perception):
    from semalloc.problems.sbq.algorithms import mapping_bits
    from semalloc.rl.env import to_allocation
    env = SBQEnv(slots=3, perception=perception)
    env.reset(seed=4)
    for _ in range(3):
        inst, action = env.inst, env.action_space.sample()
        v, _ = to_allocation(inst, action, perception)
        if perception == "mapping":                       # the paradigm's one number of bits, as `mapping` sends
            assert np.all(v["bits"] == mapping_bits(inst))
        _, reward, _, _, info = env.step(action)
        _, expected, score, _ = scored(inst, v, perception)
        assert np.isclose(reward, expected) and np.allclose(info["user_reward"], score)
        assert np.isclose(info["user_reward"].sum(), reward)
        assert np.allclose(info["score"], scored(inst, v)[2])       # info's score stays the SBQ model's


def test_scored_mapping_is_perceived_value_on_the_allocation():
    for seed in range(5):
        inst = semalloc.generate("sbq", seed=seed)
        v = semalloc.solve(inst, "mapping").variables
        o, reward, score, effective = scored(inst, v, "mapping")
        sub = np.asarray(v["subchannel"])
        band = np.where(sub >= 0, np.asarray(v["bandwidth_hz"])[np.maximum(sub, 0)], 0.0)
        assert np.allclose(score, perceived_value(inst, np.asarray(v["bits"]), o.rate_bps, band))
        assert np.isclose(reward, score.sum()) and np.array_equal(effective, score > 0)
        assert np.isclose(scored(inst, v)[1], semalloc.evaluate(inst, v).objective)


def test_an_unknown_perception_is_an_input_error():
    with pytest.raises(InputError, match="perception"):
        ScenarioEnv(slots=2, perception="oracle")


def test_per_user_log_probabilities_sum_to_the_slots():
    """credit=user splits the policy's log-probability into users' and shares' parts: they sum to it."""
    torch.manual_seed(0)
    env = ScenarioEnv(slots=2, max_users=5, ranges={"users": [2, 5]})
    obs = torch.as_tensor(np.stack([env.reset(seed=s)[0] for s in range(6)]))
    from semalloc.rl.hybrid import HybridPolicy
    net = HybridPolicy(5, 3, obs.shape[1] // 5, 32, masked=True)
    a = net.act(obs)
    d = torch.as_tensor(a["discrete"])
    logp, _, value = net.evaluate_actions(obs, d, a["z"])
    user, shares, _, user_value = net.evaluate_actions(obs, d, a["z"], per_user=True)
    assert torch.allclose(user.sum(-1) + shares.sum(-1), logp, atol=1e-5)
    assert torch.allclose(user_value.sum(-1), value, atol=1e-5)
    absent = net.mask(obs) == 0
    assert absent.any() and torch.all(user[absent] == 0) and torch.all(user_value[absent] == 0)


def test_per_user_credit_trains_a_general_agent():
    a = train("hybrid", 512, slots=4, general={"max_users": 4, "ranges": {"users": [2, 4]}}, progress=False,
              credit="user")
    assert a.stats["steps"] == 512 and np.isfinite(a.stats["mean_reward"])
    inst = semalloc.generate("sbq", seed=3, users=3)
    assert semalloc.evaluate(inst, a.decide(inst)[0]).feasible


def test_teacher_actions_reproduce_best():
    """Every best allocation is an action of the hybrid agent (ZF beams, relative powers and shares)."""
    from semalloc.rl.demonstrations import teacher_action
    ratios = []
    for seed in range(12):
        inst = semalloc.generate("sbq", seed=seed, users=int(2 + seed % 10))
        r = semalloc.solve(inst, "best")
        d, z = teacher_action(inst, r.variables, 12)
        c = 1 / (1 + np.exp(-z))
        K = inst.K
        v, moved = allocation(inst, d[:K], d[12:12 + K], c[:K], c[12:12 + K], c[24:])
        assert moved == 0 and np.array_equal(v["subchannel"], r.variables["subchannel"])
        ratios.append(semalloc.evaluate(inst, v).objective / max(r.objective, 1e-9))
    assert np.mean(ratios) >= 0.99, ratios


def test_imitation_lowers_its_loss():
    from semalloc.rl.demonstrations import collect, imitate
    from semalloc.rl.hybrid import HybridPolicy
    torch.manual_seed(0)
    demo = collect(24, seed=1, max_users=4, ranges={"users": [2, 4]}, slots=6)
    assert np.all(demo["value"] >= 0) and demo["obs"].shape[0] == 24
    net = HybridPolicy(4, 3, demo["obs"].shape[1] // 4, 32, masked=True)
    loss = imitate(net, demo, epochs=30, minibatch=8)
    assert loss[-1] < 0.5 * loss[0], loss


@pytest.mark.parametrize("preset", list(SHIPPED_BY_PRESET))
def test_each_shipped_agent_matches_its_record(preset):
    import hashlib
    path = SHIPPED_BY_PRESET[preset]
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and record["preset"] == preset
    assert {k: record[k] for k in PRESETS[preset]} == PRESETS[preset]
    assert load(path).perception == PRESETS[preset].get("perception", "sbq")


def test_mapping_drl_runs_the_shipped_mapping_agent_and_refuses_a_model_trained_one(tmp_path):
    for settings in ({}, {"users": 12}, {"power_max_w": 0.01}):
        r = semalloc.solve(semalloc.generate("sbq", seed=2, **settings), "mapping-drl")
        assert r.feasible and r.stats["agent"] == "hybrid", r.message
    assert SHIPPED_MAPPING != SHIPPED
    with pytest.raises(InputError, match="agent: mapping-drl needs an agent trained on the mapping-perceived"):
        semalloc.solve(semalloc.generate("sbq", seed=2), "mapping-drl", agent=str(SHIPPED))
    cell = tmp_path / "cell.json"
    assert runner.invoke(app, ["generate", "sbq", "--seed", "0", "-o", str(cell)]).exit_code == 0
    r = runner.invoke(app, ["solve", str(cell), "-a", "mapping-drl", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "feasible", r.output


def test_mapping_drl_loses_to_drl_over_seeds():
    """The abstract's finding on our figures' scenario: perceiving through the S-SE map costs SC-QoS."""
    slots = [semalloc.generate("sbq", seed=s) for s in range(200, 215)]
    drl = np.mean([semalloc.solve(i, "drl").objective for i in slots])
    mapped = np.mean([semalloc.solve(i, "mapping-drl").objective for i in slots])
    assert drl > mapped, (drl, mapped)


def test_training_curves_of_several_seeds_are_one_line_with_an_interval(tmp_path):
    from semalloc.rl.curves import curve_groups, draw_curves
    rng = np.random.default_rng(0)
    paths = []
    for seed in range(3):
        steps = 256 * np.arange(1, 41)
        reward = 1 - np.exp(-steps / 3000) + 0.05 * rng.standard_normal(40)
        p = tmp_path / f"hybrid-s{seed}.csv"
        np.savetxt(p, np.column_stack([steps, steps / 500, reward]), delimiter=",",
                   header="steps,seconds,mean_reward", comments="")
        (tmp_path / f"hybrid-s{seed}.json").write_text(json.dumps({"agent": "hybrid", "seed": seed}))
        paths.append(p)
    (g,) = curve_groups(paths, window=5)
    assert g.seeds == 3 and g.label.startswith("hybrid") and np.all(g.half > 0)
    one = curve_groups(paths[:1], window=5)[0]
    assert np.all(np.isnan(one.half))
    same = curve_groups([paths[0]] * 2, window=5)[0]
    assert np.allclose(same.half, 0) and np.allclose(same.mean, one.mean)
    assert draw_curves(paths, tmp_path / "f.png").stat().st_size > 1000
    bad = tmp_path / "bad.csv"
    bad.write_text("steps,seconds,mean_reward\n1,2\n")
    r = runner.invoke(app, ["rl", "curves", str(bad), "-o", str(tmp_path / "g.png")])
    assert r.exit_code == 2 and "csv" in r.output and not (tmp_path / "g.png").exists()


def test_the_correlation_features_are_the_largest_cosine_to_another_user():
    from semalloc.problems.sbq.mdp import FEATURES, SCENARIO, correlation, observe_general
    inst = semalloc.generate("sbq", seed=5, users=4)
    c = correlation(inst)
    for k in range(inst.K):
        for m in range(inst.M):
            cos = [abs(np.vdot(inst.h[k, m], inst.h[j, m])) / np.linalg.norm(inst.h[k, m]) / np.linalg.norm(inst.h[j, m])
                   for j in range(inst.K) if j != k]
            assert np.isclose(c[k, m], max(cos))
    assert np.all((c >= 0) & (c <= 1 + 1e-12))
    rows = observe_general(inst, 6, directions=True).reshape(6, -1)
    assert rows.shape[1] == FEATURES(inst.M) + inst.M + SCENARIO
    assert np.allclose(rows[:4, FEATURES(inst.M):FEATURES(inst.M) + inst.M], c, atol=1e-6)
    assert np.all(rows[4:] == 0)
    env = ScenarioEnv(slots=2, max_users=6, directions=True, ranges={"users": [2, 6]})
    assert env.reset(seed=0)[0].shape == env.observation_space.shape
