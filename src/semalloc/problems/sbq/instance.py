"""The one-slot SBQ instance (Wang et al., reconstructed in wang-sbq-drl-notes.md),
its generator and time-correlated episodes.

Complex channels are stored as real/imaginary pairs, ``channel_re[k, m, :]``
and ``channel_im[k, m, :]`` = ``h_km`` (Nt antennas).

Examples
--------
>>> from semalloc.problems.sbq.instance import SBQInstance, generate, episode
>>> inst = generate(seed=1, users=4, antennas=2, subchannels=2)
>>> inst.K, inst.M, inst.Nt, inst.h.shape
(4, 2, 2, (4, 2, 2))
>>> again = SBQInstance.from_dict(inst.to_dict())
>>> bool((again.h == inst.h).all())
True
>>> slots = list(episode(seed=1, slots=3, users=4, antennas=2, subchannels=2))
>>> len(slots), bool((slots[0].users.position_m == slots[2].users.position_m).all())
(3, True)
"""
from __future__ import annotations

import functools
from typing import Any, Iterator

import numpy as np

from ...channel import (
    ONE_BS_DEFAULTS,
    SCENARIO_SCHEMA,
    layout,
    link_gains,
    path_loss_db,
    redraw_record,
    scenario,
    uniform_disk,
)
from ...draws import draw_choice, per_item, stream
from ...errors import InputError
from ...perf.sbq import N_MAX
from ...schema import Field, SchemaInstance, Table
from ...solve import check_settings
from ...units import dbm_to_w

__all__ = ["SBQInstance", "generate", "redraw", "episode", "DEFAULTS", "SCHEMA", "Q_MAX"]

#: Bits per quantized semantic symbol range over 1..Q_MAX (notes: q in {1..8}).
Q_MAX = 8

SCHEMA: dict = {
    "bandwidth_hz": Field(lo=0, strict=True, unit="Hz", doc="B, total bandwidth shared by the subchannels"),
    "power_max_w": Field(lo=0, strict=True, unit="W", doc="Pmax, BS transmit power budget"),
    "noise_psd_w_hz": Field(lo=0, strict=True, unit="W/Hz", doc="N0, noise power spectral density"),
    "deadline_s": Field(lo=0, strict=True, unit="s", doc="T_max, per-slot deadline of an effective user"),
    "xi_threshold": Field(lo=0, hi=1, doc="xi_th, least sentence similarity of an effective user"),
    "qos_weight": Field(lo=0, hi=1, doc="w, weight of the SQE term in QoS_k"),
    "sqe_req": Field(lo=0, unit="units/bit", doc="SQE_req, centre of the SQE logistic"),
    "sqe_steepness": Field(lo=0, strict=True, unit="bit/unit", doc="a1, steepness of the SQE logistic"),
    "latency_req_s": Field(lo=0, unit="s", doc="T_req, centre of the latency logistic"),
    "latency_steepness": Field(lo=0, strict=True, unit="1/s", doc="a2, steepness of the latency logistic"),
    "words_per_sentence": Field(kind="int", lo=1, doc="L, words per sentence"),
    "units_per_sentence": Field(lo=0, strict=True, unit="semantic units", doc="I, semantic units per sentence"),
    "users": {
        "symbols_per_word": Field(("K",), "int", lo=1, hi=N_MAX, doc="n_k, DeepSC symbols per word (1..20)"),
        "sentences": Field(("K",), "int", lo=0, doc="D_k, sentences to send this slot"),
        "position_m": Field(("K", "2"), unit="m", doc="user coordinates, BS at the origin"),
    },
    "channel_re": Field(("K", "M", "Nt"), unit="sqrt(W/W)", doc="Re h_km, channel of user k on subchannel m"),
    "channel_im": Field(("K", "M", "Nt"), unit="sqrt(W/W)", doc="Im h_km"),
    "scenario": SCENARIO_SCHEMA,
    "last": {
        "score": Field(("K",), lo=0, doc="the previous slot's effective SC-QoS of user k (an agent's state; "
                                         "absent: zeros, a first slot)"),
        "effective": Field(("K",), "int", lo=0, hi=1, doc="1 if user k was effective in the previous slot"),
    },
}


