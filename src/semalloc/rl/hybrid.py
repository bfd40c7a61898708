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
``credit="user"`` (a variant of ours, measured worse; ``slot`` is the plain PPO above) scores
each user's part of the action (its subchannel, bits, power and mix) by its
own advantage ``r_k - V_k`` (``r_k`` its effective SC-QoS, ``info["user_reward"]``)
with a per-user clipped ratio, and the subchannel shares by the slot's; it
ignores what a user's power costs the others (docs/models.md, sbq).

``pathwise > 0`` adds the reward's own gradient (:mod:`semalloc.rl.pathwise`): the slot's
effective SC-QoS is a known function of the continuous action once the discrete part is drawn,
so each minibatch also ascends ``pathwise x`` the smoothed score of the policy's median
continuous action for the stored slots and assignments (deadline gate ``sigmoid(kappa log(R / r_min))``);
``median=True`` rolls out that median (no Gaussian draw) and learns the continuous heads by this
gradient alone, PPO then scores the assignment and the bits only. The ``paper`` preset uses both
(docs/models.md, issue 16, fifth session); ``pathwise=0`` is the plain PPO above (preset ``ppo``).

``counterfactual > 0`` adds a gradient of ours for the subchannel heads, from the same model: for every
stored slot, each present user's every subchannel choice (incl. "none") is scored by the model with the
rest of the drawn action as it was and the continuous action the policy's median for that assignment
(``Q_km``, all of a slot's ``K (M + 1)`` assignments mapped and scored as one batch), and each user's
subchannel distribution ascends ``counterfactual x sum_m pi_k(m) (Q_km - sum_m' pi_k(m') Q_km')``
(``Q`` scaled by its minibatch spread): the exact expectation over the user's own choice, which the
score-function estimate samples once, with the slot's other users as the only noise (a difference
reward, as in counterfactual multi-agent policy gradients). PPO's ratio still covers the subchannels.
``around="mode"`` scores each user's choices with the other users at the policy's mode (argmax
subchannels and bits) instead of as drawn: each user's distribution then ascends its best response to
the others' deterministic choices, whose fixed point is a mode no single-user change improves (what
``drl-local`` searches for at decision time).

