"""Statuses of :func:`semalloc.solve` when an algorithm fails or runs out of time."""
from __future__ import annotations

import numpy as np
import pytest

import semalloc


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