class SBQInstance(SchemaInstance):
    """One slot: K users, M subchannels, Nt BS antennas; arrays as in ``SCHEMA``."""

    problem = "sbq"
    SCHEMA = SCHEMA
    OPTIONAL = ("scenario", "last")

    @property
    def K(self) -> int:
        return self.channel_re.shape[0]

    @property
    def M(self) -> int:
        return self.channel_re.shape[1]

    @property
    def Nt(self) -> int:
        return self.channel_re.shape[2]

    @functools.cached_property
    def h(self) -> np.ndarray:
        """Complex channels ``h_km``, shape (K, M, Nt) (computed once: instances are not mutated)."""
        return self.channel_re + 1j * self.channel_im

    @property
    def symbols(self) -> np.ndarray:
        """``D_k L n_k``: quantized symbols user k sends this slot (times ``q_k`` = bits)."""
        return self.users.sentences * self.words_per_sentence * self.users.symbols_per_word


#: Generator settings and their defaults (wang-sbq-drl-notes.md, "The model").
#: ``sentences`` is a [lo, hi] integer range drawn per user and slot;
#: ``symbols_per_word`` a list of choices drawn per user. The logistic
#: centres and steepnesses are ours (docs/models.md, sbq, "Logistic constants").
DEFAULTS: dict[str, Any] = {
    "users": 6, "antennas": 4, "subchannels": 3,
    "radius_m": 500.0, "min_distance_m": 35.0, "shadowing_db": 8.0,
    "bandwidth_hz": 1.8e6, "power_max_w": 1.0, "noise_dbm_hz": -174.0,
    "sentences": [1, 4], "words_per_sentence": 20, "symbols_per_word": [4, 8, 16], "units_per_sentence": 1.0,
    "deadline_s": 2e-4, "xi_threshold": 0.9, "qos_weight": 0.5,
    "sqe_req": 5e-3, "sqe_steepness": 1000.0, "latency_req_s": 5e-5, "latency_steepness": 5e4,
    "rho": 0.95,
    **ONE_BS_DEFAULTS,
}
#: Ranges of settings beyond their type (checked by ``semalloc.solve.check_settings``).
RANGES = {"rho": (0.0, 1.0)}


def _settings(overrides: dict) -> dict:
    """``DEFAULTS`` updated by the checked ``overrides`` (the settings table, then the pair rule)."""
    s = {**DEFAULTS, **check_settings("sbq", overrides)}
    lo_hi = np.atleast_1d(np.asarray(s["sentences"], dtype=float))
    if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1] or lo_hi[0] < 0:
        raise InputError("sentences", f"must be a [low, high] pair with 0 <= low <= high, got {s['sentences']!r}", "sbq")
    return s


def _cn(seed: int, component: str, K: int, M: int, Nt: int, slots: int = 1) -> np.ndarray:
    """CN(0, 1) entries, shape ``(slots, K, M, Nt)``; link (k, m) draws from its own
    stream, antenna by antenna, so adding users, subchannels or antennas keeps the others."""
    z = np.array([[stream(seed, component, (k, m)).standard_normal((Nt, slots, 2)) for m in range(M)]
                  for k in range(K)]).reshape(K, M, Nt, slots, 2)
    return np.moveaxis(z[..., 0] + 1j * z[..., 1], -1, 0) / np.sqrt(2.0)


def _sentences(s: dict, seed: int, K: int, slots: int = 1) -> np.ndarray:
    """D_k per slot, shape ``(slots, K)``, user k from its own stream."""
    lo, hi = (int(v) for v in s["sentences"])
    u = per_item(seed, "sentences", K, lambda g: g.random(slots)).reshape(K, slots).T
    return np.minimum(lo + np.floor(u * (hi - lo + 1)), hi).astype(int)


def _slot(s: dict, pos: np.ndarray, beta: np.ndarray, n: np.ndarray, g: np.ndarray,
          sentences: np.ndarray, rec: dict) -> SBQInstance:
    h = np.sqrt(beta)[:, None, None] * g                       # h_km = sqrt(beta_k) g_km
    raw = {
        "problem": "sbq",
        **{k: s[k] for k in ("bandwidth_hz", "power_max_w", "deadline_s", "xi_threshold", "qos_weight", "sqe_req",
                             "sqe_steepness", "latency_req_s", "latency_steepness", "words_per_sentence",
                             "units_per_sentence")},
        "noise_psd_w_hz": float(dbm_to_w(float(s["noise_dbm_hz"]))),
        "users": {"symbols_per_word": n, "sentences": sentences, "position_m": pos},
        "channel_re": h.real, "channel_im": h.imag, "scenario": rec,
    }
    return SBQInstance.from_dict(raw)


