"""Independent feasibility check and objective of an offloading allocation (eq. 9).

It uses only the instance and the solution variables, never an algorithm's
tables: SINR with co-channel interference (eq. 1), rate (eq. 2),
transmission delay (eq. 3), computation delay (eq. 7), reward (eq. 8) and
the constraints (9b)-(9i).

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.offloading.instance import generate
>>> from semalloc.problems.offloading.evaluate import evaluate, parse_variables
>>> inst = generate(seed=0, terminals=2, base_stations=1, subcarriers=2)
>>> v = {"bs": [0, 0], "subcarriers": [[1, 0], [0, 1]], "semantic": [1, 0],
...      "cpu_hz": [0.5 * inst.base_stations.cpu_hz[0]] * 2}
>>> ev = evaluate(inst, parse_variables(inst, v))
>>> ev.feasible, ev.objective > 0, bool(np.isclose(ev.metrics["reward_per_terminal"], ev.objective / 2))
(True, True, True)
>>> bad = dict(v, subcarriers=[[1, 0], [1, 1]])
>>> evaluate(inst, parse_variables(inst, bad)).violations
['BS 0, subcarrier 0: 2 terminals (at most 1, eq. 9f)']
"""
from __future__ import annotations

import numpy as np

from ...result import RTOL, Evaluation
from ...schema import Field, check_index, validate

__all__ = ["evaluate", "parse_variables", "delays", "VARIABLES", "RTOL"]


VARIABLES = {
    "bs": Field(("U",), "int", lo=-1, doc="x: serving BS (MEC system) of each terminal; -1 = not associated"),
    "subcarriers": Field(("U", "N"), "int", lo=0, hi=1, doc="rho: 1 if subcarrier n of the serving BS is the terminal's"),
    "semantic": Field(("U",), "int", lo=0, hi=1, doc="e: 1 = semantic extraction and compression at the terminal"),
    "cpu_hz": Field(("U",), lo=0, unit="cycles/s", doc="f_u, edge computing capacity given to the terminal"),
}


def parse_variables(inst, variables: dict) -> dict:
    """Validate solution variables against the instance (shapes U and N, types, ranges)."""
    out = validate(VARIABLES, variables, "offloading", prefix="variables.",
                   dims={"U": (inst.U, "the instance's terminals"), "N": (inst.N, "the instance's subcarriers")})
    check_index("variables.bs", out["bs"], inst.K, "BSs", "offloading")
    return out


def delays(inst, v: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-terminal ``(t_comm, t_comp)`` in seconds (eqs. 1-3, 7); ``inf`` without rate or CPU."""
    U, K, N = inst.gain.shape
    bs, rho, e, f = v["bs"], v["subcarriers"].astype(bool), v["semantic"], v["cpu_hz"]
    served = bs >= 0
    k = np.maximum(bs, 0)
    active = rho & served[:, None]                                           # rho_uk^n with k = bs[u]
    # received power at every BS j of terminal u on subcarrier n: P g_uj^n when u transmits on n
    tx = inst.power_w * inst.gain * active[:, None, :]                       # (U, K, N)
    total = tx.sum(axis=0)                                                   # (K, N) at BS j
    own = tx[np.arange(U), k, :]                                             # (U, N) at the serving BS
    same_bs = np.zeros((K, N))
    np.add.at(same_bs, k[served], own[served])                               # own cell's users on n
    interference = total[k, :] - same_bs[k, :]                               # eq. 1: other BSs only
    sinr = own / (interference + inst.noise_w)
    rate = inst.subcarrier_bandwidth_hz * np.where(active, np.log2(1.0 + sinr), 0.0).sum(axis=1)   # eq. 2
    bits = np.where(e == 1, inst.task("bits") / inst.task("compression"), inst.task("bits"))
    edge = inst.task("recognition_flop") + e * inst.task("reconstruction_flop")
    local = e * inst.task("extraction_flop") / (inst.flop_per_cycle * inst.terminals.cpu_hz)
    with np.errstate(divide="ignore"):
        t_comm = np.where(rate > 0, bits / np.where(rate > 0, rate, 1.0), np.inf)                 # eq. 3
        t_comp = np.where(f > 0, edge / (inst.flop_per_cycle * np.where(f > 0, f, 1.0)), np.inf) + local  # eq. 7
    return t_comm, t_comp


def evaluate(inst, v: dict) -> Evaluation:
    """Check every constraint, list every violation, and sum the rewards (eq. 9a)."""
    K = inst.K
    bs, rho, f = v["bs"], v["subcarriers"], v["cpu_hz"]
    viol: list[str] = []
    served = bs >= 0
    for u in np.nonzero(~served)[0]:                                                          # eq. 9e
        viol.append(f"terminal {u}: not associated with any BS (its task has no delay)")
    for u in np.nonzero(~served & ((rho.sum(axis=1) > 0) | (f > 0)))[0]:
        viol.append(f"terminal {u}: holds subcarriers or CPU but is not associated (bs = -1)")
    use = np.zeros((K, inst.N), dtype=np.int64)
    np.add.at(use, bs[served], rho[served])
    for k, n in zip(*np.nonzero(use > 1)):                                                    # eq. 9f
        viol.append(f"BS {k}, subcarrier {n}: {use[k, n]} terminals (at most 1, eq. 9f)")
    load = np.bincount(bs[served], weights=f[served], minlength=K)
    for k in np.nonzero(load > inst.base_stations.cpu_hz * (1 + RTOL))[0]:                  # eq. 9i
        viol.append(f"BS {k}: CPU {load[k]:.6g} cycles/s allocated > F_k = {inst.base_stations.cpu_hz[k]:.6g}")
    t_comm, t_comp = delays(inst, v)
    t = t_comm + t_comp
    tau = inst.task("deadline_s")
    for u in np.nonzero(served & ~(t <= tau * (1 + RTOL)))[0]:                                # eq. 9h
        viol.append(f"terminal {u}: delay {t[u]:.6g} s > deadline {tau[u]:.6g} s")
    with np.errstate(divide="ignore"):
        reward = inst.reward_c1 * np.log(1.0 / (inst.task("priority") * t)) + inst.reward_c2     # eq. 8
    metrics = {"reward_per_terminal": float(reward.mean()),          # Fig. 3 plots this average
               "mean_delay_s": float(t.mean()), "max_delay_over_deadline": float(np.max(t / tau)),
               "semantic_share": float(np.mean(v["semantic"]))}
    return Evaluation(not viol, float(reward.sum()), viol, metrics)
