"""Zero-forcing beams per subchannel and the rate/power relations every sbq algorithm uses.

All algorithms beamform by zero-forcing among the users of a subchannel
(at most ``Nt`` of them, so ZF exists for linearly independent channels):
user k then sees no intra-subchannel interference and an effective gain
``c_k = 1 / [(H H^H)^{-1}]_kk``; with power ``p_k`` and bandwidth ``B_m``,
``R_k = B_m log2(1 + p_k c_k / (N0 B_m))``.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.sbq.instance import generate
>>> from semalloc.problems.sbq.beams import zf_directions, power_for_rate, rate_of_power
>>> inst = generate(seed=0, users=3, antennas=2, subchannels=1)
>>> u, c = zf_directions(inst, np.array([0, 0, -1]))
>>> round(float(abs(np.vdot(inst.h[1, 0], u[0]))), 12), float(c[2])
(0.0, 0.0)
>>> p = power_for_rate(inst, c[:1], np.array([1e6]), np.array([1e6]))
>>> float(rate_of_power(inst, c[:1], p, np.array([1e6]))[0].round(3))
1000000.0
"""
from __future__ import annotations

import functools

import numpy as np

from ...perf.sbq import N_MAX, bits_similarity
from .evaluate import qos
from .instance import Q_MAX

__all__ = ["zf_directions", "rate_of_power", "power_for_rate", "min_bits", "user_value", "to_variables", "MARGIN"]

#: An algorithm counts a user effective only at ``R >= (1 + MARGIN) r_min``, so
#: rounding in the evaluator's SINR never drops it below the deadline.
MARGIN = 1e-6


def zf_directions(inst, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit ZF directions ``u_k`` (K, Nt) and effective gains ``c_k = |h_k^H u_k|^2`` (0 if unserved)."""
    u = np.zeros((inst.K, inst.Nt), dtype=complex)
    c = np.zeros(inst.K)
    for m in np.unique(sub[sub >= 0]):
        idx = np.nonzero(sub == m)[0]
        H = np.conj(inst.h[idx, m])                               # rows h_k^H, (s, Nt)
        W = np.linalg.pinv(H)                                     # H W = I: columns are ZF beams
        norm = np.linalg.norm(W, axis=0)
        u[idx] = (W / norm).T
        c[idx] = 1.0 / norm**2                                    # |h_k^H w_k / ||w_k|| |^2
    return u, c


def rate_of_power(inst, c, p, band) -> np.ndarray:
    """``R = B log2(1 + p c / (N0 B))`` (0 where ``B = 0``); broadcasts."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(band > 0, band * np.log2(1.0 + p * c / (inst.noise_psd_w_hz * band)), 0.0)


def power_for_rate(inst, c, rate, band) -> np.ndarray:
    """Least power reaching ``rate`` on bandwidth ``band``: ``N0 B (2^(R/B) - 1) / c`` (inf if impossible)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = inst.noise_psd_w_hz * band * np.expm1(np.log(2.0) * rate / band) / c
    return np.where(rate <= 0, 0.0, np.where((band > 0) & (c > 0), p, np.inf))


def min_bits(inst) -> np.ndarray:
    """Smallest ``q_k`` with ``Xi(n_k, SQNR(q_k)) >= xi_th``; ``Q_MAX + 1`` when none reaches it.

    For ``q >= q_min`` the SQE falls (``xi`` grows by less than ``q``) and the
    latency grows, so ``q_min`` maximises the effective SC-QoS of a served user
    (docs/models.md, sbq, "Bits (finding)").
    """
    return _min_bits_table(float(inst.xi_threshold))[inst.users.symbols_per_word]


@functools.lru_cache(maxsize=64)
def _min_bits_table(xi_threshold: float) -> np.ndarray:
    """:func:`min_bits` for ``n = 0..N_MAX`` (index ``n``) at threshold ``xi_threshold``, computed once."""
    n = np.arange(N_MAX + 1)
    q = np.arange(1, Q_MAX + 1)
    ok = bits_similarity(np.maximum(n, 1)[:, None], q[None, :]) >= xi_threshold
    table = np.where(ok.any(axis=1), np.argmax(ok, axis=1) + 1, Q_MAX + 1)
    table.flags.writeable = False
    return table


def user_value(inst, q: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Effective SC-QoS of each user (last axis) at ``rate`` with ``q`` bits; non-decreasing in rate."""
    qq = np.minimum(q, Q_MAX)
    xi = bits_similarity(inst.users.symbols_per_word, qq)
    bits = inst.symbols * qq
    need = bits / inst.deadline_s * (1 + MARGIN)
    with np.errstate(divide="ignore"):
        latency = np.where(rate > 0, bits / rate, np.inf)
    ok = (q <= Q_MAX) & (bits > 0) & (xi >= inst.xi_threshold) & (rate >= need)
    return np.where(ok, qos(inst, xi, qq, latency), 0.0)


def to_variables(inst, sub, q, power, band, u: np.ndarray | None = None) -> dict:
    """Solution variables: ZF beams scaled to ``power`` (0 for unserved users); ``u``: the unit ZF directions
    of :func:`zf_directions` when the caller has them already."""
    sub = np.asarray(sub)
    u = zf_directions(inst, sub)[0] if u is None else u
    w = u * np.sqrt(np.where(sub >= 0, np.maximum(power, 0.0), 0.0))[:, None]
    return {"subchannel": sub.astype(np.int64), "bits": np.clip(q, 1, Q_MAX).astype(np.int64),
            "bandwidth_hz": np.asarray(band, dtype=float), "beam_re": w.real, "beam_im": w.imag}
