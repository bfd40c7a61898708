"""The counterfactual gradient of the hybrid agent's subchannel heads (train_hybrid(counterfactual=...)):
each user's every subchannel is scored by the model with the rest of the slot's action as drawn, and the
user's subchannel distribution ascends its expected counterfactual advantage."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gym = pytest.importorskip("gymnasium")

import semalloc  # noqa: E402
from semalloc.errors import InputError  # noqa: E402
from semalloc.rl.env import ScenarioEnv, scored, to_allocation  # noqa: E402
from semalloc.rl.hybrid import HybridPolicy, _counterfactual, train_hybrid  # noqa: E402
from semalloc.rl.training import train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rollout(perception: str, n: int = 6, width: int = 8, seed: int = 3):
    """A vector of scenario-general envs after reset, an untrained masked policy, its observation and a
    drawn action (assignment and bits sampled, continuous part the median)."""
    envs = gym.vector.SyncVectorEnv([lambda: ScenarioEnv(slots=5, max_users=width, perception=perception)] * n)
    obs, _ = envs.reset(seed=seed)
    torch.manual_seed(seed)
    net = HybridPolicy(width, 3, obs.shape[1] // width, hidden=32, masked=True)
    o = torch.as_tensor(obs)
    return envs, net, o, net.act(o, continuous=False)


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_a_users_counterfactual_at_its_drawn_subchannel_is_the_slot_reward(perception):
    envs, net, o, a = _rollout(perception)
    K = net.K
    q = _counterfactual(envs, net, o, a, K, perception).numpy()
    users = [env.unwrapped.inst.K for env in envs.envs]
    _, reward, *_ = envs.step({"discrete": a["discrete"], "continuous": a["continuous"]})
    assert q.shape == (len(users), K, net.M + 1)
    for i, k in enumerate(users):
        drawn = q[i, np.arange(k), a["discrete"][i, :k]]
        np.testing.assert_allclose(drawn, reward[i], atol=1e-5)
        assert not q[i, k:].any()                                     # absent users: no counterfactuals


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_a_counterfactual_is_the_model_score_of_that_assignment_with_its_median(perception):
    """Q[k, m] is the reward of the action with user k on m (0 = none), every other choice as drawn and the
    continuous action the policy's median for that assignment; several options differ (it is informative)."""
    envs, net, o, a = _rollout(perception)
    K, rng = net.K, np.random.default_rng(0)
    q = _counterfactual(envs, net, o, a, K, perception).numpy()
    differ = 0
    for i, env in enumerate(envs.envs):
        inst = env.unwrapped.inst
        k, m = int(rng.integers(inst.K)), int(rng.integers(net.M + 1))
        d = a["discrete"][i].copy()
        d[k] = m
        cont = net.median(o[i:i + 1], torch.as_tensor(d[None, :K]))[0].detach().numpy()
        v, _ = to_allocation(inst, {"discrete": d, "continuous": cont}, perception, K)
        assert q[i, k, m] == pytest.approx(scored(inst, v, perception)[1], abs=1e-5)
        differ += np.ptp(q[i, :inst.K], axis=-1).max() > 1e-6
    assert differ > 0


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_around_the_mode_each_user_is_scored_against_the_others_deterministic_choices(perception):
    """around="mode": Q[k, m] has every other user at the mode's subchannel and bits; at the mode's own
    choice it is the mode's reward (the slot the deterministic policy would get)."""
    envs, net, o, a = _rollout(perception)
    K = net.K
    q = _counterfactual(envs, net, o, a, K, perception, around="mode").numpy()
    mode = net.act(o, deterministic=True)
    np.testing.assert_array_equal(a["mode"], mode["discrete"])
    assert (a["mode"] != a["discrete"]).any()                           # the drawn action is another one
    for i, env in enumerate(envs.envs):
        inst = env.unwrapped.inst
        v, _ = to_allocation(inst, {"discrete": mode["discrete"][i], "continuous": mode["continuous"][i]},
                             perception, K)
        at_mode = q[i, np.arange(inst.K), mode["discrete"][i, :inst.K]]
        np.testing.assert_allclose(at_mode, scored(inst, v, perception)[1], atol=1e-5)


