"""The training instance of Li et al. (Sec. III, Table II): one BS, N devices
that train deep JSCC transmitters together, and its generator.

Examples
--------
>>> from semalloc.problems.training.instance import TrainingInstance, generate
>>> inst = generate(seed=1, devices=12)
>>> inst.N, inst.devices.gain.shape, inst.bandwidth_hz
(12, (12,), 20000000.0)
>>> again = TrainingInstance.from_dict(inst.to_dict())
>>> bool((again.devices.gain == inst.devices.gain).all())
True
"""
from __future__ import annotations

from functools import cached_property
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
from ...draws import draw_setting
from ...errors import InputError
from ...perf.psnr import PsnrModel, load_profile
from ...schema import Field, SchemaInstance, Table
from ...solve import check_settings
from ...units import dbm_to_w

__all__ = ["TrainingInstance", "generate", "redraw", "DEFAULTS", "SCHEMA"]

KEY = "training"

SCHEMA: dict = {
    "bandwidth_hz": Field(lo=0, strict=True, unit="Hz", doc="B_total, uplink bandwidth shared by FDMA (eq. 16c)"),
    "noise_psd_w_per_hz": Field(lo=0, strict=True, unit="W/Hz", doc="N_0, noise power spectral density"),
    "kappa": Field(lo=0, strict=True, unit="J/(cycle Hz^2)", doc="effective switched capacitance (eqs. 10, 13)"),
    "w_time": Field(lo=0, strict=True, unit="1/s", doc="omega_1, weight of the round time max_n T_n (eq. 16)"),
    "w_energy": Field(lo=0, strict=True, unit="1/J", doc="omega_2, weight of the total energy sum_n E_n (eq. 16)"),
    "psnr": {
        "a": Field(lo=0, strict=True, unit="dB", doc="PSNR model P = a ln(c_rho rho + c_s min(S_dB, cap) + b) (eq. 57)"),
        "b": Field(doc="offset inside the logarithm"),
        "c_rho": Field(lo=0, strict=True, doc="weight of the compression rate rho (> 0: the model is inverted by it)"),
        "c_s": Field(lo=0, strict=True, unit="1/dB", doc="weight of the SNR in dB (> 0: the model is inverted by it)"),
        "snr_db_max": Field(unit="dB", doc="cap: the PSNR does not grow beyond this SNR (top of the fitted range)"),
    },
    "devices": {
        "gain": Field(("N",), lo=0, strict=True, doc="g_n, linear channel power gain device -> BS"),
        "samples": Field(("N",), lo=0, strict=True, unit="samples", doc="D_n, samples per training round"),
        "bits_per_sample": Field(("N",), lo=0, strict=True, unit="bits", doc="d_n, size of one sample"),
        "cycles_device": Field(("N",), lo=0, strict=True, unit="cycles/sample", doc="c_1n, device CPU cycles per sample"),
        "cycles_bs": Field(("N",), lo=0, strict=True, unit="cycles/sample", doc="c_2n, BS CPU cycles per sample"),
        "power_max_w": Field(("N",), lo=0, strict=True, hi=1e3, unit="W",
                            doc="p_n^max (eq. 16a); at most 1 kW (60 dBm): see docs/reliability.md"),
        "cpu_max_hz": Field(("N",), lo=0, strict=True, unit="Hz", doc="f_n^max (eq. 16b)"),
        "bs_cpu_max_hz": Field(("N",), lo=0, strict=True, unit="Hz", doc="h_n^max, BS CPU for device n (eq. 16d)"),
        "psnr_min_db": Field(("N",), unit="dB", doc="P_n^min, required PSNR (eq. 16e)"),
        "rho_min": Field(("N",), lo=0, strict=True, hi=1, doc="rho_n^min, least compression rate (eq. 16f)"),
        "rho_max": Field(("N",), lo=0, strict=True, hi=1, doc="rho_n^max, largest compression rate (eq. 16f)"),
        "position_m": Field(("N", "2"), unit="m", doc="device coordinates, BS at the origin (information only)"),
    },
    "scenario": SCENARIO_SCHEMA,
}


