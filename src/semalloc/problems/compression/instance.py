"""The adaptable-semantic-compression instance (Liu et al., Sec. II) and its
generator (Sec. VI, Table II).

One edge server, U users. User ``i`` sends ``d0_i (1 - o_i)`` bits within
``t0_i`` over bandwidth ``B_i`` with power ``P_i``; its channel gain is
``h_i ~ N(0, delta_i^2)`` (Lemma 1); it belongs to service level
``level_i`` of weight ``level_weights[level_i]`` (eq. 12). The task model
``eta(o)`` is the named ``profile`` (:mod:`semalloc.perf.eta`).

Examples
--------
>>> from semalloc.problems.compression.instance import CompressionInstance, generate
>>> inst = generate(seed=1, users=6)
>>> inst.U, inst.profile, inst.bandwidth_max_hz
(6, 'resnet-0db', 20000000.0)
>>> again = CompressionInstance.from_dict(inst.to_dict())
>>> bool((again.users.gain_std == inst.users.gain_std).all())
True
"""
from __future__ import annotations

from typing import Any

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
from ...draws import draw_choice, draw_setting
from ...errors import InputError
from ...perf.eta import EtaProfile, load_profile
from ...schema import Field, SchemaInstance, Table
from ...solve import check_settings
from ...units import dbm_to_w

__all__ = ["CompressionInstance", "generate", "redraw", "DEFAULTS", "SCHEMA", "KEY"]

KEY = "compression"

SCHEMA: dict = {
    "profile": Field(kind="str", doc="task model eta(o): a built-in Table IV profile (`resnet-0db`, ...) "
                                      "or a path to a JSON profile file"),
    "noise_psd_w_per_hz": Field(lo=0, strict=True, unit="W/Hz", doc="N0, noise power spectral density"),
    "bandwidth_max_hz": Field(lo=0, strict=True, unit="Hz", doc="B_max, total bandwidth (14a)"),
    "bandwidth_min_hz": Field(lo=0, unit="Hz", doc="B_min, least bandwidth of a selected user (14b)"),
    "power_max_w": Field(lo=0, strict=True, unit="W", doc="P_max, total transmit power (14c)"),
    "power_min_w": Field(lo=0, unit="W", doc="P_min, least power of a selected user (14d)"),
    "level_weights": Field(("L",), lo=0, strict=True, doc="epsilon_n, weight of service level n (eq. 12)"),
    "users": {
        "data_bits": Field(("U",), lo=0, strict=True, unit="bits", doc="d0, size of the extracted semantics"),
        "deadline_s": Field(("U",), lo=0, strict=True, unit="s", doc="t0, delay constraint"),
        "gain_std": Field(("U",), lo=0, strict=True, doc="delta, std of the channel power gain h ~ N(0, delta^2)"),
        "level": Field(("U",), "int", lo=0, doc="service level n of the user, 0 <= n < L (r_in of eq. 12)"),
        "position_m": Field(("U", "2"), unit="m", doc="user coordinates, server at the origin (informative)"),
    },
    "scenario": SCENARIO_SCHEMA,
}


class CompressionInstance(SchemaInstance):
    """U users served by one edge server; arrays as in ``SCHEMA``."""

    problem = KEY
    SCHEMA = SCHEMA
    OPTIONAL = ("scenario",)

    @classmethod
    def check(cls, data: Table) -> None:
        load_profile(data.profile, "profile", KEY)
        L = len(data.level_weights)
        bad = np.nonzero(data.users.level >= L)[0]
        if len(bad):
            raise InputError(f"users.level[{bad[0]}]", f"must be < {L} (number of service levels: the length of level_weights), "
                             f"got {data.users.level[bad[0]]}", KEY)
        U = len(data.users.level)
        for lo, hi, unit in (("bandwidth_min_hz", "bandwidth_max_hz", "Hz"), ("power_min_w", "power_max_w", "W")):
            if data[lo] * U > data[hi]:
                raise InputError(lo, f"{U} users x {data[lo]:g} {unit} = {data[lo] * U:g} {unit} exceeds "
                                 f"{hi} = {data[hi]:g} {unit}", KEY)

    @property
    def U(self) -> int:
        return len(self.users.level)

    @property
    def eta_profile(self) -> EtaProfile:
        return load_profile(self.profile, "profile", KEY)

    @property
    def weight(self) -> np.ndarray:
        """``w_i = epsilon_{level_i}`` (eq. 12)."""
        return self.level_weights[self.users.level]

    def channel(self) -> dict:
        """Keyword arguments of :func:`~semalloc.perf.success.outage_argument` for every user."""
        u = self.users
        return {"data_bits": u.data_bits, "deadline_s": u.deadline_s, "gain_std": u.gain_std,
                "noise_psd": self.noise_psd_w_per_hz}


