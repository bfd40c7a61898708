"""Independent feasibility check and objective of one SBQ slot (wang-sbq-drl notes).

From the instance and the variables only: SINR of every user against the
beams of the other users on its subchannel, rate, sentence similarity
``xi_k = Xi(n_k, SQNR(q_k))``, SQE, latency, QoS and effective SC-QoS, and
the constraints (power budget, bandwidth budget, at most ``Nt`` users per
subchannel, no beam for an unserved user).

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.sbq.instance import generate
>>> from semalloc.problems.sbq.evaluate import evaluate, parse_variables, outcome
>>> inst = generate(seed=0, users=2, antennas=2, subchannels=1)
>>> idle = {"subchannel": [-1, -1], "bits": [1, 1], "bandwidth_hz": [0.0],
...         "beam_re": np.zeros((2, 2)), "beam_im": np.zeros((2, 2))}
>>> evaluate(inst, parse_variables(inst, idle))
Evaluation(feasible=True, objective=0.0, violations=[], metrics={})
>>> loud = dict(idle, subchannel=[0, 0], bandwidth_hz=[1.8e6], beam_re=np.ones((2, 2)))
>>> evaluate(inst, parse_variables(inst, loud)).violations
['transmit power 4 W > Pmax 1 W']
"""
from __future__ import annotations

import numpy as np

from ...perf.sbq import bits_similarity, logistic
from ...result import RTOL, Evaluation
from ...schema import Field, Table, check_index, validate
from .instance import Q_MAX

__all__ = ["evaluate", "parse_variables", "outcome", "qos", "VARIABLES", "RTOL"]


VARIABLES = {
    "subchannel": Field(("K",), "int", lo=-1, doc="subchannel of user k; -1 = not served"),
    "bits": Field(("K",), "int", lo=1, hi=Q_MAX, unit="bits/symbol", doc="q_k, bits per semantic symbol (1..8)"),
    "bandwidth_hz": Field(("M",), lo=0, unit="Hz", doc="B_m, bandwidth of subchannel m"),
    "beam_re": Field(("K", "Nt"), unit="sqrt(W)", doc="Re w_k, beamforming vector of user k"),
    "beam_im": Field(("K", "Nt"), unit="sqrt(W)", doc="Im w_k"),
}


def parse_variables(inst, variables: dict) -> dict:
    """Validate solution variables against the instance (shapes K, M, Nt; ranges)."""
    out = validate(VARIABLES, variables, "sbq", prefix="variables.",
                   dims={"K": (inst.K, "the instance's users"), "M": (inst.M, "the instance's subchannels"),
                         "Nt": (inst.Nt, "the instance's antennas")})
    check_index("variables.subchannel", out["subchannel"], inst.M, "subchannels", "sbq")
    return out


def qos(inst, xi, bits_per_symbol, latency_s) -> np.ndarray:
    """``QoS_k = w G(SQE_k; a1, SQE_req) + (1 - w) G(-T_k; a2, -T_req)``, ``SQE_k = I xi_k / (L n_k q_k)``."""
    sqe = inst.units_per_sentence * xi / (inst.words_per_sentence * inst.users.symbols_per_word * bits_per_symbol)
    return (inst.qos_weight * logistic(sqe, inst.sqe_steepness, inst.sqe_req)
            + (1.0 - inst.qos_weight) * logistic(-latency_s, inst.latency_steepness, -inst.latency_req_s))


def outcome(inst, v: dict) -> Table:
    """Per-user outcome: ``sinr``, ``rate_bps``, ``xi``, ``sqe``, ``latency_s``, ``qos``, ``effective``, ``score``.

    Variables with a leading batch axis (S solutions of the slot, as :func:`~semalloc.problems.sbq.mdp.allocation`
    maps a batch of actions) give every entry that leading axis."""
    sub, q = v["subchannel"], v["bits"]
    served = sub >= 0
    m = np.maximum(sub, 0)
    w = v["beam_re"] + 1j * v["beam_im"]
    hk = inst.h[np.arange(inst.K), m]                           # (K, Nt), channel on own subchannel
    gain = np.abs(np.conj(hk) @ np.swapaxes(w, -1, -2)) ** 2    # |h_km^H w_j|^2, (K, K)
    same = served[..., :, None] & served[..., None, :] & (sub[..., :, None] == sub[..., None, :])
    signal = np.diagonal(gain, axis1=-2, axis2=-1)
    interference = (gain * same).sum(axis=-1) - signal * served
    band = np.take_along_axis(v["bandwidth_hz"], m, -1)
    noise = inst.noise_psd_w_hz * band
    with np.errstate(divide="ignore", invalid="ignore"):
        sinr = np.where(served, signal / (interference + noise), 0.0)
        rate = np.where(served & (noise > 0), band * np.log2(1.0 + sinr), 0.0)
        bits = inst.symbols * q
        latency = np.where(rate > 0, bits / rate, np.inf)
    xi = bits_similarity(inst.users.symbols_per_word, q)
    sqe = inst.units_per_sentence * xi / (inst.words_per_sentence * inst.users.symbols_per_word * q)
    qk = qos(inst, xi, q, latency)
    effective = served & (bits > 0) & (xi >= inst.xi_threshold) & (latency <= inst.deadline_s * (1 + RTOL))
    return Table(sinr=sinr, rate_bps=rate, xi=xi, sqe=sqe, latency_s=latency, qos=qk, effective=effective,
                 score=np.where(effective, qk, 0.0))


def evaluate(inst, v: dict) -> Evaluation:
    """Check every constraint, list every violation, and sum the effective SC-QoS."""
    sub = v["subchannel"]
    viol: list[str] = []
    power = float((v["beam_re"] ** 2 + v["beam_im"] ** 2).sum())
    if power > inst.power_max_w * (1 + RTOL):
        viol.append(f"transmit power {power:.6g} W > Pmax {inst.power_max_w:.6g} W")
    band = float(v["bandwidth_hz"].sum())
    if band > inst.bandwidth_hz * (1 + RTOL):
        viol.append(f"bandwidth {band:.6g} Hz > B {inst.bandwidth_hz:.6g} Hz")
    load = np.bincount(sub[sub >= 0], minlength=inst.M)
    for m in np.nonzero(load > inst.Nt)[0]:
        viol.append(f"subchannel {m}: {load[m]} users > Nt = {inst.Nt} antennas")
    idle_beam = (sub < 0) & ((v["beam_re"] != 0) | (v["beam_im"] != 0)).any(axis=1)
    for k in np.nonzero(idle_beam)[0]:
        viol.append(f"user {k}: not served but has a nonzero beam")
    return Evaluation(not viol, float(outcome(inst, v).score.sum()), viol)