class TrainingInstance(SchemaInstance):
    """N devices training with one BS; arrays as in ``SCHEMA`` (read-only: the derived arrays
    below are computed once)."""

    problem = "training"
    SCHEMA = SCHEMA
    OPTIONAL = ("scenario",)

    @classmethod
    def check(cls, data: Table) -> None:
        dev = data.devices
        bad = np.nonzero(dev.rho_min > dev.rho_max)[0]
        if len(bad):
            i = int(bad[0])
            raise InputError(f"devices.rho_min[{i}]", f"must be <= rho_max = {dev.rho_max[i]}, got {dev.rho_min[i]}",
                             cls.problem)

    @property
    def N(self) -> int:
        return len(self.devices.gain)

    @cached_property
    def model(self) -> PsnrModel:
        """The PSNR model of eq. (57)."""
        return PsnrModel(**{k: float(v) for k, v in self.psnr.items()})

    @cached_property
    def snr_per_hz(self) -> np.ndarray:
        """``g_n / N_0`` (Hz/W): SNR is ``p * snr_per_hz / B``."""
        return self.devices.gain / self.noise_psd_w_per_hz

    @cached_property
    def cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """Cycles per round on the device (``c_1n D_n``) and on the BS (``c_2n D_n``)."""
        d = self.devices
        return d.cycles_device * d.samples, d.cycles_bs * d.samples

    @cached_property
    def raw_bits(self) -> np.ndarray:
        """``d_n D_n``: bits per round before compression (upload is ``rho`` times this)."""
        return self.devices.bits_per_sample * self.devices.samples

    def unreachable(self) -> np.ndarray:
        """Devices whose ``psnr_min_db`` exceeds the model's ceiling at ``rho_max``: no allocation serves them."""
        return np.nonzero(self.devices.psnr_min_db > self.model.ceiling(self.devices.rho_max))[0]


#: Generator settings and their defaults (Li et al., Sec. VII-C, Table II).
#: A scalar is used as is, a ``[lo, hi]`` pair is drawn uniformly per device.
#: ``w_energy`` None means ``1 - w_time``.
DEFAULTS: dict[str, Any] = {
    "devices": 50, "bandwidth_hz": 20e6, "radius_m": 250.0, "shadowing_db": 8.0, "noise_dbm_hz": -174.0,
    "kappa": 1e-28, "samples": 32.0, "bits_per_sample": 1e6, "cycles_device": [1e6, 3e6],
    "cycles_bs": [3e6, 5e6], "power_max_dbm": 20.0, "cpu_max_hz": 1e9, "bs_cpu_max_hz": 5e9,
    "psnr_min_db": 25.0, "rho_min": 0.1, "rho_max": 0.3, "w_time": 0.5, "w_energy": None,
    "psnr_profile": "cifar10-calibrated",
    **ONE_BS_DEFAULTS,
}
_PER_DEVICE = ("samples", "bits_per_sample", "cycles_device", "cycles_bs", "cpu_max_hz", "bs_cpu_max_hz",
               "psnr_min_db", "rho_min", "rho_max")


def generate(seed: int = 0, **overrides) -> TrainingInstance:
    """Draw an instance of the paper's scenario; ``overrides`` change ``DEFAULTS``.

    Devices are uniform in a disc of ``radius_m`` around the BS (500 m
    diameter); gains follow ``128.1 + 37.6 log10(d/km)`` dB path loss with
    ``shadowing_db`` log-normal shadowing; ``power_max_dbm`` is in dBm and
    ``noise_dbm_hz`` in dBm/Hz. ``psnr_profile`` is a built-in name or a
    JSON profile file. The result is validated like a loaded file.
    """
    s = {**DEFAULTS, **check_settings(KEY, overrides)}
    n = s["devices"]
    w1 = float(s["w_time"])
    if s["w_energy"] is None and not w1 < 1:              # the default w_energy = 1 - w_time must stay > 0
        raise InputError("w_time", f"must be < 1 when w_energy is not given (w_energy = 1 - w_time), got {w1:g}",
                         KEY)
    w2 = 1.0 - w1 if s["w_energy"] is None else float(s["w_energy"])
    model = load_profile(str(s["psnr_profile"]))
    # common random numbers: device i's draws come from its own streams (docs/models.md)
    radius = float(s["radius_m"])
    rec = scenario(s, overrides, seed, KEY, one_bs=True)
    _, pos = layout(rec, s, 1, int(n), lambda g: uniform_disk(g, 1, radius)[0], "device_position", KEY, None)
    gain = link_gains(rec, pos, np.zeros((1, 2)), path_loss_db)[:, 0]
    raw = {
        "problem": "training", "bandwidth_hz": s["bandwidth_hz"],
        "noise_psd_w_per_hz": float(dbm_to_w(s["noise_dbm_hz"])), "kappa": s["kappa"],
        "w_time": w1, "w_energy": w2, "psnr": model.to_dict(),
        "devices": {"gain": gain, **{k: draw_setting(seed, k, s[k], int(n), KEY) for k in _PER_DEVICE},
                    "power_max_w": dbm_to_w(draw_setting(seed, "power_max_dbm", s["power_max_dbm"], int(n), KEY)),
                    "position_m": pos},
        "scenario": rec,
    }
    return TrainingInstance.from_dict(raw)


def redraw(inst: TrainingInstance, **overrides) -> TrainingInstance:
    """``inst`` with its gains drawn again from its own (possibly edited) positions,
    by its ``scenario`` record updated by the channel settings ``overrides``."""
    rec = redraw_record(inst, overrides, KEY, DEFAULTS, one_bs=True)
    gain = link_gains(rec, inst.devices.position_m, np.zeros((1, 2)), path_loss_db)[:, 0]
    raw = inst.to_dict()
    return TrainingInstance.from_dict({**raw, "devices": {**raw["devices"], "gain": gain}, "scenario": rec})
