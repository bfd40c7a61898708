"""Independent feasibility check and objective of a multicell allocation (eq. 8).

It uses only the instance and the solution variables, never an algorithm's
tables: rate (eq. 4), times (eqs. 2, 6), energies (eqs. 3, 7), the
constraints (1), (5), (8b)-(8g), and the utility of Sec. V.

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.multicell.instance import generate
>>> from semalloc.problems.multicell.evaluate import evaluate, parse_variables
>>> inst = generate(seed=0, devices=3, base_stations=1)
>>> idle = {"bs": [-1] * 3, "rbs": [0] * 3, "mode": ["idle"] * 3, "cpu_hz": [0.0] * 3,
...         "power_w": [0.0] * 3, "cycles": [0.0] * 3, "bits": [0.0] * 3}
>>> evaluate(inst, parse_variables(inst, idle))
Evaluation(feasible=True, objective=0.0, violations=[], metrics={'utility_bs0': 0.0, 'utility_load_rank1': 0.0})
>>> bad = dict(idle, rbs=[1000, 0, 0], bs=[0, -1, -1])
>>> evaluate(inst, parse_variables(inst, bad)).violations[0].split(' = ')[0]
'BS 0: 1000 RBs allocated > K'
"""
from __future__ import annotations

import numpy as np

from ...perf.workload import accuracy_cd, utility_of_accuracy
from ...result import RTOL, Evaluation
from ...schema import Field, check_index, validate
from .scheduling import MIN_BITS, MODES

__all__ = ["evaluate", "parse_variables", "VARIABLES", "RTOL"]


VARIABLES = {
    "bs": Field(("N",), "int", lo=-1, doc="serving BS index; -1 = not served"),
    "rbs": Field(("N",), "int", lo=0, unit="RBs", doc="z_n, resource blocks of the serving BS"),
    "mode": Field(("N",), "str", choices=MODES, doc="`semantic`, `raw` or `idle`"),
    "cpu_hz": Field(("N",), lo=0, unit="Hz", doc="f_n, CPU frequency"),
    "power_w": Field(("N",), lo=0, unit="W", doc="P_n, transmit power"),
    "cycles": Field(("N",), lo=0, unit="cycles", doc="c_n, computation workload"),
    "bits": Field(("N",), lo=0, unit="bits", doc="d_n, bits transmitted"),
}


def parse_variables(inst, variables: dict) -> dict:
    """Validate solution variables against the instance (shape N, types, ranges)."""
    out = validate(VARIABLES, variables, "multicell", prefix="variables.",
                   dims={"N": (inst.N, "the instance's devices")})
    check_index("variables.bs", out["bs"], inst.M, "BSs", "multicell")
    return out


def evaluate(inst, v: dict) -> Evaluation:
    """Check every constraint, list every violation, and sum the utilities."""
    N, M = inst.N, inst.M
    n = np.arange(N)
    bs, z, mode = v["bs"], v["rbs"], v["mode"]
    f, p, c, d = v["cpu_hz"], v["power_w"], v["cycles"], v["bits"]
    dev = inst.devices
    viol: list[str] = []

    load = np.bincount(bs[bs >= 0], weights=z[bs >= 0], minlength=M)       # eq. 5
    for m in np.nonzero(load > inst.base_stations.rbs)[0]:
        viol.append(f"BS {m}: {int(load[m])} RBs allocated > K = {inst.base_stations.rbs[m]}")
    for i in np.nonzero((bs < 0) & (z > 0))[0]:
        viol.append(f"device {i}: holds {z[i]} RBs but is not associated (bs = -1)")
    active = mode != "idle"
    for i in np.nonzero(active & ((bs < 0) | (z < 1)))[0]:
        viol.append(f"device {i}: mode {mode[i]} needs a BS and at least one RB")
    for i in np.nonzero(f > dev.cpu_max_hz * (1 + RTOL))[0]:                 # eq. 8d
        viol.append(f"device {i}: cpu_hz {f[i]:.6g} > max {dev.cpu_max_hz[i]:.6g}")
    for i in np.nonzero(p > dev.power_max_w * (1 + RTOL))[0]:               # eq. 8e
        viol.append(f"device {i}: power_w {p[i]:.6g} > max {dev.power_max_w[i]:.6g}")
    raw = mode == "raw"
    for i in np.nonzero(raw & (c > 0))[0]:
        viol.append(f"device {i}: raw mode computes no features, cycles must be 0, got {c[i]:.6g}")
    for i in np.nonzero(raw & (d < dev.raw_bits * (1 - RTOL)))[0]:
        viol.append(f"device {i}: raw mode sends bits {d[i]:.6g} < raw_bits {dev.raw_bits[i]:.6g}")
    sem = mode == "semantic"
    for i in np.nonzero(sem & (d < MIN_BITS))[0]:
        viol.append(f"device {i}: semantic mode sends at least {MIN_BITS:g} bit, got {d[i]:.6g}")
    for i in np.nonzero(sem & (c > 0) & (f <= 0))[0]:
        viol.append(f"device {i}: {c[i]:.6g} cycles need cpu_hz > 0")

    m = np.maximum(bs, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = z * inst.rb_bandwidth_hz * np.log1p(p * inst.snr_per_watt[n, m]) / np.log(2.0)  # eq. 4
        t_comp = np.where(c > 0, c / f, 0.0)                                                # eq. 2
        t_tx = np.where(d > 0, d / rate, 0.0)                                               # eq. 6
        e = c * dev.gamma * f**2 + p * t_tx                                                 # eqs. 3, 7
    t = t_comp + t_tx
    for i in np.nonzero(~(t <= inst.deadline_s * (1 + RTOL)))[0]:                # eq. 8b, every device
        viol.append(f"device {i}: time {t[i]:.6g} s > deadline {inst.deadline_s:.6g} s")
    for i in np.nonzero(~(e <= dev.energy_j * (1 + RTOL)))[0]:                   # eq. 8c, every device
        viol.append(f"device {i}: energy {e[i]:.6g} J > budget {dev.energy_j[i]:.6g} J")

    acc = np.where(sem, accuracy_cd(c, d, *(inst.app(k) for k in
                                            ("eta1", "eta2", "cycles_max", "beta1", "beta2", "beta3", "bits_max"))),
                   np.where(raw, inst.app("eta2"), 0.0))
    util = utility_of_accuracy(acc, inst.utility)
    per_bs = np.bincount(bs[bs >= 0], weights=util[bs >= 0], minlength=M)   # Figs. 2-3: utility of each BS
    metrics = {f"utility_bs{m}": float(u) for m, u in enumerate(per_bs)}
    # Figs. 2-3 across seeds: the BS of load rank r (1 = most devices nearest to it)
    metrics.update({f"utility_load_rank{r + 1}": float(per_bs[m]) for r, m in enumerate(inst.load_order)})
    return Evaluation(not viol, float(util.sum()), viol, metrics)
