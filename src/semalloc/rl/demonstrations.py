"""Demonstrations for the hybrid agent: slots decided by an optimiser, and behaviour cloning on them.

The scenario-general agent trained by PPO alone from random weights learns to
serve too few users: at 307 200 steps it serves 3.5 users per slot where
``best`` serves 4.4 at Pmax = 0.01 W, and 8.5 where ``best`` serves 10.1 at
K = 12, and even with ``best``'s own power and bandwidth on its assignment it
stays 5-7 % below ``best`` (``benchmarks/sbq.py --diagnose``; docs/models.md,
sbq). The recipe of the shipped agent therefore first imitates a teacher
(``best``, 13-67 ms a slot) on ``demonstrations`` slots drawn as the
environment draws them, then improves on the reward with PPO, as DRL systems
trained from demonstrations do. The policy learns the teacher's discrete
choices exactly (every ``best`` allocation is an action of the hybrid agent:
ZF beams are ``mix = 1``, powers and shares are relative weights), so what
imitation leaves is the policy's error, which PPO then works on.

:func:`teacher_action` maps a solution to the hybrid action that
:func:`semalloc.problems.sbq.mdp.allocation` maps back to it;
:func:`collect` runs the teacher over :class:`~semalloc.rl.env.ScenarioEnv`
episodes; :func:`imitate` fits a :class:`~semalloc.rl.hybrid.HybridPolicy` to
them (cross-entropy on the subchannel and bits heads, squared error on the
Gaussian means of the continuous heads, given the teacher's subchannels).

Examples
--------
>>> from semalloc.rl.demonstrations import collect, imitate
>>> from semalloc.rl.hybrid import HybridPolicy
>>> demo = collect(4, seed=0, max_users=3, ranges={"users": [2, 3]}, slots=2)
>>> demo["obs"].shape[0], demo["discrete"].shape[1], demo["z"].shape[1]
(4, 6, 9)
>>> net = HybridPolicy(users=3, subchannels=3, features=demo["obs"].shape[1] // 3, masked=True)
>>> loss = imitate(net, demo, epochs=2)
>>> len(loss)
2
"""
from __future__ import annotations

import numpy as np

from ..problems.sbq.instance import Q_MAX

__all__ = ["teacher_action", "collect", "imitate", "Z_CLIP"]

#: Continuous targets are kept inside ``sigmoid(+-Z_CLIP)`` (a weight of exactly 0 or 1 has no finite logit).
Z_CLIP = 7.0


def teacher_action(inst, variables: dict, max_users: int) -> tuple[np.ndarray, np.ndarray]:
    """``(discrete, z)`` of the hybrid action that reproduces ``variables`` on slot ``inst``.

    ``discrete``: subchannel + 1 (0 = none) and ``q - 1`` for ``max_users``
    users (absent ones 0); ``z``: the logits of the continuous action --
    power weight ``p_k / max p``, mix 1 (zero-forcing), share ``B_m / max B``
    -- clipped to ``+-Z_CLIP``.

    Examples
    --------
    >>> import numpy as np, semalloc
    >>> from semalloc.problems.sbq.mdp import allocation
    >>> inst = semalloc.generate("sbq", seed=3, users=4)
    >>> v = semalloc.solve(inst, "best").variables
    >>> d, z = teacher_action(inst, v, 6)
    >>> c = 1 / (1 + np.exp(-z))
    >>> w, _ = allocation(inst, d[:4], d[6:10], c[:4], c[6:10], c[12:])
    >>> again = semalloc.evaluate(inst, w).objective
    >>> bool(abs(again - semalloc.evaluate(inst, v).objective) < 1e-2)
    True
    """
    K, M = inst.K, inst.M
    sub = np.asarray(variables["subchannel"], dtype=np.int64)
    q = np.asarray(variables["bits"], dtype=np.int64)
    power = np.sum(np.asarray(variables["beam_re"]) ** 2 + np.asarray(variables["beam_im"]) ** 2, axis=1)
    band = np.asarray(variables["bandwidth_hz"], dtype=float)
    discrete = np.zeros(2 * max_users, dtype=np.int64)
    discrete[:K] = sub + 1
    discrete[max_users:max_users + K] = np.clip(q, 1, Q_MAX) - 1
    weight = np.full(2 * max_users + M, 0.5)
    weight[:K] = power / max(power.max(), 1e-300)
    weight[max_users:max_users + K] = 1.0
    weight[2 * max_users:] = band / max(band.max(), 1e-300)
    with np.errstate(divide="ignore"):
        z = np.log(weight) - np.log1p(-weight)
    return discrete, np.clip(z, -Z_CLIP, Z_CLIP).astype(np.float32)


