"""Statuses of :func:`semalloc.solve` when an algorithm fails or runs out of time."""
from __future__ import annotations

import numpy as np
import pytest

import semalloc
from semalloc.rl.sbq_drl import AGENTS


def test_an_algorithm_that_raises_is_an_error_result_and_a_time_limit_a_time_limit(monkeypatch):
    """An algorithm's exception is a Result with status ``error`` and its message (no crash);
    running out of time before any allocation is status ``time_limit`` (offloading ``exact``)."""
    from semalloc.errors import TimeLimit
    from semalloc.solve import Algorithm
    prob = semalloc.get_problem("multicell")
    inst = semalloc.generate("multicell", seed=0, devices=3, base_stations=2)

    def boom(inst):
        raise ZeroDivisionError("a bug")

    def late(inst):
        raise TimeLimit("no allocation within 0.1 s")

    for name, fn, status, msg in (("boom", boom, "error", "ZeroDivisionError: a bug"),
                                  ("late", late, "time_limit", "no allocation within 0.1 s")):
        monkeypatch.setitem(prob.algorithms, name, Algorithm(name, fn, "test"))
        res = semalloc.solve(inst, name)
        assert (res.status, res.message, res.variables) == (status, msg, {})
        assert np.isnan(res.objective) and res.stats["time_s"] >= 0
    off = semalloc.generate("offloading", seed=0, terminals=6, base_stations=2, subcarriers=4)
    assert semalloc.solve(off, "exact", time_limit=1e-9).status == "time_limit"


def test_an_algorithm_taking_any_keyword_gets_its_options_unchecked(monkeypatch):
    """A plugin's ``**options`` are its own to check; named options keep their checks."""
    from semalloc.solve import Algorithm, check_options
    prob = semalloc.get_problem("multicell")

    def loose(inst, seed: int = 0, **options):
        return {}, "feasible", {}, ""

    monkeypatch.setitem(prob.algorithms, "loose", Algorithm("loose", loose, "test"))
    assert check_options("multicell", "loose", {"anything": "x", "seed": 3}) == {"anything": "x", "seed": 3}
    with pytest.raises(semalloc.InputError, match="seed"):
        check_options("multicell", "loose", {"seed": -1})


def test_the_groups_split_the_statuses_and_result_feasible_reads_them():
    """SOLUTION_PRESENT and FAILED split STATUSES exactly (each status in one);
    CERTIFIED is the statuses with a proof; the constants are the strings."""
    from semalloc import result
    assert result.STATUSES == ("optimal", "feasible", "infeasible", "time_limit", "error")
    assert (result.OPTIMAL, result.FEASIBLE, result.INFEASIBLE, result.TIME_LIMIT, result.ERROR) == result.STATUSES
    present, failed = set(result.SOLUTION_PRESENT), set(result.FAILED)
    assert present | failed == set(result.STATUSES) and not present & failed
    assert len(result.SOLUTION_PRESENT) + len(result.FAILED) == len(result.STATUSES)
    assert set(result.CERTIFIED) == {"optimal", "infeasible"}
    for status in result.STATUSES:
        r = semalloc.Result("multicell", "x", status, 1.0, {"bs": np.zeros(1)})
        assert r.feasible == (status in ("optimal", "feasible", "time_limit"))


@pytest.mark.parametrize("bad", ["solved", "Optimal", "", None, 1])
def test_an_unknown_status_is_an_error_naming_the_algorithm_and_the_status(monkeypatch, bad):
    """An algorithm returning a status outside STATUSES is a bug: status ``error``,
    the message names the algorithm and the status, the variables are dropped."""
    from semalloc.solve import Algorithm
    prob = semalloc.get_problem("multicell")
    inst = semalloc.generate("multicell", seed=0, devices=3, base_stations=2)
    prop = semalloc.solve(inst, "prop").variables            # a feasible allocation, wrongly labelled

    monkeypatch.setitem(prob.algorithms, "odd", Algorithm("odd", lambda inst: (prop, bad, {"n": 1}, ""), "test"))
    res = semalloc.solve(inst, "odd")
    assert (res.status, res.variables, res.feasible) == ("error", {}, False)
    assert np.isnan(res.objective) and res.stats["n"] == 1 and res.stats["time_s"] >= 0
    assert f"algorithm 'odd' returned the unknown status {bad!r}" in res.message


#: Tiny instances on which every built-in algorithm runs in well under a second
#: (offloading and sbq ``exact`` enumerate; training ``exact`` with few starts).
TINY = {"multicell": {"devices": 3, "base_stations": 2, "rbs": [4, 6]},
        "offloading": {"terminals": 3, "base_stations": 2, "subcarriers": 2},
        "compression": {"users": 3},
        "training": {"devices": 3},
        "sbq": {"users": 2, "antennas": 2, "subchannels": 2}}
OPTIONS = {("training", "exact"): {"starts": 2}}


@pytest.mark.parametrize("key", list(TINY))
def test_every_built_in_algorithm_returns_a_known_status(key):
    """Each algorithm's own return (before ``solve`` checks it) carries a status of STATUSES."""
    from semalloc.result import STATUSES
    from semalloc.solve import _allocation
    prob = semalloc.get_problem(key)
    inst = semalloc.generate(key, seed=1, **TINY[key])
    names = [a for a in prob.algorithms if a not in AGENTS]   # trained agents: tests/test_rl_*.py
    assert len(names) >= 4
    for name in names:
        out = _allocation(prob.algorithms[name].run(inst, **OPTIONS.get((key, name), {})), name)
        assert out.status in STATUSES, (name, out.status)


def test_a_feasible_allocation_whose_objective_overflows_is_an_error_not_a_feasible_nan():
    """Weights of 1e308 are inside the documented range, but a sum of them overflows: the result is not a
    "feasible" allocation with no objective (as an audit found) but an error that says why."""
    import semalloc
    inst = semalloc.generate("compression", seed=0, users=3, level_weights=[1e308])
    res = semalloc.solve(inst, "crra")
    assert res.status == "error" and not res.feasible and "overflow" in res.message
