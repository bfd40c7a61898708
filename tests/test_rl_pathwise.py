"""The pathwise gradient of the sbq reward (semalloc.rl.pathwise): the smoothed score is the environment's
reward when the gate is sharp, its gradient is right, and a hybrid agent trains with it."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")

import semalloc  # noqa: E402
from semalloc.errors import InputError  # noqa: E402
from semalloc.problems.sbq.mdp import observe  # noqa: E402
from semalloc.rl.env import scored, to_allocation  # noqa: E402
from semalloc.rl.pathwise import slot_terms, smoothed_score, stack_terms  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cases(n=40, width=12, good=True):
    """Slots of the figures' range with random continuous actions; ``good``: the assignment and bits of
    ``best`` (most users effective), else random ones (few effective)."""
    rng = np.random.default_rng(7)
    for seed in range(n):
        K = int(rng.integers(2, width + 1))
        inst = semalloc.generate("sbq", seed=seed, users=K, power_max_w=float(10 ** rng.uniform(-2, 1)))
        if good:
            v = semalloc.solve(inst, "best").variables
            s, b = v["subchannel"] + 1, v["bits"] - 1
        else:
            s, b = rng.integers(0, inst.M + 1, K), rng.integers(0, 8, K)
        yield inst, s, b, rng.random(2 * width + inst.M), width


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
@pytest.mark.parametrize("good", [True, False])
def test_with_sharp_gates_the_smoothed_score_is_the_environment_reward(good, perception):
    effective = 0
    for inst, s, b, c, W in _cases(good=good):
        K = inst.K
        t = stack_terms([slot_terms(inst, s, b, c[:K], W, perception)])
        smooth = smoothed_score(t, torch.tensor(c[None]), 1e6)[0].numpy()
        d = np.zeros(2 * W, dtype=np.int64)
        d[:K], d[W:W + K] = s, b
        v, _ = to_allocation(inst, {"discrete": d, "continuous": c}, perception, W)
        score = scored(inst, v, perception)[2]
        np.testing.assert_allclose(smooth[:K], score, atol=1e-6)
        assert not smooth[K:].any()                                      # padded users score nothing
        effective += int((score > 0).sum())
    assert effective > (50 if good else 5)                              # the gates are exercised both ways


def test_the_gradient_is_the_derivative_of_the_smoothed_score():
    for inst, s, b, c, W in list(_cases(6))[:6]:
        t = stack_terms([slot_terms(inst, s, b, c[:inst.K], W)])
        x = torch.tensor(np.clip(c, 0.05, 0.95)[None], requires_grad=True)
        assert torch.autograd.gradcheck(lambda y: smoothed_score(t, y, 20.0).sum(), (x,), eps=1e-7, atol=1e-5)


def test_a_softer_gate_credits_users_near_the_deadline():
    """kappa sets how far below its deadline rate a user still counts: at R = r_min / 2, a gate of
    sigmoid(-kappa ln 2)."""
    inst, s, b, c, W = next(_cases(1))
    t = stack_terms([slot_terms(inst, s, b, c[:inst.K], W)])
    x = torch.tensor(c[None])
    soft, sharp = smoothed_score(t, x, 2.0), smoothed_score(t, x, 1e5)
    assert (soft >= 0).all() and ((soft > 0) | (sharp == 0)).all() and (soft != sharp).any()


@pytest.mark.parametrize("perception", ["sbq", "mapping"])
def test_pathwise_training_runs_and_refuses_what_it_cannot_differentiate(perception):
    from semalloc.rl.training import train
    tiny = {"users": 2, "antennas": 2, "subchannels": 1}
    fast = {"progress": False, "slots": 8, "n_envs": 8, "hidden": 32, "perception": perception}
    for median in (False, True):
        agent = train("hybrid", 512, tiny, seed=0, pathwise=1.0, median=median, **fast)
        assert agent.stats["config"]["pathwise"] == 1.0 and np.isfinite(agent.stats["mean_reward"])
    # median: the continuous part is the median, also in the actions drl-sampled draws
    inst = semalloc.generate("sbq", seed=5, **tiny)
    obs = observe(inst)
    drawn = agent.model.act_one(obs, 64, np.random.default_rng(0))
    same = (drawn["discrete"] == drawn["discrete"][0]).all(axis=1)
    assert same.sum() > 1 and np.abs(drawn["continuous"][same] - drawn["continuous"][0]).max() < 1e-6
    with pytest.raises(ValueError, match="pathwise"):
        train("hybrid", 256, tiny, pathwise=1.0, credit="user", **fast)
    with pytest.raises(InputError, match="median"):
        train("hybrid", 256, tiny, median=True, **fast)
