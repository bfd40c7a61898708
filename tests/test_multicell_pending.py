"""Tests that currently FAIL because of bugs in src/ (see each test's docstring).

They are kept here, at full strength, until the bugs are fixed; then they move
back to the test module named in each docstring. Run them with
``.venv/bin/python -m pytest tests/test_multicell_pending.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import semalloc
from semalloc.problems.multicell.scheduling import schedule, utility_tables
from test_multicell_algorithms import ALGORITHMS, SAFE_EXTREMES, check_result, instances
from test_multicell_scheduling import brute_tables, copy_with_rbs
from test_multicell_scheduling import instance_kw as table_kw

#: The full range of extreme settings the issue asks for.
ALL_EXTREMES = {
    **SAFE_EXTREMES,
    "area_m": st.sampled_from([50.0, 1000.0, 1e5]),   # 1e5: a device out of every BS's reach
    "deadline_s": st.sampled_from([1e-3, 5e-3, 0.1]),
    "power_max_w": st.sampled_from([1e-4, 0.02, 2.0]),
}

#: Instances on which ``solve`` currently returns ``error`` (found by hypothesis).
BUG1_CASES = [
    # a device out of reach of both BSs (from the extreme settings)
    dict(seed=0, devices=1, base_stations=2, rbs=[1], utility="accuracy", area_m=1e5),
    # the paper's own distribution, nothing overridden but the sizes
    dict(seed=975527490, devices=7, base_stations=2, rbs=[3, 8, 15], utility="inverse_error", applications=3),
    dict(seed=178485358, devices=7, base_stations=2, rbs=[3, 8, 15], utility="accuracy"),
    # moderate settings
    dict(seed=542190709, devices=6, base_stations=2, rbs=[3, 8, 15], utility="accuracy", power_max_w=0.02),
]


def _with_examples(cases):
    def deco(fn):
        for kw in cases:
            fn = example(kw=kw)(fn)
        return fn
    return deco


# ----------------------------------------------------------------------------- bug 1

@settings(max_examples=150)
@given(kw=instances(extremes=ALL_EXTREMES))
@_with_examples(BUG1_CASES)
def test_every_algorithm_passes_evaluate_all_extremes(kw):
    """BUG 1 (test_multicell_algorithms.py). Schedules built from the Stage-1
    tables break the power or energy budget by 1e-8..1e-6 relative (evaluate
    allows 1e-9), so prop/arb/nua/exact/best return status ``error``.

    Where it happens: the optimum sends a vanishing number of bits (A_d(0+) =
    beta1 + beta3 > 0, so d -> 0 still earns accuracy) with the transmission
    time tau = T - c/f or the SNR a*P tiny. Then ``T - c/f`` and
    ``log2(1 + a P)`` (in ``bits_per_rb``) and ``exp2(x) - 1`` (in
    ``schedule``) lose ~eps*T/tau or ~eps/(a P) relative precision, far more
    than ``SAFETY = 1e-9``."""
    inst = semalloc.generate("multicell", **kw)
    for name in ALGORITHMS:
        check_result(inst, semalloc.solve(inst, name))


@settings(max_examples=25)
@given(kw=table_kw, scheme=st.sampled_from(["adaptive", "raw", "fixed"]))
@example(kw=dict(seed=163, devices=3, base_stations=2, rbs=[1], utility="accuracy", area_m=5000.0),
         scheme="adaptive")
def test_every_table_entry_is_achievable(kw, scheme):
    """BUG 1 again, at the table level (test_multicell_scheduling.py): all
    devices on BS m with z RBs each (capacity raised so every z fits) must be
    accepted by evaluate, with the column sum of the table as objective.
    Example: seed 163 gives device 2 on BS 0 with 1 RB a semantic entry
    sending 7.9e-9 bits at power 0.2000000345 W > P_max = 0.2 W."""
    inst = semalloc.generate("multicell", **kw)
    Z = int(inst.base_stations.rbs.max())
    tab = utility_tables(inst, scheme)
    big = copy_with_rbs(inst, [inst.N * Z] * inst.M)
    N = inst.N
    for m in range(inst.M):
        for z in range(1, Z + 1):
            var = schedule(big, tab, np.full(N, m), np.full(N, z))
            ev = semalloc.evaluate(big, var)
            assert ev.feasible, (m, z, ev.violations)
            assert ev.objective == pytest.approx(tab.util[:, m, z].sum(), rel=1e-6, abs=1e-12)


# ----------------------------------------------------------------------------- bug 2

@pytest.mark.parametrize("utility", ["accuracy", "inverse_error"])
def test_zero_energy_budget_gives_zero_utility(utility):
    """BUG 2 (test_multicell_scheduling.py). ``energy_j = 0`` is valid (the
    schema allows >= 0) but ``utility_tables`` crashes with IndexError: c_cap
    = 0 makes log(c_hi) = -inf, the grid NaN, and the NaN index cast to int."""
    inst = semalloc.generate("multicell", seed=1, devices=4, base_stations=2, rbs=[10], energy_j=0.0,
                             utility=utility)
    assert (utility_tables(inst).util == 0).all()
    for name in ALGORITHMS:
        res = semalloc.solve(inst, name)
        assert res.status in ("optimal", "feasible"), res.message
        assert res.objective == 0.0 and (np.asarray(res.variables["bs"]) == -1).all()


# ----------------------------------------------------------------------------- shortfall 3

@settings(max_examples=25)
@given(kw=table_kw)
@example(kw=dict(seed=0, devices=6, base_stations=2, rbs=[12], utility="inverse_error"))
def test_utility_tables_within_1e_4_of_dense_grid_over_c(kw):
    """SHORTFALL 3 (test_multicell_scheduling.py keeps a 1e-2 version). The
    issue asks that every table entry be at least the best of a dense grid over
    c minus 1e-4 relative. The tables maximise u with g(c) interpolated along
    chords of a 48-point log grid over ~18 decades of c (from C exp(-eta2/eta1)),
    which undershoots the concave g: entries fall short by up to ~0.25%
    (inverse_error) and ~0.02% (accuracy)."""
    inst = semalloc.generate("multicell", **kw)
    tab = utility_tables(inst)
    Z = int(inst.base_stations.rbs.max())
    ref = brute_tables(inst, Z)
    scale = np.maximum(np.abs(ref), 1e-12)
    short = (ref - tab.util) / scale
    assert (short <= 1e-4).all(), (np.unravel_index(np.argmax(short), short.shape), short.max())
