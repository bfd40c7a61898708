"""Independent feasibility check and objective of a compression allocation.

Only the instance and the variables are used: the constraints (14a)-(14f)
and the weighted sum success probability (13) with Lemma 1's exact success
probability ``2 Q(x)`` (eq. 8, 11). What an algorithm optimised (CRRA and its
baselines use the approximation of eq. 20) is reported in its ``stats``.
The same sum with the approximation ``2Q(x) ~ exp(-x^2/2)`` of eq. (20), the
quantity the paper's algorithms maximise and (docs/models.md) its figures
plot, is reported as the metric ``objective_eq20`` (never below the
objective: the approximation is an upper bound).

Examples
--------
>>> import numpy as np
>>> from semalloc.problems.compression.instance import generate
>>> from semalloc.problems.compression.evaluate import evaluate, parse_variables
>>> inst = generate(seed=0, users=3)
>>> v = {"compression": [0.8] * 3, "bandwidth_hz": [inst.bandwidth_max_hz / 3] * 3,
...      "power_w": [inst.power_max_w / 3] * 3, "selected": [1, 1, 1]}
>>> ev = evaluate(inst, parse_variables(inst, v))
>>> ev.feasible, 0 < ev.objective <= ev.metrics["objective_eq20"] <= 3
(True, True)
>>> bool(np.isclose(ev.metrics["mean_success"], ev.objective / 3))
True
>>> evaluate(inst, parse_variables(inst, dict(v, compression=[1.0, 0.5, 0.5]))).violations
['user 0: compression 1 not in (0, 1) (14e)']
"""
from __future__ import annotations

import numpy as np

from ...perf.eta import eta
from ...perf.success import outage_argument, success
from ...result import RTOL, Evaluation
from ...schema import Field, validate
from .instance import KEY

__all__ = ["evaluate", "parse_variables", "user_success", "VARIABLES", "RTOL"]


VARIABLES = {
    "compression": Field(("U",), unit="1", doc="o_i, semantic compression ratio, 0 < o < 1 (14e)"),
    "bandwidth_hz": Field(("U",), lo=0, unit="Hz", doc="B_i, bandwidth (ignored when not selected)"),
    "power_w": Field(("U",), lo=0, unit="W", doc="P_i, transmit power (ignored when not selected)"),
    "selected": Field(("U",), "int", choices=(0, 1), doc="beta_i, 1 = user served (14f)"),
}


def parse_variables(inst, variables: dict) -> dict:
    """Validate solution variables against the instance (shape U, types, ranges)."""
    return validate(VARIABLES, variables, KEY, prefix="variables.", dims={"U": (inst.U, "the instance's users")})


def user_success(inst, o, bandwidth_hz, power_w, model: str = "exact") -> np.ndarray:
    """``Phi_i = eta(o_i) P(t_i <= t0)`` (eq. 11), unweighted, for every user."""
    x = outage_argument(o, bandwidth_hz, power_w, **inst.channel())
    return eta(o, inst.eta_profile.zeta) * success(x, model)


def evaluate(inst, v: dict) -> Evaluation:
    """Check every constraint, list every violation, and sum ``beta w Phi`` (eq. 13)."""
    o, B, P = v["compression"], v["bandwidth_hz"], v["power_w"]
    sel = v["selected"] == 1
    viol: list[str] = []
    for i in np.nonzero(~((o > 0) & (o < 1)))[0]:                                         # 14e
        viol.append(f"user {i}: compression {o[i]:g} not in (0, 1) (14e)")
    used_b, used_p = float(B[sel].sum()), float(P[sel].sum())
    if used_b > inst.bandwidth_max_hz * (1 + RTOL):                                       # 14a
        viol.append(f"bandwidth {used_b:.9g} Hz of selected users > B_max {inst.bandwidth_max_hz:.9g} Hz (14a)")
    if used_p > inst.power_max_w * (1 + RTOL):                                            # 14c
        viol.append(f"power {used_p:.9g} W of selected users > P_max {inst.power_max_w:.9g} W (14c)")
    for i in np.nonzero(sel & (B < inst.bandwidth_min_hz * (1 - RTOL)))[0]:                # 14b
        viol.append(f"user {i}: bandwidth {B[i]:.6g} Hz < B_min {inst.bandwidth_min_hz:.6g} Hz (14b)")
    for i in np.nonzero(sel & (P < inst.power_min_w * (1 - RTOL)))[0]:                     # 14d
        viol.append(f"user {i}: power {P[i]:.6g} W < P_min {inst.power_min_w:.6g} W (14d)")
    oc = np.clip(o, 0.0, 1.0)
    objective, eq20 = (float((inst.weight * np.where(sel, user_success(inst, oc, B, P, m), 0.0)).sum())
                       for m in ("exact", "approx"))                                     # eq. 13; eq. 20
    return Evaluation(not viol, objective, viol, {"objective_eq20": eq20, "mean_success": objective / inst.U,
                                                  "mean_success_eq20": eq20 / inst.U})     # Figs. 4-8
