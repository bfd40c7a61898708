"""Reinforcement learning for the ``sbq`` problem: environment and agents.

Needs the optional ``rl`` extra (gymnasium, stable-baselines3, torch);
``import semalloc`` never does. Importing this package registers the
gymnasium environment ``semalloc/SBQ-v0`` (:mod:`semalloc.rl.env`) when
gymnasium is installed. Agents: :mod:`semalloc.rl.hybrid` (ours, hybrid PPO; the reward's gradient in
its continuous action: :mod:`semalloc.rl.pathwise`),
:mod:`semalloc.rl.baselines` (stable-baselines3 DQN on a discretised action,
DDPG/TD3/SAC on a relaxed continuous action), :mod:`semalloc.rl.checkpoint`
(the agent file format, the shipped agents), :mod:`semalloc.rl.training`,
:mod:`semalloc.rl.cache` (the agent ``drl`` runs), :mod:`semalloc.rl.evaluation`
(all four re-exported by the facade :mod:`semalloc.rl.agents`); :mod:`semalloc.rl.search` is the
decision-time local search of ``drl-local``; :mod:`semalloc.rl.cli` is ``semalloc rl``.

Examples
--------
>>> import gymnasium as gym
>>> import semalloc.rl
>>> env = gym.make("semalloc/SBQ-v0", users=2, antennas=2, subchannels=1, slots=3)
>>> env.observation_space.shape
(14,)
"""
from __future__ import annotations

try:
    import gymnasium
except ImportError:                       # the rl extra is not installed: nothing to register
    gymnasium = None

ENV_ID = "semalloc/SBQ-v0"

if gymnasium is not None and ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="semalloc.rl.env:SBQEnv")