def collect(n: int, seed: int = 0, teacher: str = "best", max_users: int = 12, slots: int = 25,
            ranges: dict | None = None, progress=None, **settings) -> dict:
    """``n`` slots of :class:`~semalloc.rl.env.ScenarioEnv` episodes decided by algorithm ``teacher``.

    The environment steps on the teacher's action, so the last-outcome
    features are the teacher's. Returns arrays ``obs`` (n, F), ``discrete``
    (n, 2 max_users), ``z`` (n, 2 max_users + M), and ``value`` (n), the
    teacher's objective per slot. ``progress(done)`` after each slot.
    """
    from ..solve import solve
    from .env import ScenarioEnv

    env = ScenarioEnv(slots=slots, max_users=max_users, ranges=ranges, **settings)
    obs, _ = env.reset(seed=seed)
    out = {"obs": [], "discrete": [], "z": [], "value": []}
    for i in range(int(n)):
        r = solve(env.inst, teacher)
        d, z = teacher_action(env.inst, r.variables, max_users)
        for k, v in (("obs", obs), ("discrete", d), ("z", z), ("value", r.objective)):
            out[k].append(v)
        obs, _, _, truncated, _ = env.step({"discrete": d, "continuous": 1.0 / (1.0 + np.exp(-z))})
        if truncated:
            obs, _ = env.reset()
        if progress is not None:
            progress(i + 1)
    return {"obs": np.asarray(out["obs"], dtype=np.float32), "discrete": np.asarray(out["discrete"]),
            "z": np.asarray(out["z"], dtype=np.float32), "value": np.asarray(out["value"], dtype=float)}


def imitate(net, demo: dict, epochs: int = 40, lr: float = 1e-3, minibatch: int = 256, seed: int = 0,
            progress=None) -> list[float]:
    """Fit ``net`` to ``demo`` (:func:`collect`) by behaviour cloning; the mean loss of each epoch.

    Loss per slot: cross-entropy of the teacher's subchannel and bits over
    present users, plus half the squared error between the Gaussian means
    and the teacher's ``z`` (given the teacher's subchannels) over served
    users' power and mix and used subchannels' shares. Adam, learning rate
    falling linearly to 0. ``progress(epoch, loss)`` after each epoch.
    """
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(seed)
    obs, disc, z = (torch.as_tensor(demo[k]) for k in ("obs", "discrete", "z"))
    K, M = net.K, net.M
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    losses = []
    for epoch in range(int(epochs)):
        for group in opt.param_groups:
            group["lr"] = lr * (1.0 - epoch / epochs)
        total = 0.0
        for idx in torch.randperm(len(obs), generator=gen).split(minibatch):
            o, s, b = obs[idx], disc[idx, :K], disc[idx, K:]
            e, c, sub_logits, bit_logits, _ = net.heads(o)
            sub_logits = net.subchannel_logits(o, e, sub_logits, s)         # given the users before (sequential)
            m = net.mask(o)
            ce = (nn.functional.cross_entropy(sub_logits.reshape(-1, M + 1), s.reshape(-1), reduction="none") +
                  nn.functional.cross_entropy(bit_logits.reshape(-1, Q_MAX), b.reshape(-1), reduction="none"))
            ce = (ce.view_as(m) * m).sum() / m.sum()
            mean, _ = net.continuous(e, c, s, m)
            served = m * (s > 0).to(m.dtype)
            used = (nn.functional.one_hot(s, M + 1)[..., 1:] * m.unsqueeze(-1)).amax(dim=1).to(m.dtype)
            w = torch.cat([served, served, used], dim=1)
            mse = (((mean - z[idx]) ** 2) * w).sum() / w.sum().clamp(min=1)
            loss = ce + 0.5 * mse
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(obs))
        if progress is not None:
            progress(epoch + 1, losses[-1])
    return losses
