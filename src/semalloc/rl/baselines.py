"""Single-type DRL baselines from stable-baselines3, on wrapped action spaces of ``SBQ-v0``.

- ``dqn``: DQN on a **discretised** action, ``Discrete((M + 1)^K * Q_MAX)``:
  the subchannel of every user (or none) and one number of bits for all
  users; power weights equal, ZF beams, bandwidth shares equal
  (:func:`decode_discrete`). Refused above ``MAX_DISCRETE`` actions.
- ``ddpg``, ``td3``, ``sac``: on a **relaxed continuous** action,
  ``Box(-1, 1, 4K + M)``: per user a relaxed subchannel and bits value (rounded
  down onto the grid), power weight and MRT-ZF mix, then the bandwidth shares
  (:func:`decode_relaxed`).

Examples
--------
>>> import numpy as np
>>> from semalloc.rl.baselines import decode_discrete, decode_relaxed
>>> decode_discrete(2, 1, 8 * 3 + 5)["discrete"].tolist()     # users' subchannel digits 1, 1; q = 6
[1, 1, 5, 5]
>>> decode_relaxed(1, 1, np.array([1.0, -1.0, 0.0, 1.0, 0.0]))["discrete"].tolist()
[1, 0]
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..errors import InputError
from ..problems.sbq.instance import Q_MAX

__all__ = ["DiscreteActions", "RelaxedActions", "decode_discrete", "decode_relaxed", "MAX_DISCRETE", "SB3",
           "Exported", "export", "EXPORTABLE"]

#: Largest discretised action space DQN is given.
MAX_DISCRETE = 2**16


def decode_discrete(K: int, M: int, index: int) -> dict:
    """Hybrid action of discrete index ``index``: bits ``index % Q_MAX``, then subchannel digits base M + 1."""
    bits, rest = index % Q_MAX, index // Q_MAX
    subs = (rest // (M + 1) ** np.arange(K)) % (M + 1)
    return {"discrete": np.concatenate([subs, np.full(K, bits)]).astype(np.int64),
            "continuous": np.ones(2 * K + M, dtype=np.float32)}


def decode_relaxed(K: int, M: int, a: np.ndarray) -> dict:
    """Hybrid action of a relaxed action in [-1, 1]^(4K + M): discrete parts rounded down onto their grids."""
    x = (np.clip(np.asarray(a, dtype=float), -1.0, 1.0) + 1.0) / 2.0
    sub = np.minimum(np.floor(x[:K] * (M + 1)), M)
    bits = np.minimum(np.floor(x[K:2 * K] * Q_MAX), Q_MAX - 1)
    return {"discrete": np.concatenate([sub, bits]).astype(np.int64), "continuous": x[2 * K:].astype(np.float32)}


def _width(env) -> tuple[int, int]:
    """``(K, M)``: the users the hybrid action of ``env`` covers (``max_users`` for a scenario-general one)."""
    return len(env.unwrapped.action_space["discrete"].nvec) // 2, env.unwrapped.M


class DiscreteActions(gym.ActionWrapper):
    """``SBQ-v0`` (or the scenario-general environment) with DQN's discretised action (:func:`decode_discrete`)."""

    def __init__(self, env):
        super().__init__(env)
        self.K, self.M = _width(env)
        n = (self.M + 1) ** self.K * Q_MAX
        if n > MAX_DISCRETE:
            raise InputError("agent", f"dqn: the discretised action has {n} values for {self.K} users and "
                             f"{self.M} subchannels; at most {MAX_DISCRETE}", "sbq")
        self.action_space = spaces.Discrete(n)

    def action(self, action):
        return decode_discrete(self.K, self.M, int(action))


class RelaxedActions(gym.ActionWrapper):
    """``SBQ-v0`` (or the scenario-general environment) with a relaxed continuous action (:func:`decode_relaxed`)."""

    def __init__(self, env):
        super().__init__(env)
        self.K, self.M = _width(env)
        self.action_space = spaces.Box(-1.0, 1.0, (4 * self.K + self.M,), np.float32)

    def action(self, action):
        return decode_relaxed(self.K, self.M, action)


class Exported:
    """The deterministic policy of a trained DQN or DDPG/TD3 agent alone, in numpy: its MLP
    (ReLU between layers; ``tanh`` after the last for DDPG/TD3's actor, ``argmax`` of the Q-values for DQN).

    What ships for the baselines (:func:`export`): a few arrays instead of the
    stable-baselines3 archive with its critics, target networks and optimiser
    state, loaded with ``torch.load(weights_only=True)``. Weights are stored
    as float16 (DQN's last layer has ``(M + 1)^K * Q_MAX`` rows) and computed
    in float32: the stored file is the agent, and every reported number is its.
    """

    def __init__(self, kind: str, layers: list):
        if kind not in EXPORTABLE:
            raise InputError("agent", f"only {', '.join(EXPORTABLE)} export their policy alone, not {kind}", "sbq")
        self.kind = kind
        self.layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in layers]

    def predict(self, obs, deterministic: bool = True):
        """stable-baselines3's ``predict`` for one observation: ``(action, None)``."""
        x = np.asarray(obs, dtype=np.float32).ravel()
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return (int(np.argmax(x)) if self.kind == "dqn" else np.tanh(x)), None

    def state(self) -> dict:
        """What :func:`semalloc.rl.checkpoint.load` reads back (torch tensors, float16)."""
        import torch
        return {"layers": [[torch.from_numpy(w.astype(np.float16)), torch.from_numpy(b.astype(np.float16))]
                           for w, b in self.layers]}


#: Baselines whose deterministic policy is one MLP (exported by :func:`export`).
EXPORTABLE = ("dqn", "ddpg", "td3")


def export(model, kind: str) -> Exported:
    """The deterministic policy of a trained stable-baselines3 ``model`` of ``kind`` (:class:`Exported`),
    read back through float16 as it is stored."""
    import torch
    if kind not in EXPORTABLE:
        raise InputError("agent", f"only {', '.join(EXPORTABLE)} export their policy alone, not {kind}", "sbq")
    net = model.q_net.q_net if kind == "dqn" else model.actor.mu
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    return Exported(kind, [(m.weight.detach().cpu().numpy().astype(np.float16),
                            m.bias.detach().cpu().numpy().astype(np.float16)) for m in linear])


def _sb3():
    from stable_baselines3 import DDPG, DQN, SAC, TD3
    return {"dqn": DQN, "ddpg": DDPG, "td3": TD3, "sac": SAC}


#: Baseline name -> (wrapper, decode, keyword settings of the stable-baselines3 class).
#: ``gamma = 0`` as for the hybrid agent (actions do not change the next slot);
#: everything else stable-baselines3's defaults (DQN: 64x64 network, exploration
#: over 30 % of training) and Gaussian exploration noise (0.1) for DDPG/TD3.
SB3 = {
    "dqn": (DiscreteActions, decode_discrete, {"gamma": 0.0, "exploration_fraction": 0.3}),
    "ddpg": (RelaxedActions, decode_relaxed, {"gamma": 0.0}),
    "td3": (RelaxedActions, decode_relaxed, {"gamma": 0.0}),
    "sac": (RelaxedActions, decode_relaxed, {"gamma": 0.0}),
}
