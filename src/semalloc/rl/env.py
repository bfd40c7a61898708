"""The gymnasium environment ``semalloc/SBQ-v0``: one episode = time-correlated SBQ slots.

Each episode draws users (positions, shadowing, ``n_k``) once and ``slots``
slots of Gauss-Markov fading (:func:`semalloc.problems.sbq.instance.episode`).
The observation and the map from the hybrid action to a feasible allocation
are :mod:`semalloc.problems.sbq.mdp`; the reward is the slot's sum of
effective SC-QoS, computed by the problem's own :func:`outcome`. ``info``
holds the per-user outcome of the slot just scored (``score``, ``effective``,
``xi``, ``latency_s``, ``rate_bps``, ``sinr``, ``subchannel``, ``bits``), ``user_reward``
(each user's part of the reward, which sums to it) and
``moved`` (users the ``Nt`` cap moved to another subchannel or dropped). An episode ends by truncation
after ``slots`` slots.

``perception="mapping"`` trains the mapping-guided agent (``mapping-drl``):
its reward and last-outcome features are the effective SC-QoS as the S-SE map
perceives it (:func:`~semalloc.problems.sbq.algorithms.perceived_value`,
``xi = Xi(n_k, SINR_k)``), the model ``mapping`` optimises; ``info["score"]``
stays the SBQ model's, by which every agent is scored.

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

from ..errors import InputError
from ..problems.sbq.algorithms import mapping_bits, perceived_value
from ..problems.sbq.evaluate import outcome
from ..problems.sbq.instance import Q_MAX, _settings, episode
from ..problems.sbq.mdp import FEATURES, OBS_CLIP, SCENARIO, allocation, observe, observe_general

__all__ = ["SBQEnv", "ScenarioEnv", "split_action", "to_allocation", "scored", "scenario_ranges", "RANGES",
           "PERCEPTIONS"]

#: How an environment scores a slot: by the SBQ model (``sbq``) or as the S-SE map perceives it (``mapping``).
PERCEPTIONS = ("sbq", "mapping")

#: Domain randomisation of the scenario-general agent: the range the sbq figures sweep
#: (sbq-fig1: K in 2..12; sbq-fig2: Pmax in 0.01..10 W, log-uniform).
RANGES = {"users": [2, 12], "power_max_w": [0.01, 10.0]}


def scenario_ranges(max_users: int, ranges: dict | None = None) -> dict:
    """The ranges a scenario-general environment draws from: :data:`RANGES` (users capped at ``max_users``)
    updated by ``ranges``.

    >>> scenario_ranges(6)
    {'users': [2, 6], 'power_max_w': [0.01, 10.0]}
    """
    (lo, hi), top = RANGES["users"], int(max_users)
    return {**RANGES, "users": [min(lo, top), min(hi, top)], **(ranges or {})}


def scored(inst, v: dict, perception: str = "sbq"):
    """``(outcome, reward, score, effective)`` of variables ``v``: the SBQ :func:`outcome` and the reward
    and per-user score the agent learns from, as ``perception`` sees them (variables with a leading batch
    axis, as :func:`to_allocation` maps a batch of actions: every entry with it, the reward an array).

    Examples
    --------
    >>> import semalloc
    >>> inst = semalloc.generate("sbq", seed=1, users=3)
    >>> v = semalloc.solve(inst, "mapping").variables
    >>> _, r_sbq, _, _ = scored(inst, v)
    >>> _, r_map, _, _ = scored(inst, v, "mapping")
    >>> bool(abs(r_sbq - semalloc.evaluate(inst, v).objective) < 1e-9), r_map != r_sbq
    (True, True)
    """
    o = outcome(inst, v)
    if perception == "sbq":
        score, effective = o.score, o.effective
    else:
        sub = v["subchannel"]
        band = np.where(sub >= 0, np.take_along_axis(v["bandwidth_hz"], np.maximum(sub, 0), axis=-1), 0.0)
        score = perceived_value(inst, v["bits"], o.rate_bps, band)
        effective = score > 0
    reward = score.sum(axis=-1)
    return o, float(reward) if reward.ndim == 0 else reward, score, effective


def _perception(perception: str) -> str:
    if perception not in PERCEPTIONS:
        raise InputError("perception", f"must be one of {', '.join(PERCEPTIONS)}, got {perception!r}", "sbq")
    return perception


def split_action(K: int, M: int, action: dict) -> tuple:
    """``(sub_choice, bits_choice, power, mix, shares)`` from a hybrid action dict (or a batch of them:
    a leading axis on both entries)."""
    d, c = np.asarray(action["discrete"]), np.asarray(action["continuous"], dtype=float)
    return d[..., :K], d[..., K:], c[..., :K], c[..., K:2 * K], c[..., 2 * K:2 * K + M]


def to_allocation(inst, action: dict, perception: str = "sbq", width: int | None = None) -> tuple[dict, int]:
    """``(variables, moved)`` of a hybrid action on slot ``inst``
    (:func:`~semalloc.problems.sbq.mdp.allocation` of its first ``inst.K`` of ``width`` users; a batch of
    actions gives a batch of variables).

    ``perception="mapping"``: every user sends the mapping paradigm's one
    number of bits (:func:`~semalloc.problems.sbq.algorithms.mapping_bits`,
    as ``mapping`` does), whatever the bits head says: the S-SE map perceives
    no quantization, so an agent learning from it would otherwise send 1 bit.
    """
    K = inst.K
    sub, bits, power, mix, shares = split_action(width or K, inst.M, action)
    sub, power, mix = sub[..., :K], power[..., :K], mix[..., :K]
    bits = np.full(sub.shape, mapping_bits(inst) - 1) if perception == "mapping" else bits[..., :K]
    return allocation(inst, sub, bits, power, mix, shares)


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
    perception
        ``sbq`` (the model) or ``mapping`` (the S-SE-perceived reward of ``mapping-drl``).
    """

    metadata = {"render_modes": []}

    def __init__(self, slots: int = 100, perception: str = "sbq", **settings):
        self.perception = _perception(perception)
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
        v, moved = to_allocation(self.inst, action, self.perception)
        o, reward, score, effective = scored(self.inst, v, self.perception)
        info = {k: o[k] for k in ("score", "effective", "xi", "latency_s", "rate_bps", "sinr")}
        info.update(subchannel=v["subchannel"], bits=v["bits"], moved=moved, user_reward=score)
        self.t += 1
        truncated = self.t >= self.slots
        if not truncated:
            self.inst = next(self._slots)
        return observe(self.inst, score, effective), reward, False, truncated, info


