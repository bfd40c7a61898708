"""The multi-cell adaptive semantic communication instance (He et al., Sec. III)
and its generator (Sec. V, Table I).

Examples
--------
>>> from semalloc.problems.multicell.instance import MulticellInstance, generate
>>> inst = generate(seed=1, devices=12, base_stations=3)
>>> inst.N, inst.M, inst.gain.shape
(12, 3, (12, 3))
>>> again = MulticellInstance.from_dict(inst.to_dict())
>>> bool((again.gain == inst.gain).all())
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...channel import (
    SCENARIO_DEFAULTS,
    SCENARIO_SCHEMA,
    distances_m,
    layout,
    link_gains,
    path_loss_db,
    redraw_record,
    scenario,
    uniform_square,
)
from ...draws import draw_choice, draw_setting
from ...errors import InputError
from ...perf.workload import UTILITIES
from ...schema import Field, SchemaInstance, Table, check_index
from ...solve import check_settings

__all__ = ["MulticellInstance", "generate", "redraw", "DEFAULTS", "SCHEMA"]

KEY = "multicell"

SCHEMA: dict = {
    "rb_bandwidth_hz": Field(lo=0, strict=True, unit="Hz", doc="bandwidth W of one resource block"),
    "deadline_s": Field(lo=0, strict=True, unit="s", doc="completion deadline T^max (eq. 8b)"),
    "noise_w": Field(lo=0, strict=True, unit="W", doc="noise power sigma^2 at every BS"),
    "utility": Field(kind="str", choices=UTILITIES,
                     doc="u(A): `accuracy` (u = A) or `inverse_error` (u = 1/(1-A)); 0 when A = 0"),
    "base_stations": {
        "rbs": Field(("M",), "int", lo=0, unit="RBs", doc="K_m, resource blocks of BS m"),
        "interference_w": Field(("M",), lo=0, unit="W", doc="I_m, average interference seen by BS m"),
        "position_m": Field(("M", "2"), unit="m", doc="BS coordinates (used by the NUA baseline)"),
    },
    "devices": {
        "application": Field(("N",), "int", lo=0, doc="application index a of device n, 0 <= a < A"),
        "energy_j": Field(("N",), lo=0, unit="J", doc="E_n^max, energy budget (eq. 8c)"),
        "cpu_max_hz": Field(("N",), lo=0, unit="Hz", doc="f_n^max, maximum CPU frequency (eq. 8d)"),
        "power_max_w": Field(("N",), lo=0, unit="W", doc="P_n^max, maximum transmit power (eq. 8e)"),
        "gamma": Field(("N",), lo=0, unit="J/(cycle Hz^2)", doc="gamma_n, energy per cycle is gamma f^2 (eq. 3)"),
        "raw_bits": Field(("N",), lo=0, strict=True, unit="bits", doc="size of the raw data (raw mode, TC)"),
        "position_m": Field(("N", "2"), unit="m", doc="device coordinates"),
    },
    "gain": Field(("N", "M"), lo=0, doc="h_n^m, linear channel power gain device n -> BS m"),
    "applications": {
        "eta1": Field(("A",), lo=0, strict=True, doc="slope of A_c = eta1 ln(c/C) + eta2"),
        "eta2": Field(("A",), lo=0, strict=True, hi=1, doc="accuracy of the full model; < 1"),
        "cycles_max": Field(("A",), lo=0, strict=True, unit="cycles", doc="C^a, workload of the largest model"),
        "beta1": Field(("A",), hi=0, doc="A_d = beta1 (1 - d/D)^beta2 + beta3; -beta3 <= beta1 <= 0"),
        "beta2": Field(("A",), lo=0, strict=True, doc="exponent of A_d"),
        "beta3": Field(("A",), lo=0, strict=True, hi=1, doc="accuracy with all features sent"),
        "bits_max": Field(("A",), lo=0, strict=True, unit="bits", doc="D^a, size of all extracted features"),
    },
    "scenario": SCENARIO_SCHEMA,
}


class MulticellInstance(SchemaInstance):
    """M base stations, N devices, A applications; arrays as in ``SCHEMA``."""

    problem = "multicell"
    SCHEMA = SCHEMA
    OPTIONAL = ("scenario",)

    @classmethod
    def check(cls, data: Table) -> None:
        check_index("devices.application", data.devices.application, len(data.applications.eta1),
                    "applications: the length of applications.eta1",
                    cls.problem)
        if not data.base_stations.rbs.any():
            raise InputError("base_stations.rbs", "no resource block at any BS (all 0): nothing can be served",
                             cls.problem)
        app = data.applications
        for name, bad in (("eta2", app.eta2 >= 1), ("beta1", app.beta1 < -app.beta3)):
            if bad.any():
                i = int(np.argmax(bad))
                rule = "must be < 1" if name == "eta2" else "must be >= -beta3 (A_d >= 0)"
                raise InputError(f"applications.{name}[{i}]", f"{rule}, got {app[name][i]}", cls.problem)

    @property
    def N(self) -> int:
        return len(self.devices.application)

    @property
    def M(self) -> int:
        return len(self.base_stations.rbs)

    def app(self, name: str) -> np.ndarray:
        """Per-device value of application parameter ``name``."""
        return self.applications[name][self.devices.application]

    @property
    def load_order(self) -> np.ndarray:
        """BS indices from the most to the least crowded: by the number of devices
        whose nearest BS it is (NUA's association), ties by index. A property of the
        topology alone, the same for every algorithm (Figs. 2-3 across seeds, docs/models.md)."""
        nearest = np.argmin(distances_m(self.devices.position_m, self.base_stations.position_m), axis=1)
        return np.argsort(-np.bincount(nearest, minlength=self.M), kind="stable")

    @property
    def snr_per_watt(self) -> np.ndarray:
        """``h_n^m / (sigma^2 + I_m)``, shape (N, M): SNR per watt of transmit power (eq. 4)."""
        return self.gain / (self.noise_w + self.base_stations.interference_w)[None, :]


#: Generator settings and their defaults (He et al., Sec. V and Table I).
#: A scalar is used as is; a ``[lo, hi]`` pair is drawn uniformly per item;
#: ``rbs`` is a list of choices drawn uniformly per BS.
DEFAULTS: dict[str, Any] = {
    "devices": 30, "base_stations": 5, "applications": 3, "utility": "accuracy",
    "area_m": 500.0, "shadowing_db": 6.0,
    "rbs": [25, 50, 75, 100], "rb_bandwidth_hz": 0.2e6, "deadline_s": 10e-3, "energy_j": 2e-3,
    "cpu_max_hz": [1e9, 3e9], "power_max_w": 0.2, "gamma": [1e-28, 1e-27], "noise_w": 1e-13,
    "interference_w": [1e-13, 1e-12], "raw_bits": [0.4e6, 0.8e6],
    "eta1": [0.05, 0.08], "eta2": [0.9, 0.95], "cycles_max": [5e6, 10e6],
    "beta1": [-0.75, -0.6], "beta2": [10.0, 20.0], "beta3": [0.9, 0.95], "bits_max": [0.15e6, 0.25e6],
    **SCENARIO_DEFAULTS,
}


def generate(seed: int = 0, **overrides) -> MulticellInstance:
    """Draw an instance from the paper's scenario; ``overrides`` change ``DEFAULTS``.

    Devices and BSs are uniform in an ``area_m`` square; gains follow
    ``128.1 + 37.6 log10(d/km)`` dB path loss with ``shadowing_db`` log-normal
    shadowing (the ``layout``, ``path_loss``, ``carrier_hz``, ``isd_m``,
    ``sectors``, ``bs_height_m``, ``ue_height_m`` and ``positions`` settings
    choose another scenario: docs/models.md, "Scenarios"); each device runs an application drawn uniformly. Every BS,
    device and link draws from its own random stream (:mod:`semalloc.draws`),
    so with the same seed more devices or BSs keep the existing ones and
    their gains. The result is validated like a loaded file, so bad
    settings fail the same way.
    """
    s = {**DEFAULTS, **check_settings(KEY, overrides)}
    N, M, A = int(s["devices"]), int(s["base_stations"]), int(s["applications"])
    area = float(s["area_m"])
    # Common random numbers (docs/models.md): every BS, device and link draws
    # from its own stream, so adding devices or BSs keeps the existing ones.
    rec = scenario(s, overrides, seed, KEY, one_bs=False)
    bs_pos, ue_pos = layout(rec, s, M, N, lambda g: uniform_square(g, 1, area)[0], "device_position", KEY)
    gain = link_gains(rec, ue_pos, bs_pos, _paper_db)
    raw = {
        "problem": "multicell",
        "rb_bandwidth_hz": s["rb_bandwidth_hz"], "deadline_s": s["deadline_s"], "noise_w": s["noise_w"],
        "utility": s["utility"],
        "base_stations": {"rbs": draw_choice(seed, "rbs", np.asarray(s["rbs"], dtype=int), M),
                          "interference_w": draw_setting(seed, "interference_w", s["interference_w"], M, KEY),
                          "position_m": bs_pos},
        "devices": {"application": draw_choice(seed, "application", np.arange(A), N),
                    **{k: draw_setting(seed, k, s[k], N, KEY)
                       for k in ("energy_j", "cpu_max_hz", "power_max_w", "gamma")},
                    "raw_bits": draw_setting(seed, "raw_bits", s["raw_bits"], N, KEY), "position_m": ue_pos},
        "gain": gain,
        "applications": {k: draw_setting(seed, k, s[k], A, KEY)
                         for k in ("eta1", "eta2", "cycles_max", "beta1", "beta2", "beta3", "bits_max")},
        "scenario": rec,
    }
    return MulticellInstance.from_dict(raw)


def _paper_db(d_m: np.ndarray) -> np.ndarray:
    """He et al., Sec. V: ``128.1 + 37.6 log10(d/km)`` dB."""
    return path_loss_db(d_m)


def redraw(inst: MulticellInstance, **overrides) -> MulticellInstance:
    """``inst`` with its gains drawn again from its own (possibly edited) positions,
    by its ``scenario`` record updated by the channel settings ``overrides``."""
    rec = redraw_record(inst, overrides, KEY, DEFAULTS, one_bs=False)
    gain = link_gains(rec, inst.devices.position_m, inst.base_stations.position_m, _paper_db)
    return MulticellInstance.from_dict({**inst.to_dict(), "gain": gain, "scenario": rec})
