"""The gymnasium environment semalloc/SBQ-v0: checker, seeding, feasibility of every action, vectorisation."""
from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
pytest.importorskip("torch")

import semalloc  # noqa: E402
import semalloc.rl  # noqa: E402,F401
from semalloc.problems.sbq.evaluate import outcome  # noqa: E402
from semalloc.problems.sbq.mdp import allocation  # noqa: E402
from semalloc.rl.env import SBQEnv, split_action  # noqa: E402

TINY = {"users": 3, "antennas": 2, "subchannels": 2}


def test_check_env_passes():
    from gymnasium.utils.env_checker import check_env
    check_env(SBQEnv(slots=5, **TINY), skip_render_check=True)
    env = gym.make("semalloc/SBQ-v0", slots=5, **TINY)
    check_env(env.unwrapped, skip_render_check=True)
    assert isinstance(env.action_space, gym.spaces.Dict)
    assert isinstance(env.action_space["discrete"], gym.spaces.MultiDiscrete)
    assert isinstance(env.action_space["continuous"], gym.spaces.Box)
    assert isinstance(env.observation_space, gym.spaces.Box)


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, r, _, _, _ = env.step(a)
        out += [obs, r]
    return out


def test_reset_is_seeded():
    env = SBQEnv(slots=10, **TINY)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(6)]
    a, b, c = (_rollout(env, s, actions) for s in (7, 7, 8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_episode_truncates_after_its_slots_and_observes_last_outcome():
    env = SBQEnv(slots=3, **TINY)
    env.reset(seed=0)
    env.action_space.seed(1)
    flags = []
    for _ in range(3):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        flags.append((term, trunc))
        per_user = obs.reshape(env.K, -1)
        assert np.allclose(per_user[:, -2], info["score"], atol=1e-6)      # last outcome in the observation
        assert np.array_equal(per_user[:, -1], info["effective"].astype(np.float32))
    assert flags == [(False, False), (False, False), (False, True)]


@pytest.mark.parametrize("seed", range(25))
def test_every_action_is_mapped_to_a_feasible_allocation_scored_by_evaluate(seed):
    rng = np.random.default_rng(seed)
    K, M, Nt = int(rng.integers(1, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    env = SBQEnv(slots=2, users=K, subchannels=M, antennas=Nt, power_max_w=float(rng.choice([1e-3, 1.0, 50.0])))
    env.reset(seed=seed)
    env.action_space.seed(seed)
    a = env.action_space.sample()
    if seed % 3 == 0:                                  # extremes: everyone on one subchannel, zero weights/shares
        a["discrete"][:K] = 1
        a["continuous"][:] = 0.0
    inst = env.inst
    v, moved = allocation(inst, *split_action(K, M, a))
    ev = semalloc.evaluate(inst, v)
    assert ev.feasible, ev.violations
    wanted = int(np.sum(a["discrete"][:K] > 0))
    assert np.sum(v["subchannel"] >= 0) == min(wanted, M * Nt)            # the Nt cap moves before it drops
    kept = v["subchannel"] == a["discrete"][:K] - 1
    assert moved == K - kept.sum()
    obs, reward, _, _, info = env.step(a)
    assert reward == pytest.approx(ev.objective, abs=1e-12)
    assert np.allclose(info["score"], outcome(inst, v).score)
    assert info["score"].shape == (K,) and obs in env.observation_space


def test_vector_env_steps_and_autoresets():
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("semalloc/SBQ-v0", slots=2, **TINY)] * 3,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, envs.single_observation_space.shape[0])
    envs.action_space.seed(0)
    truncs = []
    for _ in range(4):
        obs, r, term, trunc, info = envs.step(envs.action_space.sample())
        step_info = info["final_info"] if trunc.all() else info          # same-step autoreset
        assert r.shape == (3,) and step_info["score"].shape == (3, TINY["users"])
        assert np.allclose(step_info["score"].sum(axis=1), r)
        truncs.append(trunc.copy())
    assert [t.all() for t in truncs] == [False, True, False, True]
    envs.close()


def test_unknown_setting_is_refused():
    with pytest.raises(semalloc.errors.InputError, match="bogus"):
        SBQEnv(bogus=1)