class ScenarioEnv(gym.Env):
    """SBQ episodes whose scenario is drawn at every reset (domain randomisation).

    ``users`` is drawn uniformly from ``ranges["users"]`` (integers, both ends
    included; :func:`scenario_ranges`) and ``power_max_w`` log-uniformly from ``ranges["power_max_w"]``;
    the other settings are fixed (``settings``, generator defaults otherwise).
    The observation is :func:`~semalloc.problems.sbq.mdp.observe_general`
    (``max_users`` rows, absent users zero with presence flag 0); the action
    covers ``max_users`` users, of which the first ``K`` are used.

    Examples
    --------
    >>> env = ScenarioEnv(slots=3, max_users=4, ranges={"users": [2, 3], "power_max_w": [0.1, 1.0]})
    >>> obs, _ = env.reset(seed=0)
    >>> obs.shape, env.inst.K in (2, 3)
    ((48,), True)
    """

    metadata = {"render_modes": []}

    def __init__(self, slots: int = 100, max_users: int = 12, ranges: dict | None = None, perception: str = "sbq",
                 directions: bool = False, channels: bool = False, **settings):
        self.perception = _perception(perception)
        self.directions, self.channels = bool(directions), bool(channels)
        self.ranges = scenario_ranges(max_users, ranges)
        if set(self.ranges) - set(RANGES):
            raise InputError("ranges", f"only {', '.join(RANGES)} are randomised, got {sorted(self.ranges)}", "sbq")
        (k_lo, k_hi), (p_lo, p_hi) = self.ranges["users"], self.ranges["power_max_w"]
        if not 1 <= int(k_lo) <= int(k_hi) <= int(max_users) or not 0 < float(p_lo) <= float(p_hi):
            raise InputError("ranges", f"need 1 <= users <= max_users = {max_users} and 0 < power_max_w, "
                             f"got {self.ranges}", "sbq")
        s = _settings({**settings, "users": int(max_users)})
        self.settings = {k: v for k, v in settings.items() if k not in RANGES}
        self.slots, self.max_users = int(slots), int(max_users)
        self.M, self.Nt = int(s["subchannels"]), int(s["antennas"])
        K = self.max_users
        width = FEATURES(self.M) + self.M * self.directions + 2 * self.M * self.Nt * self.channels + SCENARIO
        self.observation_space = spaces.Box(-OBS_CLIP, OBS_CLIP, (K * width,), np.float32)
        self.action_space = spaces.Dict({
            "discrete": spaces.MultiDiscrete([self.M + 1] * K + [Q_MAX] * K),
            "continuous": spaces.Box(0.0, 1.0, (2 * K + self.M,), np.float32)})
        self.inst = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        (k_lo, k_hi), (p_lo, p_hi) = self.ranges["users"], self.ranges["power_max_w"]
        users = int(self.np_random.integers(int(k_lo), int(k_hi) + 1))
        power = float(np.exp(self.np_random.uniform(np.log(p_lo), np.log(p_hi))))
        self._slots = episode(seed=int(self.np_random.integers(2**63 - 1)), slots=self.slots,
                              **{**self.settings, "users": users, "power_max_w": power})
        self.t = 0
        self.inst = next(self._slots)
        return observe_general(self.inst, self.max_users, directions=self.directions, channels=self.channels), {}

    def step(self, action):
        if self.inst is None:
            raise RuntimeError("call reset() before step()")
        K = self.inst.K
        v, moved = to_allocation(self.inst, action, self.perception, self.max_users)
        _, reward, score, effective = scored(self.inst, v, self.perception)
        self.t += 1
        truncated = self.t >= self.slots
        info = {"moved": moved, "users": K, "user_reward": np.pad(score, (0, self.max_users - K))}
        if not truncated:
            self.inst = next(self._slots)
        obs = observe_general(self.inst, self.max_users, score, effective, self.directions, self.channels)
        return obs, reward, False, truncated, info