def _users(s: dict, seed: int, overrides: dict):
    """Positions, large-scale gains, symbols per word and the scenario record; user k
    from its own streams (common random numbers, docs/models.md)."""
    K, M, Nt = int(s["users"]), int(s["subchannels"]), int(s["antennas"])
    radius, rmin = float(s["radius_m"]), float(s["min_distance_m"])
    rec = scenario(s, overrides, seed, "sbq", one_bs=True)
    _, pos = layout(rec, s, 1, K, lambda g: uniform_disk(g, 1, radius, min_radius_m=rmin)[0], "user_position", "sbq",
                    None)
    beta = link_gains(rec, pos, np.zeros((1, 2)), path_loss_db)[:, 0]
    n = draw_choice(seed, "symbols_per_word", np.asarray(s["symbols_per_word"], dtype=int), K)
    return pos, beta, n, (K, M, Nt), rec


def generate(seed: int = 0, **overrides) -> SBQInstance:
    """Draw one slot of the notes' default scenario; ``overrides`` change ``DEFAULTS``.

    Users uniform in a disc (at least ``min_distance_m`` from the BS),
    ``128.1 + 37.6 log10(d/km)`` dB path loss with ``shadowing_db``
    shadowing, Rayleigh small-scale fading ``g_km ~ CN(0, I)``. It is the
    first slot of ``episode(seed, ...)``.
    """
    s = _settings(overrides)
    pos, beta, n, shape, rec = _users(s, seed, overrides)
    return _slot(s, pos, beta, n, _cn(seed, "fading", *shape)[0], _sentences(s, seed, shape[0])[0], rec)


def redraw(inst: SBQInstance, **overrides) -> SBQInstance:
    """``inst`` with its large-scale gains drawn again from its own (possibly edited)
    positions, by its ``scenario`` record updated by the channel settings ``overrides``;
    the small-scale fading ``g_km = h_km / sqrt(beta_k)`` is kept."""
    rec = redraw_record(inst, overrides, "sbq", DEFAULTS, one_bs=True)
    old = link_gains(inst.scenario, inst.users.position_m, np.zeros((1, 2)), path_loss_db)[:, 0]
    beta = link_gains(rec, inst.users.position_m, np.zeros((1, 2)), path_loss_db)[:, 0]
    h = np.sqrt(beta / old)[:, None, None] * inst.h
    return SBQInstance.from_dict({**inst.to_dict(), "channel_re": h.real, "channel_im": h.imag, "scenario": rec})


def episode(seed: int = 0, slots: int = 100, **overrides) -> Iterator[SBQInstance]:
    """Yield ``slots`` time-correlated slots: positions, shadowing and ``n_k`` fixed,
    Gauss-Markov fading ``g(t+1) = rho g(t) + sqrt(1 - rho^2) e(t)``, ``D_k`` redrawn per slot.
    """
    s = _settings(overrides)
    if int(slots) < 1:
        raise InputError("slots", f"must be >= 1, got {slots!r}", "sbq")
    rho = float(s["rho"])
    pos, beta, n, shape, rec = _users(s, seed, overrides)
    g = _cn(seed, "fading", *shape)[0]
    e = _cn(seed, "innovation", *shape, slots=int(slots) - 1)
    sentences = _sentences(s, seed, shape[0], int(slots))
    first = _slot(s, pos, beta, n, g, sentences[0], rec)            # validated once; later slots change
    yield first                                                 # only channels and D_k, drawn here
    for t in range(int(slots) - 1):
        g = rho * g + np.sqrt(1.0 - rho**2) * e[t]
        h = np.sqrt(beta)[:, None, None] * g
        users = Table({**first.users, "sentences": sentences[t + 1]})
        yield SBQInstance(Table({**first.data, "users": users, "channel_re": h.real, "channel_im": h.imag}))
