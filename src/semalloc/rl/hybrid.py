"""Our hybrid DRL agent: PPO with a categorical and a Gaussian head over a per-user network.

The policy sees the slot as a set of users: one encoder ``phi`` maps each
user's features to an embedding ``e_k``; the context ``c`` is the mean of the
embeddings; a per-user head ``psi([e_k, c])`` gives the user's subchannel
logits (M + 1, incl. "none"), bits logits (``Q_MAX``) and its share of the
value. The continuous parameters are conditioned on the drawn subchannels
(parameterised actions): each subchannel's group embedding ``g_m`` (mean of
its users' ``e_k``) enters the power/mix head of its users, ``[e_k, c,
g_m(k)]``, and its bandwidth-share head, ``[g_m, c, n_m / K]``. Continuous actions are
``sigmoid(z)`` of a Gaussian ``z`` (state-independent standard deviations), so
they lie in (0, 1) without clipping and the likelihood ratio is exact.
The same weights serve every user, so each slot trains them K times.

The value is the sum of per-user values (the reward is a sum over users).
By default the discount is 0: the action does not change the next slot's
channels or tasks (docs/models.md, sbq, "Discount"), so maximising each slot's reward is
optimal and the advantage is ``r - V(s)``; ``gamma > 0`` uses GAE.

Examples
--------
>>> import torch
>>> from semalloc.rl.hybrid import HybridPolicy
>>> net = HybridPolicy(users=3, subchannels=2, features=8)
>>> obs = torch.zeros(5, 24)
>>> act = net.act(obs, deterministic=True)
>>> act["discrete"].shape, act["continuous"].shape
((5, 6), (5, 8))
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from ..problems.sbq.instance import Q_MAX

__all__ = ["HybridPolicy", "train_hybrid", "PPO_DEFAULTS"]

#: PPO settings of ``train_hybrid`` (keyword overrides accepted).
PPO_DEFAULTS = {"n_envs": 16, "n_steps": 16, "epochs": 4, "minibatch": 64, "lr": 1e-3, "clip": 0.2,
                "entropy": 0.003, "value_coef": 0.5, "max_grad_norm": 0.5, "gamma": 0.0, "gae_lambda": 0.95,
                "hidden": 128, "anneal": True}


class HybridPolicy(nn.Module):
    """Per-user actor-critic: discrete heads first, then continuous parameters conditioned on the assignment."""

    def __init__(self, users: int, subchannels: int, features: int, hidden: int = 128, masked: bool = False):
        super().__init__()
        self.K, self.M, self.F, self.masked = users, subchannels, features, bool(masked)
        H = hidden
        self.encoder = nn.Sequential(nn.Linear(features, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh())
        self.user_head = nn.Sequential(nn.Linear(2 * H, H), nn.Tanh(), nn.Linear(H, subchannels + 1 + Q_MAX + 1))
        self.param_head = nn.Sequential(nn.Linear(3 * H, H), nn.Tanh(), nn.Linear(H, 2))
        self.share_head = nn.Sequential(nn.Linear(2 * H + 1, H), nn.Tanh(), nn.Linear(H, 1))
        self.log_std = nn.Parameter(torch.full((3,), -0.5))          # power, mix, shares

    def mask(self, obs: torch.Tensor) -> torch.Tensor:
        """Presence (B, K) of each user row: the last feature when ``masked``, else all ones."""
        x = obs.view(obs.shape[0], self.K, self.F)
        return (x[..., -1] > 0.5).to(obs.dtype) if self.masked else torch.ones_like(x[..., 0])

    def heads(self, obs: torch.Tensor):
        """``(e (B,K,H), c (B,H), sub_logits (B,K,M+1), bit_logits (B,K,Q), value (B,))``.

        ``masked``: the context is the mean over present users, and absent users add no value."""
        B, K, M = obs.shape[0], self.K, self.M
        e = self.encoder(obs.view(B, K, self.F))
        m = self.mask(obs).unsqueeze(-1)
        c = (e * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
        out = self.user_head(torch.cat([e, c.unsqueeze(1).expand(-1, K, -1)], dim=-1))
        return e, c, out[..., :M + 1], out[..., M + 1:M + 1 + Q_MAX], (out[..., -1] * m[..., 0]).sum(dim=1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.heads(obs)[-1]

    def _logp(self, obs, e, c, sub_logits, bit_logits, s, b, z):
        """Log-probability of ``(s, b, z)`` and entropy of the discrete heads, over present users only."""
        m = self.mask(obs)
        ds, db = Categorical(logits=sub_logits, validate_args=False), Categorical(logits=bit_logits, validate_args=False)
        mean, std = self.continuous(e, c, s, m)
        lz = Normal(mean, std, validate_args=False).log_prob(z)
        mz = torch.cat([m, m, torch.ones_like(m[:, :self.M])], dim=-1)
        logp = ((ds.log_prob(s) + db.log_prob(b)) * m).sum(-1) + (lz * mz).sum(-1)
        return logp, ((ds.entropy() + db.entropy()) * m).sum(-1)

    def continuous(self, e, c, sub, m=None):
        """Means ``(B, 2K + M)`` and std of the Gaussian, given the subchannel choices ``sub`` (B, K).

        Each subchannel's group embedding (mean of its users' embeddings) enters
        its users' power/mix head and its bandwidth-share head: the parameters
        follow the discrete choice, as in a parameterised-action policy."""
        K, M = self.K, self.M
        onehot = nn.functional.one_hot(sub, M + 1).to(e.dtype)                    # (B, K, M+1)
        if m is not None:                                                         # absent users join no group
            onehot = onehot * m.unsqueeze(-1)
        count = onehot.sum(dim=1)                                                 # (B, M+1)
        users = count.sum(dim=1, keepdim=True).clamp(min=1)                       # K present
        group = onehot.transpose(1, 2) @ e / count.clamp(min=1).unsqueeze(-1)     # (B, M+1, H)
        mine = torch.gather(group, 1, sub.unsqueeze(-1).expand(-1, -1, e.shape[-1]))
        ctx = c.unsqueeze(1).expand(-1, K, -1)
        user = self.param_head(torch.cat([e, ctx, mine], dim=-1))                 # (B, K, 2)
        g = group[:, 1:]
        share = self.share_head(torch.cat([g, c.unsqueeze(1).expand(-1, M, -1), (count[:, 1:] / users)[..., None]], dim=-1))
        mean = torch.cat([user[..., 0], user[..., 1], share[..., 0]], dim=-1)
        std = torch.cat([self.log_std[0].expand(K), self.log_std[1].expand(K), self.log_std[2].expand(M)]).exp()
        return mean, std

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False) -> dict:
        """Env actions (numpy) for a batch of observations; sampled ones carry the internals PPO stores."""
        e, c, sub_logits, bit_logits, value = self.heads(obs)
        m = self.mask(obs)
        if deterministic:                               # argmax and median; no distributions (fast path)
            s, b = sub_logits.argmax(-1), bit_logits.argmax(-1)
            z = self.continuous(e, c, s, m)[0]
            return {"discrete": torch.cat([s, b], dim=-1).cpu().numpy(),
                    "continuous": torch.sigmoid(z).cpu().numpy()}
        ds, db = Categorical(logits=sub_logits, validate_args=False), Categorical(logits=bit_logits, validate_args=False)
        s, b = ds.sample(), db.sample()
        z = Normal(*self.continuous(e, c, s, m), validate_args=False).sample()
        logp, _ = self._logp(obs, e, c, sub_logits, bit_logits, s, b, z)
        return {"discrete": torch.cat([s, b], dim=-1).cpu().numpy(), "continuous": torch.sigmoid(z).cpu().numpy(),
                "z": z, "logp": logp, "value": value}

    def act_one(self, obs: np.ndarray, samples: int = 0, rng: np.random.Generator | None = None):
        """The deterministic action of :meth:`act` for one observation, computed in numpy (float32).

        The same network as :meth:`act` on a batch of one, without torch's
        per-operation overhead; the first layer of each head is split by
        input block (``[e, c] W = e W_e + c W_c``), so the context's share is
        computed once instead of once per user. Equal to :meth:`act` up to
        float32 rounding (tests/test_rl_decide.py). The weights are copied
        once, and again whenever a parameter changes in place (optimiser
        step, ``load_state_dict``).

        ``samples > 0``: a list of ``1 + samples`` actions, the deterministic
        one first, then ``samples`` drawn from the policy's distribution with
        ``rng`` (Gumbel-max for the categorical heads, the Gaussian for the
        continuous ones), sharing the encoder and the user head."""
        params = self.__dict__.get("_np_params")
        if params is None:
            params = self.__dict__["_np_params"] = list(self.parameters())
        stamp = tuple(p._version for p in params)
        if self.__dict__.get("_np_stamp") != stamp:
            self.__dict__["_np_layers"] = self._numpy_layers()
            self.__dict__["_np_stamp"] = stamp
        (enc0, be0, enc2, be2, ue, uc, ub0, u2, ub2,
         pe, pc, pg, pb0, p2, pb2, sg, sc, sn, sb0, s2, sb2, std) = self.__dict__["_np_layers"]
        M = self.M
        x = np.asarray(obs, dtype=np.float32).reshape(self.K, self.F)
        if self.masked:                                 # present users only: the same mean, groups and counts
            x = x[x[:, -1] > 0.5]
        K = len(x)
        std = np.repeat(std, [K, K, M])
        e = np.tanh(np.tanh(x @ enc0 + be0) @ enc2 + be2)
        c = e.mean(axis=0, keepdims=True)
        out = np.tanh(e @ ue + (c @ uc + ub0)) @ u2 + ub2
        sub_logits, bit_logits = out[:, :M + 1], out[:, M + 1:M + 1 + Q_MAX]
        pc, sc = c @ pc + pb0, c @ sc + sb0
        e_pe = e @ pe
        actions = []
        for i in range(1 + int(samples)):
            if i == 0:
                s, b = sub_logits.argmax(-1), bit_logits.argmax(-1)
            else:                                       # Gumbel-max: a draw of the categorical distribution
                s = (sub_logits - np.log(-np.log(rng.random(sub_logits.shape)))).argmax(-1)
                b = (bit_logits - np.log(-np.log(rng.random(bit_logits.shape)))).argmax(-1)
            onehot = (s[None, :] == np.arange(M + 1)[:, None]).astype(np.float32)     # (M+1, K)
            count = onehot.sum(axis=1)
            group = onehot @ e / np.maximum(count, 1)[:, None]                       # (M+1, H)
            user = np.tanh(e_pe + (group @ pg)[s] + pc) @ p2 + pb2                    # (K, 2)
            share = np.tanh(group[1:] @ sg + (count[1:, None] / K).astype(np.float32) * sn + sc) @ s2 + sb2
            z = np.concatenate([user[:, 0], user[:, 1], share[:, 0]])
            if i > 0:
                z = z + std * rng.standard_normal(z.shape)
            actions.append({"discrete": np.concatenate([s, b]),
                            "continuous": (1.0 / (1.0 + np.exp(-z))).astype(np.float32)})
        return actions if samples else actions[0]

    def _numpy_layers(self) -> tuple:
        """Transposed float32 weights for :meth:`act_one`, first layers split by input block."""
        def wb(layer):
            return layer.weight.detach().cpu().numpy().T.copy(), layer.bias.detach().cpu().numpy().copy()

        H = self.encoder[0].out_features
        enc0, be0 = wb(self.encoder[0])
        enc2, be2 = wb(self.encoder[2])
        u0, ub0 = wb(self.user_head[0])
        u2, ub2 = wb(self.user_head[2])
        p0, pb0 = wb(self.param_head[0])
        p2, pb2 = wb(self.param_head[2])
        s0, sb0 = wb(self.share_head[0])
        s2, sb2 = wb(self.share_head[2])
        return (enc0, be0, enc2, be2, u0[:H].copy(), u0[H:].copy(), ub0, u2, ub2,
                p0[:H].copy(), p0[H:2 * H].copy(), p0[2 * H:].copy(), pb0, p2, pb2,
                s0[:H].copy(), s0[H:2 * H].copy(), s0[2 * H:].copy(), sb0, s2, sb2,
                np.exp(self.log_std.detach().cpu().numpy().astype(float)))

    def evaluate_actions(self, obs, discrete, z):
        """Log-probability, entropy of the discrete heads and value of stored actions (for the PPO loss).

        The Gaussian's spread is left to the policy gradient (no entropy bonus), so
        it narrows as the policy settles and the deterministic action (the median
        ``sigmoid(mean)``) is what was learned."""
        e, c, sub_logits, bit_logits, value = self.heads(obs)
        logp, ent = self._logp(obs, e, c, sub_logits, bit_logits, discrete[..., :self.K], discrete[..., self.K:], z)
        return logp, ent, value


def train_hybrid(env_fn, steps: int, seed: int = 0, device: str = "cpu", progress=None, stop_after: int | None = None,
                 snapshot=None, policy: HybridPolicy | None = None, **overrides):
    """Train a :class:`HybridPolicy` with PPO on ``n_envs`` copies of ``env_fn()`` for ``steps`` env steps.

    ``progress(done_steps, mean_reward)`` is called after every rollout.
    Returns ``(policy, stats)``; ``stats`` has ``steps``, ``seconds``,
    ``mean_reward`` (per slot, over the last quarter of training) and
    ``curve``: ``(steps, seconds, mean reward per slot of the rollout)`` after
    every rollout (the training curve). An environment with ``max_users``
    (:class:`~semalloc.rl.env.ScenarioEnv`) gets a masked policy over its padded users.
    ``stop_after``: stop once that many steps are done, keeping the schedule of a
    ``steps``-step run (so the result equals that run's snapshot at that point).
    ``snapshot(policy, done_steps)`` is called after every rollout (to save snapshots).
    ``policy``: start from this network (e.g. one fitted to demonstrations,
    :mod:`semalloc.rl.demonstrations`) instead of random weights; trained in place.
    """
    import gymnasium as gym

    cfg = {**PPO_DEFAULTS, **overrides}
    torch.manual_seed(seed)
    envs = gym.vector.SyncVectorEnv([env_fn for _ in range(cfg["n_envs"])],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    one = envs.envs[0].unwrapped
    K = getattr(one, "max_users", None) or one.K                            # ScenarioEnv: padded, masked users
    net = policy.to(device).train() if policy is not None else HybridPolicy(
        K, one.M, one.observation_space.shape[0] // K, cfg["hidden"], masked=hasattr(one, "max_users")).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    obs, _ = envs.reset(seed=seed)
    N, T = cfg["n_envs"], cfg["n_steps"]
    rollouts = max(1, int(np.ceil(steps / (N * T))))
    t0, recent, curve, done = time.perf_counter(), [], [], 0
    for it in range(rollouts):
        if cfg["anneal"]:                                                     # learning rate linearly to 0
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * (1.0 - it / rollouts)
        buf = {k: [] for k in ("obs", "discrete", "z", "logp", "value", "reward", "end")}
        for _ in range(T):
            o = torch.as_tensor(obs, device=device)
            a = net.act(o)
            obs, reward, term, trunc, _ = envs.step({"discrete": a["discrete"], "continuous": a["continuous"]})
            for k, v in (("obs", o), ("discrete", torch.as_tensor(a["discrete"], device=device)), ("z", a["z"]),
                         ("logp", a["logp"]), ("value", a["value"]),
                         ("reward", torch.as_tensor(reward, dtype=torch.float32, device=device)),
                         ("end", torch.as_tensor(term | trunc, dtype=torch.float32, device=device))):
                buf[k].append(v)
        b = {k: torch.stack(v) for k, v in buf.items()}                       # (T, N, ...)
        with torch.no_grad():
            last = net.value(torch.as_tensor(obs, device=device))
        adv = torch.zeros_like(b["reward"])
        gae = torch.zeros(N, device=device)
        for t in reversed(range(T)):                                          # GAE; gamma = 0 gives r - V
            nxt = last if t == T - 1 else b["value"][t + 1]
            delta = b["reward"][t] + cfg["gamma"] * nxt * (1 - b["end"][t]) - b["value"][t]
            gae = delta + cfg["gamma"] * cfg["gae_lambda"] * (1 - b["end"][t]) * gae
            adv[t] = gae
        ret = adv + b["value"]
        flat = {k: v.reshape(T * N, *v.shape[2:]) for k, v in b.items()}
        adv, ret = adv.reshape(-1), ret.reshape(-1)
        for _ in range(cfg["epochs"]):
            for idx in torch.randperm(T * N, device=device).split(cfg["minibatch"]):
                logp, ent, value = net.evaluate_actions(flat["obs"][idx], flat["discrete"][idx], flat["z"][idx])
                a_n = (adv[idx] - adv[idx].mean()) / (adv[idx].std() + 1e-8)
                ratio = (logp - flat["logp"][idx]).exp()
                pg = -torch.min(ratio * a_n, ratio.clamp(1 - cfg["clip"], 1 + cfg["clip"]) * a_n).mean()
                loss = pg + cfg["value_coef"] * (value - ret[idx]).pow(2).mean() - cfg["entropy"] * ent.mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), cfg["max_grad_norm"])
                opt.step()
        done += T * N
        recent.append(float(b["reward"].mean()))
        curve.append((done, time.perf_counter() - t0, recent[-1]))
        if progress is not None:
            progress(done, float(np.mean(recent[-20:])))
        if snapshot is not None:
            snapshot(net, done)
        if stop_after is not None and done >= stop_after:
            break
    envs.close()
    tail = recent[-max(1, len(recent) // 4):]
    return net.eval(), {"steps": done, "seconds": time.perf_counter() - t0, "mean_reward": float(np.mean(tail)),
                        "config": cfg, "curve": curve}