#: Generator settings and defaults (Table II; docs/models.md, compression decisions, explains
#: ``data_bits``, ``radius_m`` and the path loss, which the paper does not give).
#: ``deadline_s`` is a number or a ``[lo, hi]`` pair drawn uniformly per user.
DEFAULTS: dict[str, Any] = {
    "users": 10, "profile": "resnet-0db", "radius_m": 250.0, "min_distance_m": 10.0,
    "data_bits": 24.5 * 1024 * 8, "deadline_s": 10e-3, "noise_dbm_hz": -174.0,
    "bandwidth_max_hz": 20e6, "bandwidth_min_hz": 0.01e6, "power_max_w": 1.0, "power_min_dbm": -20.0,
    "level_weights": [1.0],
    **ONE_BS_DEFAULTS,
}
#: Ranges of settings beyond their type (checked by ``semalloc.solve.check_settings``).
RANGES = {"min_distance_m": (0.0, "radius_m")}


def generate(seed: int = 0, **overrides) -> CompressionInstance:
    """Draw the paper's scenario; ``overrides`` change ``DEFAULTS``.

    Users are uniform in a disk of ``radius_m`` around the server (at least
    ``min_distance_m`` away); ``delta_i`` is the path-loss gain
    ``128.1 + 37.6 log10(d/km)`` dB; each user's service level is drawn
    uniformly among ``level_weights``. Validated like a loaded file.
    """
    s = {**DEFAULTS, **check_settings(KEY, overrides)}
    U, radius, rmin = s["users"], float(s["radius_m"]), float(s["min_distance_m"])
    # common random numbers: user i's draws come from its own streams (docs/models.md)
    rec = scenario({"shadowing_db": 0.0, **s}, overrides, seed, KEY, one_bs=True,
                   min_distance_m=max(rmin, 1e-3))
    _, pos = layout(rec, s, 1, U, lambda g: uniform_disk(g, 1, radius, min_radius_m=rmin)[0], "user_position", KEY,
                    None)
    gain = _gain_std(rec, pos)
    weights = np.atleast_1d(np.asarray(s["level_weights"], dtype=float))
    raw = {
        "problem": KEY, "profile": s["profile"],
        "noise_psd_w_per_hz": float(dbm_to_w(s["noise_dbm_hz"])),
        "bandwidth_max_hz": s["bandwidth_max_hz"], "bandwidth_min_hz": s["bandwidth_min_hz"],
        "power_max_w": s["power_max_w"], "power_min_w": float(dbm_to_w(s["power_min_dbm"])),
        "level_weights": weights,
        "users": {"data_bits": draw_setting(seed, "data_bits", s["data_bits"], U, KEY),
                  "deadline_s": draw_setting(seed, "deadline_s", s["deadline_s"], U, KEY),
                  "gain_std": gain, "level": draw_choice(seed, "level", np.arange(len(weights)), U),
                  "position_m": pos},
        "scenario": rec,
    }
    return CompressionInstance.from_dict(raw)


def _gain_std(rec: dict, pos: np.ndarray) -> np.ndarray:
    """``delta_i``: the paper model is path loss alone (no shadowing), clipped at ``min_distance_m``."""
    paper = lambda d: path_loss_db(d, min_distance_m=rec["min_distance_m"])
    return link_gains(rec, pos, np.zeros((1, 2)), paper)[:, 0]


def redraw(inst: CompressionInstance, **overrides) -> CompressionInstance:
    """``inst`` with its gains drawn again from its own (possibly edited) positions,
    by its ``scenario`` record updated by the channel settings ``overrides``."""
    rec = redraw_record(inst, overrides, KEY, DEFAULTS, one_bs=True)
    raw = inst.to_dict()
    users = {**raw["users"], "gain_std": _gain_std(rec, inst.users.position_m)}
    return CompressionInstance.from_dict({**raw, "users": users, "scenario": rec})
