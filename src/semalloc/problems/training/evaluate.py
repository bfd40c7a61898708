"""Independent feasibility check and objective of a training allocation (P1, eq. 16).

Uses only the instance and the variables: rate (eq. 6), times (eqs. 5, 7-9),
energies (eqs. 10-13), the PSNR model (eq. 57) and constraints (16a)-(16f).

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.training.instance import generate
>>> from semalloc.problems.training.evaluate import evaluate, parse_variables
>>> inst = generate(seed=0, devices=3)
>>> d = inst.devices
>>> v = {"power_w": d.power_max_w, "bandwidth_hz": np.full(3, inst.bandwidth_hz / 3),
...      "cpu_hz": d.cpu_max_hz, "bs_cpu_hz": d.bs_cpu_max_hz, "rho": d.rho_max}
>>> ev = evaluate(inst, parse_variables(inst, v))
>>> ev.feasible, ev.objective > 0
(True, True)
>>> sorted(ev.metrics)[:4]
['energy_bs_j', 'energy_device_j', 'energy_j', 'psnr_db_max']
>>> evaluate(inst, parse_variables(inst, dict(v, rho=[0.5, 0.2, 0.2]))).violations
['device 0: rho 0.5 > rho_max 0.3']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...perf.psnr import PsnrModel
from ...result import RTOL, Evaluation
from ...schema import Field, validate

__all__ = ["evaluate", "parse_variables", "metrics", "Metrics", "VARIABLES", "RTOL"]


VARIABLES = {
    "power_w": Field(("N",), lo=0, unit="W", doc="p_n, transmit power"),
    "bandwidth_hz": Field(("N",), lo=0, unit="Hz", doc="B_n, FDMA bandwidth"),
    "cpu_hz": Field(("N",), lo=0, unit="Hz", doc="f_n, device CPU frequency"),
    "bs_cpu_hz": Field(("N",), lo=0, unit="Hz", doc="h_n, BS CPU frequency spent on device n"),
    "rho": Field(("N",), lo=0, hi=1, doc="rho_n, compression rate (uploaded bits / raw bits)"),
}


def parse_variables(inst, variables: dict) -> dict:
    """Validate solution variables against the instance (shape N, ranges)."""
    return validate(VARIABLES, variables, "training", prefix="variables.",
                    dims={"N": (inst.N, "the instance's devices")})


@dataclass
class Metrics:
    """Per-device quantities of an allocation (arrays of length N)."""

    rate_bps: np.ndarray
    snr: np.ndarray
    rho: np.ndarray
    time_device_s: np.ndarray      # T^cmp + T^up (eq. 8)
    time_bs_s: np.ndarray          # T^S (eq. 9)
    energy_device_j: np.ndarray    # E^cmp + E^up (eq. 12)
    energy_bs_j: np.ndarray        # E^S (eq. 13)
    model: PsnrModel

    @cached_property
    def psnr_db(self) -> np.ndarray:
        """P(rho, S) (eq. 57)."""
        return self.model.psnr(self.rho, self.snr)

    @property
    def time_s(self) -> np.ndarray:
        return self.time_device_s + self.time_bs_s

    @property
    def energy_j(self) -> np.ndarray:
        return self.energy_device_j + self.energy_bs_j

    @property
    def round_time_s(self) -> float:
        """``max_n T_n`` (eq. 14)."""
        return float(np.max(self.time_s))

    @property
    def total_energy_j(self) -> float:
        """``sum_n E_n`` (eq. 15)."""
        return float(np.sum(self.energy_j))

    def summary(self) -> dict:
        """The figures' measures: T (eq. 14) and E (eq. 15) with their device and BS parts, and
        the PSNR over devices. E's parts are sums over devices (eqs. 12-13); T is split in the
        proportion ``sum_n (T^cmp_n + T^up_n) : sum_n T^S_n`` (eqs. 8-9), so its parts add up to
        T and do not depend on which of the (often tied, after P3) slowest devices sets it."""
        dev_share = float(np.sum(self.time_device_s) / np.sum(self.time_s))
        psnr = self.psnr_db
        T = self.round_time_s
        return {"round_time_s": T, "round_time_device_s": T * dev_share,
                "round_time_bs_s": T * (1.0 - dev_share), "energy_j": self.total_energy_j,
                "energy_device_j": float(np.sum(self.energy_device_j)),
                "energy_bs_j": float(np.sum(self.energy_bs_j)), "psnr_db_mean": float(np.mean(psnr)),
                "psnr_db_min": float(np.min(psnr)), "psnr_db_max": float(np.max(psnr))}


def metrics(inst, v: dict) -> Metrics:
    """Rates, SNRs, PSNRs, times and energies of ``v`` (zero resources give inf times)."""
    p, B, f, h, rho = (np.asarray(v[k], dtype=float) for k in VARIABLES)
    c1, c2 = inst.cycles
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(B > 0, p * inst.snr_per_hz / B, np.where(p > 0, np.inf, 0.0))
        rate = np.where(B > 0, B * np.log1p(snr) / np.log(2.0), 0.0)                 # eq. 6
        t_up = np.where(rho > 0, rho * inst.raw_bits / rate, 0.0)                    # eq. 7
        t_cmp = c1 / f                                                               # eq. 5
        t_bs = c2 / h                                                                # eq. 9
        e_dev = inst.kappa * c1 * f**2 + np.where(t_up > 0, p * t_up, 0.0)           # eqs. 10-12
        e_bs = inst.kappa * c2 * h**2                                                # eq. 13
    return Metrics(rate, snr, rho, t_cmp + t_up, t_bs, e_dev, e_bs, inst.model)


def _excess(viol: list, name: str, value, bound, fmt: str) -> None:
    for i in np.nonzero(~(value <= bound * (1 + RTOL)))[0]:
        viol.append(f"device {i}: {name} {value[i]:.6g} > {fmt} {bound[i]:.6g}")


def evaluate(inst, v: dict) -> Evaluation:
    """Check (16a)-(16f) with relative tolerance :data:`RTOL`, list every violation,
    and compute ``w_time * max_n T_n + w_energy * sum_n E_n`` (eq. 16)."""
    dev = inst.devices
    viol: list[str] = []
    for name in VARIABLES:
        if name == "rho":
            continue
        for i in np.nonzero(~(v[name] > 0))[0]:
            viol.append(f"device {i}: {name} must be > 0, got {v[name][i]:.6g}")
    _excess(viol, "power_w", v["power_w"], dev.power_max_w, "max")                  # eq. 16a
    _excess(viol, "cpu_hz", v["cpu_hz"], dev.cpu_max_hz, "max")                     # eq. 16b
    total = float(np.sum(v["bandwidth_hz"]))
    if total > inst.bandwidth_hz * (1 + RTOL):                                      # eq. 16c
        viol.append(f"bandwidth: sum {total:.6g} Hz > B_total {inst.bandwidth_hz:.6g} Hz")
    _excess(viol, "bs_cpu_hz", v["bs_cpu_hz"], dev.bs_cpu_max_hz, "max")           # eq. 16d
    _excess(viol, "rho", v["rho"], dev.rho_max, "rho_max")                          # eq. 16f
    for i in np.nonzero(~(v["rho"] >= dev.rho_min * (1 - RTOL)))[0]:
        viol.append(f"device {i}: rho {v['rho'][i]:.6g} < rho_min {dev.rho_min[i]:.6g}")
    m = metrics(inst, v)
    short = ~(m.psnr_db >= dev.psnr_min_db - RTOL * np.abs(dev.psnr_min_db))        # eq. 16e
    for i in np.nonzero(short)[0]:
        viol.append(f"device {i}: PSNR {m.psnr_db[i]:.6g} dB < psnr_min_db {dev.psnr_min_db[i]:.6g} dB")
    if viol:
        return Evaluation(False, float("nan"), viol)
    return Evaluation(True, inst.w_time * m.round_time_s + inst.w_energy * m.total_energy_j, viol, m.summary())
