"""The gymnasium environment ``semalloc/SBQ-v0``: one episode = time-correlated SBQ slots.

Each episode draws users (positions, shadowing, ``n_k``) once and ``slots``
slots of Gauss-Markov fading (:func:`semalloc.problems.sbq.instance.episode`).
The observation and the map from the hybrid action to a feasible allocation
are :mod:`semalloc.problems.sbq.mdp`; the reward is the slot's sum of
effective SC-QoS, computed by the problem's own :func:`outcome`. ``info``
holds the per-user outcome of the slot just scored (``score``, ``effective``,
``xi``, ``latency_s``, ``rate_bps``, ``sinr``, ``subchannel``, ``bits``) and
``moved`` (users the ``Nt`` cap moved to another subchannel or dropped). An episode ends by truncation
after ``slots`` slots.

Examples
--------
>>> import gymnasium as gym, numpy as np
>>> import semalloc.rl
>>> env = gym.make("semalloc/SBQ-v0", users=3, antennas=2, subchannels=2, slots=5)
>>> obs, info = env.reset(seed=1)
>>> obs.shape, env.action_space["discrete"].nvec.tolist()
((24,), [3, 3, 3, 8, 8, 8])
>>> obs2, reward, terminated, truncated, info = env.step(env.action_space.sample())
>>> sorted(info)[:3], bool(reward == info["score"].sum())
(['bits', 'effective', 'latency_s'], True)
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..problems.sbq.evaluate import outcome
from ..problems.sbq.instance import Q_MAX, _settings, episode
from ..problems.sbq.mdp import FEATURES, OBS_CLIP, allocation, observe

__all__ = ["SBQEnv", "split_action"]


def split_action(K: int, M: int, action: dict) -> tuple:
    """``(sub_choice, bits_choice, power, mix, shares)`` from a hybrid action dict."""
    d, c = np.asarray(action["discrete"]), np.asarray(action["continuous"], dtype=float)
    return d[:K], d[K:], c[:K], c[K:2 * K], c[2 * K:2 * K + M]


class SBQEnv(gym.Env):
    """SBQ resource allocation over an episode of ``slots`` slots.

    Parameters
    ----------
    slots
        Slots per episode (notes: 100).
    **settings
        Generator settings of the sbq problem (``users``, ``antennas``,
        ``subchannels``, ``power_max_w``, ``rho``, ...); unknown ones raise
        :class:`~semalloc.errors.InputError`.
    """

    metadata = {"render_modes": []}

    def __init__(self, slots: int = 100, **settings):
        s = _settings(settings)
        self.settings = dict(settings)
        self.slots = int(slots)
        self.K, self.M, self.Nt = int(s["users"]), int(s["subchannels"]), int(s["antennas"])
        n = self.K * FEATURES(self.M)
        self.observation_space = spaces.Box(-OBS_CLIP, OBS_CLIP, (n,), np.float32)
        self.action_space = spaces.Dict({
            "discrete": spaces.MultiDiscrete([self.M + 1] * self.K + [Q_MAX] * self.K),
            "continuous": spaces.Box(0.0, 1.0, (2 * self.K + self.M,), np.float32)})
        self._slots = None
        self.inst = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._slots = episode(seed=int(self.np_random.integers(2**63 - 1)), slots=self.slots, **self.settings)
        self.t = 0
        self.inst = next(self._slots)
        return observe(self.inst), {}

    def step(self, action):
        if self.inst is None:
            raise RuntimeError("call reset() before step()")
        v, moved = allocation(self.inst, *split_action(self.K, self.M, action))
        o = outcome(self.inst, v)
        reward = float(o.score.sum())
        info = {k: o[k] for k in ("score", "effective", "xi", "latency_s", "rate_bps", "sinr")}
        info.update(subchannel=v["subchannel"], bits=v["bits"], moved=moved)
        self.t += 1
        truncated = self.t >= self.slots
        if not truncated:
            self.inst = next(self._slots)
        return observe(self.inst, o.score, o.effective), reward, False, truncated, info
