"""The pathwise gradient of a slot's effective SC-QoS in the agent's continuous action (``train_hybrid(pathwise=...)``).

The reward of an sbq slot is a known, differentiable function of the
continuous part of the hybrid action once the discrete part is fixed: the
power weights, the MRT-ZF mixes and the bandwidth shares enter the SINR, the
rate and the latency smoothly; only the deadline gate (effective SC-QoS is 0
when ``T_k > T_max``) is a step. PPO learns the continuous heads from the
score-function estimate alone; this module gives the other estimate, the
gradient of the reward itself through the model (as a differentiable
simulator does), with the gate smoothed to ``sigmoid(kappa log(R_k / r_min,k))``.

:func:`slot_terms` computes, in numpy from the slot and the drawn discrete
action, everything about the slot that does not depend on the continuous
action (after the ``Nt`` cap, which uses the drawn power weights); the torch
function :func:`smoothed_score` maps the continuous action (the policy's
median) onto the slot exactly as :func:`~semalloc.problems.sbq.mdp.allocation`
does and returns each user's smoothed effective SC-QoS. With ``kappa``
large it is the environment's reward (tests/test_rl_pathwise.py). Under the
mapping-guided perception (``perception="mapping"``, the ``mapping-drl`` agent's reward,
:func:`~semalloc.rl.env.scored`) the similarity is read off the S-SE map at the SINR,
``Xi(n_k, SINR_k)`` interpolated in torch, and its gate ``xi_k >= xi_th`` is smoothed the same way.

The directions: user j's beam is ``d_j = ((1 - a_j) u_j + a_j z_j) / ||.||``
(``u_j`` MRT, ``z_j`` ZF, unit vectors), so with ``A_kj = h_k^H u_j``,
``Z_kj = h_k^H z_j`` and ``rho_j = Re(u_j^H z_j)``,
``|h_k^H d_j|^2 = |(1 - a_j) A_kj + a_j Z_kj|^2 / ((1 - a_j)^2 + a_j^2 + 2 a_j (1 - a_j) rho_j)``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..perf.sbq import SNR_DB, TABLE, bits_similarity
from ..problems.sbq.algorithms import mapping_bits
from ..problems.sbq.mdp import _cap, _choices, _mrt, _unit, _zf_directions
from ..units import SAFETY

__all__ = ["slot_terms", "smoothed_score", "stack_terms"]

#: Per-slot scalars of :func:`slot_terms`, in this order.
_SCALARS = ("power", "band", "n0", "qos_weight", "sqe_steepness", "sqe_req", "latency_steepness", "latency_req",
            "xi_threshold", "mapped")


def slot_terms(inst, sub_choice, bits_choice, power_weight, width: int, perception: str = "sbq") -> dict:
    """The continuous-action-free part of slot ``inst`` under a drawn discrete action, padded to ``width`` users.

    ``sub_choice``, ``bits_choice``, ``power_weight``: the action's first
    ``inst.K`` entries (as :func:`~semalloc.problems.sbq.mdp.allocation` takes
    them); ``perception``: as :func:`~semalloc.rl.env.to_allocation` and
    :func:`~semalloc.rl.env.scored` take it (``mapping``: the paradigm's bits, and
    the similarity read off the S-SE map at the SINR). Returns float32/complex64
    arrays: ``A``, ``Z`` (width, width), ``rho``, ``served``, ``ok`` (served, and
    under ``sbq`` its xi reaches the threshold), ``bits``, ``r_min`` (the
    deadline's rate), ``sqe_per_xi`` (``I / (L n_k q_k)``), ``xi_row`` (width, len(SNR_DB)):
    user k's similarity at each SNR of the table (under ``sbq``, its one
    quantized xi at every SNR), ``sub`` (width; M for none), ``used`` (M), and
    ``scalars`` (:data:`_SCALARS`).
    """
    K, M, Nt, h = inst.K, inst.M, inst.Nt, inst.h
    mapped = perception == "mapping"
    want, q = _choices(sub_choice, bits_choice, M)
    if mapped:
        q = np.full(K, mapping_bits(inst))
    sub, slot, load = _cap(h, want[None], _unit(power_weight)[None], Nt)
    u_zf = _zf_directions(h, sub, slot, load, Nt)[0]
    sub = sub[0]
    served = sub >= 0
    hk, u_mrt = _mrt(h, sub)                                                 # (K, Nt) each
    same = served[:, None] & served[None, :] & (sub[:, None] == sub[None, :])
    A = np.where(same, np.conj(hk) @ u_mrt.T, 0.0)                          # h_k^H u_j, users sharing a subchannel
    Z = np.where(same, np.conj(hk) @ u_zf.T, 0.0)
    n = inst.users.symbols_per_word
    xi = bits_similarity(n, q)
    bits = inst.symbols * q
    out = {"A": np.zeros((width, width), np.complex64), "Z": np.zeros((width, width), np.complex64),
           **{k: np.zeros(width, np.float32) for k in ("rho", "served", "ok", "sqe_per_xi")},
           "bits": np.ones(width, np.float32), "r_min": np.ones(width, np.float32),
           "xi_row": np.zeros((width, len(SNR_DB)), np.float32),
           "sub": np.full(width, M, np.int64), "used": (load[0] > 0).astype(np.float32),
           "scalars": np.array([inst.power_max_w * (1 - SAFETY), inst.bandwidth_hz * (1 - SAFETY),
                                inst.noise_psd_w_hz, inst.qos_weight, inst.sqe_steepness, inst.sqe_req,
                                inst.latency_steepness, inst.latency_req_s, inst.xi_threshold, float(mapped)])}
    out["A"][:K, :K], out["Z"][:K, :K] = A, Z
    out["xi_row"][:K] = TABLE[n - 1] if mapped else xi[:, None]
    for k, x in (("rho", np.sum(np.conj(u_mrt) * u_zf, axis=-1).real), ("served", served),
                 ("ok", served & (mapped | (xi >= inst.xi_threshold))), ("bits", bits),
                 ("r_min", bits / inst.deadline_s),
                 ("sqe_per_xi", inst.units_per_sentence / (inst.words_per_sentence * n * q)),
                 ("sub", np.where(served, sub, M))):
        out[k][:K] = x
    return out


def stack_terms(terms: list[dict], device="cpu") -> dict:
    """A batch of :func:`slot_terms` as tensors with a leading axis."""
    return {k: torch.as_tensor(np.stack([t[k] for t in terms]), device=device) for k in terms[0]}


def smoothed_score(t: dict, cont: torch.Tensor, kappa: float) -> torch.Tensor:
    """Each user's effective SC-QoS (B, width) for continuous actions ``cont`` (B, 2 width + M) in [0, 1],
    the deadline gate smoothed to ``sigmoid(kappa log(R / r_min))`` (and, as the S-SE map perceives it,
    the similarity gate to ``sigmoid(kappa log(xi / xi_th))``); differentiable in ``cont``.

    Examples
    --------
    >>> import numpy as np, semalloc
    >>> from semalloc.problems.sbq.mdp import allocation
    >>> inst = semalloc.generate("sbq", seed=3, users=4)
    >>> s, b, c = np.array([1, 2, 3, 1]), np.array([4, 4, 4, 4]), np.full(11, 0.6)
    >>> t = stack_terms([slot_terms(inst, s, b, c[:4], 4)])
    >>> smooth = smoothed_score(t, torch.tensor(c[None], dtype=torch.float64), 1e4).sum().item()
    >>> exact = semalloc.evaluate(inst, allocation(inst, s, b, c[:4], c[4:8], c[8:])[0]).objective
    >>> bool(abs(smooth - exact) < 1e-5)
    True
    """
    sc = t["scalars"].to(cont.dtype)
    power, band, n0, w_sqe, a1, sqe_req, a2, t_req, xi_th, mapped = (sc[:, i:i + 1] for i in range(len(_SCALARS)))
    W = t["A"].shape[-1]
    served = t["served"].to(cont.dtype)
    w = cont[:, :W] * served
    p = power * w / w.sum(-1, keepdim=True).clamp(min=1e-30)                      # powers normalised to Pmax
    a = cont[:, W:2 * W]
    s = cont[:, 2 * W:] * t["used"].to(cont.dtype)
    share = band * s / s.sum(-1, keepdim=True).clamp(min=1e-30)                   # shares normalised to B
    b_k = torch.gather(torch.nn.functional.pad(share, (0, 1)), 1, t["sub"])       # user k's bandwidth (0 if none)
    A = t["A"].to(torch.complex128 if cont.dtype == torch.float64 else torch.complex64)
    Z = t["Z"].to(A.dtype)
    aj = a.unsqueeze(1)                                                           # (B, 1, W): the mix of beam j
    gain = ((1 - aj) * A + aj * Z).abs() ** 2 / ((1 - a) ** 2 + a ** 2 + 2 * a * (1 - a) * t["rho"]).clamp(
        min=1e-12).unsqueeze(1)                                                   # |h_k^H d_j|^2, (B, W, W)
    rx = gain * p.unsqueeze(1)
    signal = torch.diagonal(rx, dim1=1, dim2=2)
    sinr = signal / (rx.sum(-1) - signal + n0 * b_k).clamp(min=1e-30)
    rate = b_k * torch.log2(1 + sinr)
    live = (t["ok"] > 0) & (rate > 0)
    rate = torch.where(live, rate, torch.ones_like(rate))                         # no NaN gradient from dead users
    sinr = torch.where(live, sinr, torch.ones_like(sinr))
    xi = _interpolate(t["xi_row"].to(cont.dtype), 10 * torch.log10(sinr))         # Xi(n_k, SINR_k), or the fixed xi
    gate = torch.sigmoid(kappa * torch.log(rate / t["r_min"]))
    gate = gate * torch.where(mapped > 0, torch.sigmoid(kappa * torch.log(xi.clamp(min=1e-30) / xi_th)), 1.0)
    qos = w_sqe * torch.sigmoid(a1 * (xi * t["sqe_per_xi"] - sqe_req)) + (1 - w_sqe) * torch.sigmoid(
        a2 * (t_req - t["bits"] / rate))
    return torch.where(live, gate * qos, torch.zeros_like(qos))


def _interpolate(rows: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """:func:`~semalloc.perf.sbq.similarity` in torch: ``rows`` (..., len(SNR_DB)) read at ``snr_db`` (...),
    linear between the table's columns, clamped at its ends."""
    grid = torch.as_tensor(SNR_DB, dtype=snr_db.dtype)
    x = snr_db.clamp(float(SNR_DB[0]), float(SNR_DB[-1]))
    j = (torch.bucketize(x.detach(), grid, right=True) - 1).clamp(0, len(SNR_DB) - 2)
    lo, hi = torch.gather(rows, -1, j.unsqueeze(-1))[..., 0], torch.gather(rows, -1, j.unsqueeze(-1) + 1)[..., 0]
    return lo + (x - grid[j]) / (grid[j + 1] - grid[j]) * (hi - lo)