def test_medians_of_many_assignments_are_the_median_of_each():
    torch.manual_seed(0)
    net = HybridPolicy(12, 3, 12, hidden=32, masked=True)
    obs = torch.randn(5, 12 * 12)
    obs.view(5, 12, 12)[..., -1] = (torch.rand(5, 12) > 0.3).float()
    subs = torch.randint(0, 4, (5, 7, 12))
    e, c = net.heads(obs)[:2]
    many = net.medians(e, c, net.mask(obs), subs)
    one = torch.stack([net.median(obs, subs[:, j]) for j in range(7)], dim=1)
    torch.testing.assert_close(many, one, atol=1e-6, rtol=1e-6)


def test_the_baseline_leaves_the_gradient_unbiased():
    """The objective's gradient is ``sum_m Q_m grad pi(m)`` over present users: the expected
    advantage's baseline (held fixed) changes its value, not its gradient."""
    torch.manual_seed(1)
    net = HybridPolicy(4, 3, 9, hidden=16, masked=True)
    obs = torch.randn(3, 4 * 9)
    obs.view(3, 4, 9)[..., -1] = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1.0]])
    q = torch.randn(3, 4, 4)
    grads = []
    for objective in (lambda: net.counterfactual_objective(obs, q).sum(),
                      lambda: ((torch.softmax(net.heads(obs)[2], -1) * q).sum(-1) * net.mask(obs)).sum()):
        net.zero_grad()
        objective().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-5)
    assert grads[0].abs().max() > 0


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_scored_maps_a_batch_of_allocations_as_each_alone(perception):
    inst = semalloc.generate("sbq", seed=4, users=5, power_max_w=0.1)
    rng = np.random.default_rng(4)
    action = {"discrete": np.column_stack([rng.integers(0, 4, (9, 5)), rng.integers(0, 8, (9, 5))]),
              "continuous": rng.random((9, 13))}
    v, _ = to_allocation(inst, action, perception)
    _, reward, score, effective = scored(inst, v, perception)
    assert reward.shape == (9,) and score.shape == (9, 5)
    for j in range(9):
        _, r, s, eff = scored(inst, {k: x[j] for k, x in v.items()}, perception)
        assert r == pytest.approx(reward[j], abs=1e-12)
        np.testing.assert_array_equal(s, score[j])
        np.testing.assert_array_equal(eff, effective[j])


def test_counterfactual_training_runs_and_refuses_per_user_credit():
    env = lambda: ScenarioEnv(slots=4, max_users=4)                    # noqa: E731
    net, stats = train_hybrid(env, 256, seed=0, n_envs=4, n_steps=8, minibatch=16, hidden=16,
                              pathwise=3.0, median=True, counterfactual=1.0)
    assert stats["steps"] == 256 and np.isfinite(stats["mean_reward"])
    with pytest.raises(ValueError, match="credit"):
        train_hybrid(env, 64, counterfactual=1.0, credit="user", n_envs=2, n_steps=4)
    with pytest.raises(InputError, match="counterfactual"):
        train("hybrid", 64, counterfactual=-1.0, progress=False)
    with pytest.raises(InputError, match="^sbq: around: must be drawn or mode"):
        train("hybrid", 64, counterfactual=1.0, around="best", progress=False)
    with pytest.raises(InputError, match="^sbq: around: .*needs counterfactual > 0"):
        train("hybrid", 64, around="mode", progress=False)
    net, stats = train_hybrid(env, 128, seed=0, n_envs=4, n_steps=8, minibatch=16, hidden=16,
                              pathwise=3.0, median=True, counterfactual=1.0, around="mode")
    assert stats["steps"] == 128 and np.isfinite(stats["mean_reward"])