``sequential=True`` (ours; ``rl train --sequential``) decides the subchannels user by user instead of all
at once: users in decreasing order of their best SNR feature, each user's logits the user head's plus a
``pair_head`` term per subchannel from the users already placed there (their mean embedding and number)
and its own SNR feature on it; the assignment's probability is the product of these conditionals
(teacher forcing in the loss). With ``channels`` (the observation carrying each user's channel directions,
``rl train --channels``) the pair term also gets the share of the user's direction outside the span of the
users already on the subchannel (zero-forcing's residual, Gram-Schmidt) and the SNR it leaves: preset
``zf``, the ``drl-zf`` agent (docs/models.md, issue 16, eleventh session).

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
from ..problems.sbq.mdp import SCENARIO
from .pathwise import slot_terms, smoothed_score, stack_terms

__all__ = ["HybridPolicy", "train_hybrid", "PPO_DEFAULTS", "MEDIAN_LOG_STD"]

#: ``median=True``: the log spread of the continuous part, fixed (the median is what it sends, also when
#: ``drl-sampled`` draws actions from it).
MEDIAN_LOG_STD = -30.0

#: ``sequential``: a user's number of users placed before it on a subchannel enters its pair term also
#: divided by this (the figures' N_t = 4, which the general agent's observation does not carry).
PAIR_COUNT_SCALE = 4.0

#: PPO settings of ``train_hybrid`` (keyword overrides accepted).
PPO_DEFAULTS = {"n_envs": 16, "n_steps": 16, "epochs": 4, "minibatch": 64, "lr": 1e-3, "clip": 0.2,
                "entropy": 0.003, "value_coef": 0.5, "max_grad_norm": 0.5, "gamma": 0.0, "gae_lambda": 0.95,
                "hidden": 128, "anneal": True, "credit": "slot", "pathwise": 0.0, "kappa": 50.0,
                "median": False, "counterfactual": 0.0, "around": "drawn", "sequential": False}


class HybridPolicy(nn.Module):
    """Per-user actor-critic: discrete heads first, then continuous parameters conditioned on the assignment."""

    def __init__(self, users: int, subchannels: int, features: int, hidden: int = 128, masked: bool = False,
                 sequential: bool = False, channels: int = 0):
        super().__init__()
        self.K, self.M, self.F, self.masked, self.sequential = users, subchannels, features, bool(masked), bool(sequential)
        self.channels = int(channels)               # N_t when the observation carries channel directions
        if self.channels and not (self.sequential and self.masked):
            raise ValueError("channels (zero-forcing residuals) need a sequential, masked policy")
        H = hidden
        self.encoder = nn.Sequential(nn.Linear(features, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh())
        self.user_head = nn.Sequential(nn.Linear(2 * H, H), nn.Tanh(), nn.Linear(H, subchannels + 1 + Q_MAX + 1))
        if self.sequential:                         # user k's term for subchannel m given the users placed before
            self.pair_head = nn.Sequential(nn.Linear(2 * H + 3 + 2 * bool(self.channels), H), nn.Tanh(), nn.Linear(H, 1))
        self.param_head = nn.Sequential(nn.Linear(3 * H, H), nn.Tanh(), nn.Linear(H, 2))
        self.share_head = nn.Sequential(nn.Linear(2 * H + 1, H), nn.Tanh(), nn.Linear(H, 1))
        self.log_std = nn.Parameter(torch.full((3,), -0.5))          # power, mix, shares

    def mask(self, obs: torch.Tensor) -> torch.Tensor:
        """Presence (B, K) of each user row: the last feature when ``masked``, else all ones."""
        x = obs.view(obs.shape[0], self.K, self.F)
        return (x[..., -1] > 0.5).to(obs.dtype) if self.masked else torch.ones_like(x[..., 0])

    def heads(self, obs: torch.Tensor, per_user: bool = False):
        """``(e (B,K,H), c (B,H), sub_logits (B,K,M+1), bit_logits (B,K,Q), value (B,))``;
        ``per_user``: each user's value (B,K) instead of their sum.

        ``masked``: the context is the mean over present users, and absent users add no value."""
        B, K, M = obs.shape[0], self.K, self.M
        e = self.encoder(obs.view(B, K, self.F))
        m = self.mask(obs).unsqueeze(-1)
        c = (e * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
        out = self.user_head(torch.cat([e, c.unsqueeze(1).expand(-1, K, -1)], dim=-1))
        values = out[..., -1] * m[..., 0]
        return e, c, out[..., :M + 1], out[..., M + 1:M + 1 + Q_MAX], values if per_user else values.sum(dim=1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.heads(obs)[-1]

    def order(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, K): the order in which ``sequential`` decides the users' subchannels: present users by
        decreasing best SNR feature (first of equals first), absent users last."""
        x = obs.view(obs.shape[0], self.K, self.F)[..., :self.M].amax(-1)
        x = x.masked_fill(self.mask(obs) == 0, float("-inf"))
        return torch.sort(x, dim=1, descending=True, stable=True).indices

    def _pair(self, e, snr, group, count, users, residual=None):
        """``sequential``'s logit terms (B, M) of subchannels 1..M for users of embedding ``e`` (B, H) and SNR
        features ``snr`` (B, M), given the mean embedding ``group`` (B, M, H) and number ``count`` (B, M) of
        the users placed on each before them, out of ``users`` (B,) present; with ``channels``, the share
        ``residual`` (B, M) of the user's channel that zero-forcing to them leaves (0 on a full subchannel),
        also as the SNR feature it makes (``snr + 10 log10(residual) / 15``)."""
        parts = [e.unsqueeze(1).expand(-1, self.M, -1), group, (count / users.unsqueeze(-1))[..., None],
                 (count / PAIR_COUNT_SCALE)[..., None], snr[..., None]]
        if residual is not None:
            parts += [residual[..., None], (snr + torch.log10(residual.clamp(min=1e-3)) * (10 / 15))[..., None]]
        return self.pair_head(torch.cat(parts, dim=-1))[..., 0]

    def _directions(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, K, M, N_t) complex: the unit channel directions a ``channels`` observation carries."""
        B, K, M, N = obs.shape[0], self.K, self.M, self.channels
        lo = self.F - SCENARIO - 2 * M * N
        x = obs.view(B, K, self.F)[..., lo:lo + 2 * M * N].reshape(B, K, M, N, 2)
        return torch.complex(x[..., 0], x[..., 1])

    def sequential_choices(self, obs, e, base, s=None, sample: bool = False):
        """``sequential``: the subchannel choices (B, K) and each user's logits (B, K, M + 1) given the
        choices of the users before it in :meth:`order`: user k's logit of subchannel m is the user head's
        (``base``) plus ``pair_head([e_k, mean e of the users on m before k, their number / K, their number
        / 4, k's SNR feature on m(, the zero-forcing residual and the SNR it leaves)])``. ``s`` given: its
        conditionals (teacher forcing; the probability of ``s`` is their product); else each user's choice
        drawn (``sample``) or its argmax (the mode), user by user."""
        B, K, M = obs.shape[0], self.K, self.M
        m = self.mask(obs)
        order = self.order(obs)
        users = m.sum(1).clamp(min=1)
        total = e.new_zeros(B, M, e.shape[-1])
        count = e.new_zeros(B, M)
        out = e.new_zeros(B, K, M + 1)
        choices = torch.zeros(B, K, dtype=torch.long, device=e.device) if s is None else s
        rows = torch.arange(B, device=e.device)
        snr = obs.view(B, K, self.F)[..., :M]
        if self.channels:
            u = self._directions(obs)
            basis = u.new_zeros(B, M, self.channels, self.channels)     # orthonormal rows: the users on m
        for t in range(K):
            k = order[:, t]
            residual = None
            if self.channels:
                with torch.no_grad():
                    proj = (basis.conj() @ u[rows, k].unsqueeze(-1))[..., 0]        # (B, M, N): q_j^H u
                    residual = (1 - proj.abs().pow(2).sum(-1)).clamp(min=0)
                    residual = residual.masked_fill(count >= self.channels, 0.0)
            logits = base[rows, k] + nn.functional.pad(
                self._pair(e[rows, k], snr[rows, k], total / count.clamp(min=1).unsqueeze(-1), count, users,
                           residual), (1, 0))
            out[rows, k] = logits
            if s is None:
                choices[rows, k] = (Categorical(logits=logits, validate_args=False).sample() if sample
                                    else logits.argmax(-1))
            choice = choices[rows, k]
            oh = nn.functional.one_hot(choice, M + 1)[:, 1:].to(e.dtype) * m[rows, k].unsqueeze(-1)
            if self.channels:                                            # Gram-Schmidt: k joins its subchannel
                with torch.no_grad():
                    on = (oh.sum(-1) > 0) & (choice > 0)
                    j = (choice - 1).clamp(min=0)
                    room = count[rows, j] < self.channels
                    add = on & room & (residual[rows, j] > 1e-6)
                    v = u[rows, k, j] - (proj[rows, j].unsqueeze(-1) * basis[rows, j]).sum(-2)
                    v = v / residual[rows, j].clamp(min=1e-6).sqrt().unsqueeze(-1)
                    slot = count[rows, j].long().clamp(max=self.channels - 1)
                    basis[rows[add], j[add], slot[add]] = v[add]
            count = count + oh
            total = total + oh.unsqueeze(-1) * e[rows, k].unsqueeze(1)
        return choices, out

    def subchannel_logits(self, obs, e, base, s):
        """Each user's subchannel logits (B, K, M + 1) given the choices ``s`` (B, K) (``base`` itself
        without ``sequential``; with it :meth:`sequential_choices`' conditionals)."""
        return self.sequential_choices(obs, e, base, s)[1] if self.sequential else base

    def _logp(self, obs, e, c, sub_logits, bit_logits, s, b, z, per_user: bool = False, continuous: bool = True):
        """Log-probability of ``(s, b, z)`` and entropy of the discrete heads, over present users only
        (``continuous=False``: of ``(s, b)`` alone, for a policy whose continuous part is its median).
        ``sub_logits``: each user's subchannel logits as ``s`` was drawn from (with ``sequential`` the
        conditionals given the users before, :meth:`subchannel_logits`).

        ``per_user``: ``(user (B,K), shares (B,M), entropy)``, each user's part
        (its subchannel, bits, power and mix) and each subchannel share's, which sum to the log-probability."""
        m = self.mask(obs)
        ds = Categorical(logits=sub_logits, validate_args=False)
        db = Categorical(logits=bit_logits, validate_args=False)
        mean, std = self.continuous(e, c, s, m)
        lz = Normal(mean, std, validate_args=False).log_prob(z)
        entropy = ((ds.entropy() + db.entropy()) * m).sum(-1)
        if per_user:
            K = self.K
            return (ds.log_prob(s) + db.log_prob(b) + lz[..., :K] + lz[..., K:2 * K]) * m, lz[..., 2 * K:], entropy
        mz = torch.cat([m, m, torch.ones_like(m[:, :self.M])], dim=-1)
        logp = ((ds.log_prob(s) + db.log_prob(b)) * m).sum(-1) + ((lz * mz).sum(-1) if continuous else 0.0)
        return logp, entropy

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
    def act(self, obs: torch.Tensor, deterministic: bool = False, per_user: bool = False,
            continuous: bool = True) -> dict:
        """Env actions (numpy) for a batch of observations; sampled ones carry the internals PPO stores
        (``per_user``: also each user's log-probability, value, and the shares' log-probabilities;
        ``continuous=False``: the discrete part sampled, the continuous part the median, and the
        log-probability of the discrete part). Sampled actions also carry the users' embeddings ``e`` and
        the context ``c`` (for :meth:`medians`) and the ``mode`` (argmax subchannels and bits; ``None`` with
        ``sequential``, whose mode only the counterfactual gradient would read, and it refuses ``sequential``)."""
        e, c, sub_logits, bit_logits, value = self.heads(obs, per_user)
        m = self.mask(obs)
        if deterministic:                               # argmax and median; no distributions (fast path)
            s = self.sequential_choices(obs, e, sub_logits)[0] if self.sequential else sub_logits.argmax(-1)
            b = bit_logits.argmax(-1)
            z = self.continuous(e, c, s, m)[0]
            return {"discrete": torch.cat([s, b], dim=-1).cpu().numpy(),
                    "continuous": torch.sigmoid(z).cpu().numpy()}
        if self.sequential:                             # the conditionals it draws from serve the log-probability
            s, sub_logits = self.sequential_choices(obs, e, sub_logits, sample=True)
        else:
            s = Categorical(logits=sub_logits, validate_args=False).sample()
        b = Categorical(logits=bit_logits, validate_args=False).sample()
        mean, std = self.continuous(e, c, s, m)
        z = Normal(mean, std, validate_args=False).sample() if continuous else mean
        action = {"discrete": torch.cat([s, b], dim=-1).cpu().numpy(), "continuous": torch.sigmoid(z).cpu().numpy(),
                  "z": z}
        if per_user:
            user, shares, _ = self._logp(obs, e, c, sub_logits, bit_logits, s, b, z, per_user=True)
            return {**action, "user_logp": user, "share_logp": shares, "user_value": value}
        return {**action, "logp": self._logp(obs, e, c, sub_logits, bit_logits, s, b, z, continuous=continuous)[0],
                "value": value, "e": e, "c": c,
                "mode": None if self.sequential else
                torch.cat([sub_logits.argmax(-1), bit_logits.argmax(-1)], dim=-1).cpu().numpy()}

    def act_one(self, obs: np.ndarray, samples: int = 0, rng: np.random.Generator | None = None,
                assignments: np.ndarray | None = None):
        """The deterministic action of :meth:`act` for one observation, computed in numpy (float32).

        The same network as :meth:`act` on a batch of one, without torch's
        per-operation overhead; the first layer of each head is split by
        input block (``[e, c] W = e W_e + c W_c``), so the context's share is
        computed once instead of once per user. Equal to :meth:`act` up to
        float32 rounding (tests/test_rl_decide.py). The weights are copied
        once, and again whenever a parameter changes in place (optimiser
        step, ``load_state_dict``).

        ``samples > 0``: a batch of ``1 + samples`` actions (each entry with a
        leading axis), the deterministic one first, then ``samples`` drawn
        from the policy's distribution with ``rng`` (Gumbel-max for the
        categorical heads, the Gaussian for the continuous ones), sharing the
        encoder and the user head. The deterministic one is computed on its
        own, as without samples, so it is that action bit for bit (OpenBLAS
        may round a product's rows differently with the batch's size, as it
        does with AVX-512).

        ``assignments`` (S, K present users' subchannel choices): a batch of S
        actions with those choices, the mode's bits and the median continuous
        action for each assignment (``drl-local`` scores its moves this way).

        What depends on the observation alone (the users' embeddings, the
        context, the logits) is kept for the last observation, so calls on
        the same observation (``drl-local``'s passes) run the encoder once."""
        layers, encoded = self._encoded_one(obs)
        sub_logits, bit_logits = encoded[1:3]
        if assignments is not None:
            s = np.asarray(assignments, dtype=np.int64)
            return self._actions(layers, encoded, s, np.broadcast_to(bit_logits.argmax(-1), s.shape))
        mode = self._actions(layers, encoded, self._decode_one(layers, encoded, np.zeros((1, *sub_logits.shape))),
                             bit_logits.argmax(-1)[None])
        if not samples:
            return {k: x[0] for k, x in mode.items()}
        n = int(samples)                                    # Gumbel-max: draws of the categorical distributions
        s = self._decode_one(layers, encoded, -np.log(-np.log(rng.random((n, *sub_logits.shape)))))
        b = (bit_logits - np.log(-np.log(rng.random((n, *bit_logits.shape))))).argmax(-1)
        drawn = self._actions(layers, encoded, s, b, rng)
        return {k: np.concatenate([x, drawn[k]]) for k, x in mode.items()}

    def _decode_one(self, layers: tuple, encoded: tuple, noise: np.ndarray) -> np.ndarray:
        """:meth:`act_one`'s subchannel choices (S, K) for Gumbel ``noise`` (S, K, M + 1) (zeros: the mode):
        ``argmax(logits + noise)`` per user, with ``sequential`` user by user in :meth:`order`, each
        user's logits given the choices before it (:meth:`subchannel_logits`)."""
        base = encoded[1] + noise
        if not self.sequential:
            return base.argmax(-1)
        qn, qb0, q2, qb2 = layers[8:]
        order, own, proj, snr, u = encoded[6:]
        (S, K, _), M, N = base.shape, self.M, self.channels
        total = np.zeros((S, M, own.shape[1]), dtype=np.float32)                 # sum of e_j W_g on each m
        count = np.zeros((S, M), dtype=np.float32)
        s = np.zeros((S, K), dtype=np.int64)
        if N:                                                  # orthonormal rows q_j^H (conjugated): users on m
            basis = np.zeros((S, M, N, N), dtype=np.complex64)
        own_snr = snr[:, :, None] * qn[2]                                        # (K, M, H), every user at once
        for k in order:
            pre = own[k] + total / np.maximum(count, 1)[..., None] + (count / K)[..., None] * qn[0] \
                + (count / PAIR_COUNT_SCALE)[..., None] * qn[1] + own_snr[k] + qb0
            if N:                                                                # the zero-forcing residuals
                c = (basis @ u[k][:, :, None])[..., 0]                           # (S, M, N): q_j^H u
                residual = np.where(count >= N, 0.0, np.maximum(1 - (np.abs(c) ** 2).sum(-1), 0)).astype(np.float32)
                pre = pre + residual[..., None] * qn[3] + (
                    snr[k] + np.log10(np.maximum(residual, 1e-3)) * np.float32(10 / 15))[..., None] * qn[4]
            logits = base[:, k].copy()
            logits[:, 1:] += np.tanh(pre) @ q2 + qb2
            choice = s[:, k] = logits.argmax(-1)
            on = np.nonzero(choice)[0]                                           # the rows that place user k
            j = choice[on] - 1
            if N:
                keep = (count[on, j] < N) & (residual[on, j] > 1e-6)
                add, ja = on[keep], j[keep]
                v = u[k][ja] - (c[add, ja][..., None] * basis[add, ja].conj()).sum(-2)
                basis[add, ja, count[add, ja].astype(np.int64)] = (
                    v / np.sqrt(np.maximum(residual[add, ja], 1e-6))[:, None]).conj()
            total[on, j] += proj[k]
            count[on, j] += 1
        return s

    def _actions(self, layers: tuple, encoded: tuple, s: np.ndarray, b: np.ndarray,
                 rng: np.random.Generator | None = None) -> dict:
        """:meth:`act_one`'s batch of actions for subchannel choices ``s`` and bits ``b`` (S, K): the median
        continuous action of each assignment, or with ``rng`` one drawn from the policy's Gaussian."""
        pg, p2, pb2, sg, sn, s2, sb2, std = layers[:8]
        e, _, _, pc, sc, e_pe = encoded[:6]
        M, (S, K), H = self.M, s.shape, e.shape[1]
        onehot = (s[:, :, None] == np.arange(M + 1)).astype(np.float32)                  # (S, K, M+1)
        count = onehot.sum(axis=1)                                                       # (S, M+1)
        # 2-D products over the whole batch: one BLAS call each
        group = (np.swapaxes(onehot, 1, 2).reshape(-1, K) @ e).reshape(S, M + 1, H) / np.maximum(count, 1)[..., None]
        mine = (group.reshape(-1, H) @ pg).reshape(S, M + 1, -1)[np.arange(S)[:, None], s]   # (S, K, H')
        user = (np.tanh(e_pe + mine + pc).reshape(S * K, -1) @ p2 + pb2).reshape(S, K, 2)
        share = np.tanh((group[:, 1:].reshape(-1, H) @ sg).reshape(S, M, -1)
                        + (count[:, 1:, None] / K).astype(np.float32) * sn + sc) @ s2 + sb2
        z = np.concatenate([user[..., 0], user[..., 1], share[..., 0]], axis=-1)
        if rng is not None:                                 # float32, as the median
            z = (z + np.repeat(std, [K, K, M]) * rng.standard_normal(z.shape)).astype(np.float32)
        return {"discrete": np.concatenate([s, b], axis=-1),
                "continuous": (1.0 / (1.0 + np.exp(-z))).astype(np.float32)}

    def _encoded_one(self, obs: np.ndarray) -> tuple:
        """``(layers, encoded)`` for :meth:`act_one`: the numpy weights its batch part needs and the
        observation's own terms, both recomputed only when the weights or the observation change."""
        params = self.__dict__.get("_np_params")
        if params is None:
            params = self.__dict__["_np_params"] = list(self.parameters())
        stamp = tuple(p._version for p in params)
        if self.__dict__.get("_np_stamp") != stamp:
            self.__dict__["_np_layers"] = self._numpy_layers()
            self.__dict__["_np_stamp"] = stamp
        (enc0, be0, enc2, be2, ue, uc, ub0, u2, ub2,
         pe, pc, pg, pb0, p2, pb2, sg, sc, sn, sb0, s2, sb2, std, *pair) = self.__dict__["_np_layers"]
        layers = (pg, p2, pb2, sg, sn, s2, sb2, std, *pair[2:])
        x = np.asarray(obs, dtype=np.float32).reshape(self.K, self.F)
        key = (stamp, x.tobytes())                      # the weights too: an update in another thread
        last = self.__dict__.get("_np_last")           # cannot leave a stale encoding behind
        if last is not None and last[0] == key:
            return layers, last[1]
        M = self.M
        if self.masked:                                 # present users only: the same mean, groups and counts
            x = x[x[:, -1] > 0.5]
        e = np.tanh(np.tanh(x @ enc0 + be0) @ enc2 + be2)
        c = e.mean(axis=0, keepdims=True)
        out = np.tanh(e @ ue + (c @ uc + ub0)) @ u2 + ub2
        encoded = (e, out[:, :M + 1], out[:, M + 1:M + 1 + Q_MAX], c @ pc + pb0, c @ sc + sb0, e @ pe)
        if self.sequential:                             # the order and each user's pair-head terms
            order = np.argsort(-x[:, :M].max(axis=1), kind="stable")
            lo = self.F - SCENARIO - 2 * M * self.channels
            u = (x[:, lo:lo + 2 * M * self.channels].reshape(-1, M, self.channels, 2) @ np.array([1, 1j])
                 ).astype(np.complex64) if self.channels else None
            encoded += (order, e @ pair[0], e @ pair[1], x[:, :M], u)
        self.__dict__["_np_last"] = (key, encoded)
        return layers, encoded

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
        pair = ()
        if self.sequential:                             # [e_k, group, count / K, count / 4, snr, ...] by block
            q0, qb0 = wb(self.pair_head[0])
            q2, qb2 = wb(self.pair_head[2])
            pair = (q0[:H].copy(), q0[H:2 * H].copy(), q0[2 * H:].copy(), qb0, q2[:, 0].copy(), qb2)
        return (enc0, be0, enc2, be2, u0[:H].copy(), u0[H:].copy(), ub0, u2, ub2,
                p0[:H].copy(), p0[H:2 * H].copy(), p0[2 * H:].copy(), pb0, p2, pb2,
                s0[:H].copy(), s0[H:2 * H].copy(), s0[2 * H:].copy(), sb0, s2, sb2,
                np.exp(self.log_std.detach().cpu().numpy().astype(float)), *pair)

    def median(self, obs: torch.Tensor, sub: torch.Tensor) -> torch.Tensor:
        """The continuous action ``sigmoid(mean)`` (B, 2K + M) given the subchannel choices ``sub`` (B, K):
        what the deterministic policy sends for that assignment (differentiable)."""
        e, c = self.heads(obs)[:2]
        return torch.sigmoid(self.continuous(e, c, sub, self.mask(obs))[0])

    def evaluate_actions(self, obs, discrete, z, per_user: bool = False, continuous: bool = True):
        """Log-probability, entropy of the discrete heads and value of stored actions (for the PPO loss);
        ``per_user``: ``(user logp (B,K), share logp (B,M), entropy, user values (B,K))``.

        The Gaussian's spread is left to the policy gradient (no entropy bonus), so
        it narrows as the policy settles and the deterministic action (the median
        ``sigmoid(mean)``) is what was learned."""
        e, c, sub_logits, bit_logits, value = self.heads(obs, per_user)
        s, b = discrete[..., :self.K], discrete[..., self.K:]
        sub_logits = self.subchannel_logits(obs, e, sub_logits, s)
        if per_user:
            return (*self._logp(obs, e, c, sub_logits, bit_logits, s, b, z, per_user=True), value)
        logp, ent = self._logp(obs, e, c, sub_logits, bit_logits, s, b, z, continuous=continuous)
        return logp, ent, value

    def medians(self, e, c, m, subs: torch.Tensor) -> torch.Tensor:
        """The continuous action ``sigmoid(mean)`` (B, S, 2K + M) for S assignments ``subs`` (B, S, K) of each
        slot, from its embeddings ``e`` (B, K, H), context ``c`` (B, H) and presence ``m`` (B, K): what
        :meth:`median` gives for each, without running the encoder again."""
        B, S, K = subs.shape
        rep = lambda x: x.repeat_interleave(S, dim=0)                                      # noqa: E731
        return torch.sigmoid(self.continuous(rep(e), rep(c), subs.reshape(B * S, K), rep(m))[0]).view(B, S, -1)

    def counterfactual_objective(self, obs, q: torch.Tensor) -> torch.Tensor:
        """``sum_k sum_m pi_k(m) A_km`` (B,): each present user's expected counterfactual advantage under its
        subchannel distribution, ``A_km = Q_km - sum_m' pi_k(m') Q_km'`` (``pi`` held fixed in ``A``), for
        ``q`` (B, K, M + 1) the slot's reward with user k's subchannel choice set to m (the others as drawn)."""
        sub_logits, m = self.heads(obs)[2], self.mask(obs)
        p = torch.softmax(sub_logits, dim=-1)
        adv = q - (p.detach() * q).sum(-1, keepdim=True)
        return ((p * adv).sum(-1) * m).sum(-1)


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
    per_user = cfg["credit"] == "user"
    pathwise, median = cfg["pathwise"] > 0, bool(cfg["median"])
    cf = cfg["counterfactual"] > 0
    if cfg["around"] not in ("drawn", "mode"):
        raise ValueError(f"around must be drawn or mode, got {cfg['around']!r}")
    if median and not pathwise:
        raise ValueError("median (a continuous part learned by the pathwise gradient alone) needs pathwise > 0")
    if cf and cfg["sequential"]:
        raise ValueError("counterfactual scores each user's choices with the others fixed: not with sequential")
    if (pathwise or cf) and per_user:
        raise ValueError("pathwise and counterfactual need credit='slot'")
    if cfg["credit"] not in ("slot", "user"):
        raise ValueError(f"credit must be slot or user, got {cfg['credit']!r}")
    torch.manual_seed(seed)
    envs = gym.vector.SyncVectorEnv([env_fn for _ in range(cfg["n_envs"])],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    one = envs.envs[0].unwrapped
    K = getattr(one, "max_users", None) or one.K                            # ScenarioEnv: padded, masked users
    net = policy.to(device).train() if policy is not None else HybridPolicy(
        K, one.M, one.observation_space.shape[0] // K, cfg["hidden"], masked=hasattr(one, "max_users"),
        sequential=cfg["sequential"], channels=one.Nt if getattr(one, "channels", False) else 0).to(device)
    if median:                                  # the policy's continuous part is its median: a spread of exp(-30)
        with torch.no_grad():
            net.log_std.fill_(MEDIAN_LOG_STD)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    obs, _ = envs.reset(seed=seed)
    N, T = cfg["n_envs"], cfg["n_steps"]
    rollouts = max(1, int(np.ceil(steps / (N * T))))
    t0, recent, curve, done = time.perf_counter(), [], [], 0
    for it in range(rollouts):
        if cfg["anneal"]:                                                     # learning rate linearly to 0
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * (1.0 - it / rollouts)
        buf: dict[str, list] = {}
        for _ in range(T):
            o = torch.as_tensor(obs, device=device)
            a = net.act(o, per_user=per_user, continuous=not median)
            if pathwise:
                buf.setdefault("terms", []).extend(_terms(envs, a, K, one.perception))
            if cf:
                buf.setdefault("q", []).append(_counterfactual(envs, net, o, a, K, one.perception, cfg["around"]))
            obs, reward, term, trunc, info = envs.step({"discrete": a["discrete"], "continuous": a["continuous"]})
            step = {"obs": o, "discrete": torch.as_tensor(a["discrete"], device=device),
                    "reward": torch.as_tensor(reward, dtype=torch.float32, device=device),
                    "end": torch.as_tensor(term | trunc, dtype=torch.float32, device=device),
                    **{k: a[k] for k in (("z", "user_logp", "share_logp", "user_value") if per_user
                                         else ("z", "logp", "value"))}}
            if per_user:
                step["user_reward"] = torch.as_tensor(_user_rewards(info, N, K), dtype=torch.float32, device=device)
            for k, v in step.items():
                buf.setdefault(k, []).append(v)
        terms = stack_terms(buf.pop("terms"), device) if pathwise else None   # (T * N, ...), step-major
        b = {k: torch.stack(v) for k, v in buf.items()}                       # (T, N, ...)
        with torch.no_grad():
            last = net.heads(torch.as_tensor(obs, device=device), per_user)[-1]
        if per_user:
            adv = _gae(b["user_reward"], b["user_value"], last, b["end"], cfg["gamma"], cfg["gae_lambda"])
            ret = adv + b["user_value"]
        else:
            adv = _gae(b["reward"], b["value"], last, b["end"], cfg["gamma"], cfg["gae_lambda"])
            ret = adv + b["value"]
        flat = {k: v.reshape(T * N, *v.shape[2:]) for k, v in b.items()}
        adv, ret = adv.reshape(T * N, *adv.shape[2:]), ret.reshape(T * N, *ret.shape[2:])
        for _ in range(cfg["epochs"]):
            for idx in torch.randperm(T * N, device=device).split(cfg["minibatch"]):
                if per_user:
                    loss = _user_loss(net, flat, adv, ret, idx, cfg)
                else:
                    logp, ent, value = net.evaluate_actions(flat["obs"][idx], flat["discrete"][idx], flat["z"][idx],
                                                            continuous=not median)
                    a_n = (adv[idx] - adv[idx].mean()) / (adv[idx].std() + 1e-8)
                    pg = _clipped(logp - flat["logp"][idx], a_n, cfg["clip"]).mean()
                    loss = pg + cfg["value_coef"] * (value - ret[idx]).pow(2).mean() - cfg["entropy"] * ent.mean()
                    if pathwise:                                                # the reward's own gradient
                        cont = net.median(flat["obs"][idx], flat["discrete"][idx][:, :K])
                        score = smoothed_score({k: v[idx] for k, v in terms.items()}, cont, cfg["kappa"])
                        loss = loss - cfg["pathwise"] * score.sum(-1).mean()
                    if cf:                                                      # each user's every subchannel
                        q, m = flat["q"][idx], net.mask(flat["obs"][idx])
                        spread = (q - q.mean(-1, keepdim=True))[m > 0].std() + 1e-8
                        loss = loss - cfg["counterfactual"] * net.counterfactual_objective(
                            flat["obs"][idx], q / spread).mean()
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


def _terms(envs, action: dict, K: int, perception: str) -> list[dict]:
    """:func:`~semalloc.rl.pathwise.slot_terms` of each env's current slot under its drawn action."""
    out = []
    for i, env in enumerate(envs.envs):
        inst = env.unwrapped.inst
        k, d, c = inst.K, action["discrete"][i], action["continuous"][i]
        out.append(slot_terms(inst, d[:k], d[K:K + k], c[:k], K, perception))
    return out


def _counterfactual(envs, net, obs, action: dict, K: int, perception: str, around: str = "drawn") -> torch.Tensor:
    """(N, K, M + 1): each env's slot reward with user k's subchannel choice set to m and the rest of the
    discrete action as drawn (``around="mode"``: as the policy's mode), the continuous action the policy's
    median for that assignment (0 for absent users). All of a slot's K (M + 1) assignments are mapped and
    scored as one batch."""
    from .env import scored, to_allocation
    M = net.M
    N = obs.shape[0]
    base = action["discrete"] if around == "drawn" else action["mode"]
    d = torch.as_tensor(base, device=obs.device)
    subs = d[:, None, None, :K].repeat(1, K, M + 1, 1)                        # (N, K, M + 1, K)
    users = torch.arange(K, device=obs.device)
    subs[:, users, :, users] = torch.arange(M + 1, device=obs.device)
    with torch.no_grad():
        cont = net.medians(action["e"], action["c"], net.mask(obs), subs.view(N, K * (M + 1), K)).cpu().numpy()
    subs = subs.view(N, K * (M + 1), K).cpu().numpy()
    bits = base[:, None, K:]
    q = np.zeros((N, K, M + 1), dtype=np.float32)
    for i, env in enumerate(envs.envs):
        inst = env.unwrapped.inst
        k = inst.K
        rows = slice(0, k * (M + 1))                                          # present users come first
        disc = np.concatenate([subs[i, rows], np.broadcast_to(bits[i], (k * (M + 1), K))], axis=-1)
        v, _ = to_allocation(inst, {"discrete": disc, "continuous": cont[i, rows]}, perception, K)
        q[i, :k] = scored(inst, v, perception)[1].reshape(k, M + 1)
    return torch.as_tensor(q, device=obs.device)


def _user_rewards(info: dict, n: int, k: int) -> np.ndarray:
    """Each env's per-user rewards ``(n, k)`` of the step just taken, from a vector env's ``info``
    (an env whose episode just ended reports them in ``final_info``)."""
    out = np.zeros((n, k))
    for part in (info, info.get("final_info", {})):
        if "user_reward" in part:
            mask = part["_user_reward"]
            out[mask] = np.stack(part["user_reward"][mask])
    return out


def _gae(reward, value, last, end, gamma: float, lam: float):
    """Generalised advantages over ``T`` steps (``reward``, ``value``: (T, N, ...); ``end``: (T, N));
    ``gamma = 0`` gives ``reward - value``."""
    end = end.view(*end.shape, *([1] * (reward.dim() - end.dim())))
    adv = torch.zeros_like(reward)
    gae = torch.zeros_like(reward[0])
    for t in reversed(range(reward.shape[0])):
        nxt = last if t == reward.shape[0] - 1 else value[t + 1]
        delta = reward[t] + gamma * nxt * (1 - end[t]) - value[t]
        gae = delta + gamma * lam * (1 - end[t]) * gae
        adv[t] = gae
    return adv


def _clipped(log_ratio, adv, clip: float):
    """PPO's clipped surrogate loss, elementwise: ``-min(r A, clip(r, 1 - clip, 1 + clip) A)``."""
    ratio = log_ratio.exp()
    return -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv)


def _user_loss(net, flat: dict, adv, ret, idx, cfg: dict):
    """The ``credit="user"`` PPO loss on minibatch ``idx``: each present user's clipped surrogate with its
    own advantage, the shares' with the slot's (the users' sum), per-user values."""
    user, shares, ent, value = net.evaluate_actions(flat["obs"][idx], flat["discrete"][idx], flat["z"][idx],
                                                    per_user=True)
    m, a = net.mask(flat["obs"][idx]), adv[idx]
    count = m.sum().clamp(min=1)
    mu = (a * m).sum() / count
    sd = (((a - mu) ** 2 * m).sum() / count).sqrt()
    pg_user = (_clipped(user - flat["user_logp"][idx], (a - mu) / (sd + 1e-8), cfg["clip"]) * m).sum() / count
    slot = (a * m).sum(dim=1)
    pg_share = _clipped(shares.sum(-1) - flat["share_logp"][idx].sum(-1),
                        (slot - slot.mean()) / (slot.std() + 1e-8), cfg["clip"]).mean()
    v_loss = ((value - ret[idx]) ** 2 * m).sum() / count
    return pg_user + pg_share + cfg["value_coef"] * v_loss - cfg["entropy"] * ent.mean()
