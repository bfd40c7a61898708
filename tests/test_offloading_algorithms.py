"""Every registered offloading algorithm against the independent evaluator,
the stability of both swap matchings by brute force (Proposition 1), the
monotone BCD trace, ``exact`` against every algorithm on tiny instances,
input validation, and the paper's findings averaged over seeds."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semalloc
from semalloc.errors import InputError
from semalloc.problems.offloading.algorithms import BCD_VARIANTS, _subcarrier_moves, bcd, start
from semalloc.problems.offloading.evaluate import delays, parse_variables
from semalloc.problems.offloading.matching import match_association, match_subcarriers
from semalloc.problems.offloading.model import Model, State, alone_delay, initial_state, unreachable
from semalloc.solvers.matching import swap_blocking

PROBLEM = semalloc.get_problem("offloading")
PAPER = ("bcd", "linear", "ftm", "fa", "uc")          # Alg. 4 and its baselines (Sec. IV-C)
HEURISTICS = (*PAPER, "raw")
seeds = st.integers(0, 2**32 - 1)


def test_registry_lists_the_paper_algorithms_exact_and_best():
    assert set(PROBLEM.algorithms) == {*HEURISTICS, "exact", "best"}
    assert PROBLEM.sense == "max"


EXTREMES = {
    "area_m": st.sampled_from([50.0, 500.0, 5000.0]),
    "shadowing_db": st.sampled_from([0.0, 8.0, 16.0]),
    "edge_cpu_hz": st.sampled_from([1e9, 2048 * 0.96e9, 1e14]),
    "compression": st.sampled_from([1.0, [1.0, 5.0], 50.0]),
    "deadline_s": st.sampled_from([1e-3, [0.5, 1.0], 100.0]),
    "subcarrier_bandwidth_hz": st.sampled_from([1e4, 1e6]),
    "exit_points": st.integers(1, 3),
}


def instances(terminals=(1, 8), base_stations=(1, 3), subcarriers=(1, 6)):
    return st.fixed_dictionaries({"seed": seeds, "terminals": st.integers(*terminals),
                                  "base_stations": st.integers(*base_stations),
                                  "subcarriers": st.integers(*subcarriers), "tasks": st.integers(1, 4)},
                                 optional=EXTREMES)


def check(inst, res):
    """Feasible and agreeing with the evaluator; or ``infeasible`` only when proven (the
    delay lower bound, or exact's enumeration), ``error`` otherwise, the terminals named."""
    ev = semalloc.evaluate(inst, res.variables)
    v = res.variables
    assert v["bs"].shape == (inst.U,) and v["subcarriers"].shape == (inst.U, inst.N)
    bad, _ = unreachable(inst)
    if res.status in ("feasible", "optimal"):
        assert ev.feasible, ev.violations
        assert ev.objective == pytest.approx(res.objective, rel=1e-12, abs=1e-12)
        assert len(bad) == 0
    else:
        assert not ev.feasible
        assert all(("deadline" in x or "not associated" in x) for x in ev.violations), ev.violations
        assert "terminal" in res.message
        if len(bad):
            assert res.status == "infeasible"
        else:
            assert res.status == ("infeasible" if res.algorithm == "exact" else "error")
    # structural constraints hold whatever happens: one terminal per subcarrier per BS, CPU budgets
    bs, rho = v["bs"], v["subcarriers"]
    for k in range(inst.K):
        assert rho[bs == k].sum(axis=0).max(initial=0) <= 1
        assert v["cpu_hz"][bs == k].sum() <= inst.base_stations.cpu_hz[k] * (1 + 1e-9)
    # no allocation beats the lower bound behind the infeasibility proofs
    t = np.add(*delays(inst, parse_variables(inst, v)))
    assert np.all(t >= alone_delay(inst) * (1 - 1e-12))
    return ev


@settings(max_examples=25)
@given(kw=instances())
def test_every_heuristic_passes_evaluate(kw):
    inst = semalloc.generate("offloading", **kw)
    for name in HEURISTICS:
        check(inst, semalloc.solve(inst, name))


@settings(max_examples=15)
@given(kw=instances(terminals=(1, 8), base_stations=(1, 3), subcarriers=(1, 6)))
def test_best_passes_evaluate_and_is_at_least_bcd(kw):
    inst = semalloc.generate("offloading", **kw)
    b, ours = semalloc.solve(inst, "bcd"), semalloc.solve(inst, "best", time_limit=2.0)
    check(inst, ours)
    if b.status == "feasible":
        assert ours.objective >= b.objective - 1e-9 * abs(b.objective)


@pytest.mark.parametrize("seed, kw", [
    (77, dict(terminals=4, base_stations=2, subcarriers=2, tasks=1, compression=[1.0, 1.2])),
    (83, dict(terminals=5, base_stations=2, subcarriers=3)),
    (298, dict(terminals=6, base_stations=2, subcarriers=3))])
def test_best_is_at_least_every_baseline_where_bcds_start_is_not_the_best(seed, kw):
    """An audit of 300 small instances found baselines above ``best`` (``fa`` by 6.3 % on the first, ``raw``
    by 2.7 % on the others) when ``best`` searched from bcd's answer alone; it now also searches from the
    best baseline's answer when that is better, and reaches ``exact`` on these three."""
    inst = semalloc.generate("offloading", seed=seed, **kw)
    ours, ex = semalloc.solve(inst, "best"), semalloc.solve(inst, "exact")
    check(inst, ours)
    for name in BCD_VARIANTS:
        r = semalloc.solve(inst, name)
        if r.status == "feasible":
            assert ours.objective >= r.objective - 1e-9 * abs(r.objective), name
    assert ours.stats["start"] != "bcd" and ours.objective >= ex.objective * (1 - 1e-9)


@pytest.mark.parametrize("name", [*HEURISTICS, "best", "exact"])
def test_provably_infeasible_instances_are_infeasible_with_the_terminal_named(name):
    crowded = semalloc.generate("offloading", seed=1, terminals=5, base_stations=1, subcarriers=2)
    res = semalloc.solve(crowded, name)
    assert res.status == "infeasible" and "U = 5" in res.message
    rushed = semalloc.generate("offloading", seed=1, terminals=3, base_stations=2, subcarriers=2, deadline_s=1e-3)
    bad, _ = unreachable(rushed)
    assert len(bad)
    res = semalloc.solve(rushed, name)
    assert res.status == "infeasible" and f"terminal {bad[0]}: at least" in res.message


@settings(max_examples=10)
@given(kw=st.fixed_dictionaries({"seed": seeds, "terminals": st.integers(1, 3), "base_stations": st.integers(1, 2),
                                 "subcarriers": st.integers(1, 3), "tasks": st.integers(1, 3)},
                                optional={"deadline_s": st.sampled_from([2e-3, 5e-3, 2e-2]),
                                          "area_m": st.sampled_from([100.0, 2000.0])}))
def test_the_infeasibility_proof_is_sound_and_exact_agrees(kw):
    """What the lower bound calls infeasible, exact's enumeration finds infeasible too."""
    inst = semalloc.generate("offloading", **kw)
    if len(unreachable(inst)[0]):
        assert semalloc.solve(inst, "exact").status == "infeasible"


# ----------------------------------------------------------------------------- Proposition 1

def _brute_association_blocking(m: Model, st: State) -> list:
    """Every pair (u, u') at different BSs whose swap (eq. 15) is swap-blocking, by full recomputation."""
    def costs(s):
        return m.cost(m.rates(s.occ), s.e, s.f)
    now = costs(st)
    found = []
    for u in range(m.U):
        for p in range(m.U):
            k, kp = st.bs[u], st.bs[p]
            if k < 0 or kp < 0 or k == kp:
                continue
            s = st.copy()
            s.occ = np.where(st.occ == u, p, np.where(st.occ == p, u, st.occ))
            s.bs[[u, p]], s.f[[u, p]] = st.bs[[p, u]], st.f[[p, u]]
            c = costs(s)
            before = [now[u], now[p], now[st.bs == k].sum(), now[st.bs == kp].sum()]
            after = [c[u], c[p], c[s.bs == k].sum(), c[s.bs == kp].sum()]
            if swap_blocking(np.array([before]), np.array([after]))[0]:
                found.append((u, p))
    return found


def _brute_subcarrier_blocking(m: Model, st: State) -> list:
    """Every exchange (eq. 20) of a subcarrier with another of the same BS that is swap-blocking."""
    now_links = m.link_rates(st.occ)
    now = m.cost(m.rates(st.occ), st.e, st.f)
    found = []
    for k in range(m.K):
        for n in range(m.N):
            u = st.occ[k, n]
            for n2 in range(m.N):
                v = st.occ[k, n2]
                if u < 0 or v == u:
                    continue
                occ = st.occ.copy()
                occ[k, n], occ[k, n2] = v, u
                links = m.link_rates(occ)
                c = m.cost(m.rates(occ), st.e, st.f)
                before = [now[u], now[v] if v >= 0 else np.nan, -now_links[:, n].sum(), -now_links[:, n2].sum()]
                after = [c[u], c[v] if v >= 0 else np.nan, -links[:, n].sum(), -links[:, n2].sum()]
                if swap_blocking(np.array([before]), np.array([after]))[0]:
                    found.append((k, n, n2))
    return found


@settings(max_examples=15)
@given(kw=instances(terminals=(2, 9), base_stations=(2, 3), subcarriers=(1, 5)), seed=st.integers(0, 5))
def test_matchings_end_with_no_swap_blocking_pair(kw, seed):
    inst = semalloc.generate("offloading", **kw)
    m = Model(inst)
    st_ = initial_state(m, seed, bs=np.random.default_rng(seed).integers(0, inst.K, inst.U))  # random start
    m.semantic_and_cpu(st_)
    rep = match_association(m, st_)
    assert rep.stable and _brute_association_blocking(m, st_) == []
    rep = match_subcarriers(m, st_)
    assert rep.stable and _brute_subcarrier_blocking(m, st_) == []


@settings(max_examples=15)
@given(kw=instances(terminals=(2, 12), base_stations=(1, 4), subcarriers=(1, 8)))
def test_bcd_reward_never_decreases(kw):
    inst = semalloc.generate("offloading", **kw)
    m = Model(inst)
    _, stats = bcd(m, start(m, 0))
    trace = np.array(stats["trace"])
    ok = np.isfinite(trace)
    assert np.all(np.diff(trace[ok]) >= -1e-9 * np.abs(trace[ok][1:])) if ok.sum() > 1 else True


# ----------------------------------------------------------------------------- exact

@settings(max_examples=8)
@given(kw=st.fixed_dictionaries({"seed": seeds, "terminals": st.integers(1, 3), "base_stations": st.integers(1, 2),
                                 "subcarriers": st.integers(1, 4), "tasks": st.integers(1, 3)},
                                optional={"area_m": st.sampled_from([100.0, 500.0]),
                                          "edge_cpu_hz": st.sampled_from([1e10, 2e12])}))
def test_exact_is_at_least_every_algorithm_on_tiny_instances(kw):
    inst = semalloc.generate("offloading", **kw)
    ex = semalloc.solve(inst, "exact")
    check(inst, ex)
    if ex.status != "optimal":
        return
    assert "enumeration" in ex.stats["certificate"]
    for name in (*HEURISTICS, "best"):
        r = semalloc.solve(inst, name, **({"time_limit": 2.0} if name == "best" else {}))
        if r.status == "feasible":
            assert ex.objective >= r.objective - 1e-7 * max(1.0, abs(r.objective)), name


def test_exact_refuses_large_instances_naming_the_instance():
    inst = semalloc.generate("offloading", seed=0, terminals=8, base_stations=3, subcarriers=6)
    with pytest.raises(InputError, match="too large for exact"):
        semalloc.solve(inst, "exact")


# ----------------------------------------------------------------------------- validation

def test_generator_rejects_unknown_and_bad_settings():
    with pytest.raises(InputError, match="offloading: nonsense: unknown setting"):
        semalloc.generate("offloading", nonsense=1)
    with pytest.raises(InputError, match="exit_points"):
        semalloc.generate("offloading", exit_points=4)
    with pytest.raises(InputError, match="terminals"):
        semalloc.generate("offloading", terminals=0)


@pytest.mark.parametrize("path, value, field", [
    (("base_stations", "cpu_hz"), -1.0, "base_stations.cpu_hz[0]"),
    (("tasks", "compression"), 0.5, "tasks.compression[0]"),
    (("tasks", "deadline_s"), float("nan"), "tasks.deadline_s[0]"),
    (("terminals", "task"), 99, "terminals.task[0]"),
])
def test_bad_instance_fields_are_named(path, value, field):
    d = semalloc.generate("offloading", seed=0, terminals=3, base_stations=2, subcarriers=2).to_dict()
    arr = list(d[path[0]][path[1]])
    arr[0] = value
    d[path[0]][path[1]] = arr
    with pytest.raises(InputError, match="offloading: " + re.escape(field)):
        PROBLEM.instance_type.from_dict(d)


def test_bad_solution_fields_are_named():
    inst = semalloc.generate("offloading", seed=0, terminals=3, base_stations=2, subcarriers=2)
    v = semalloc.solve(inst, "bcd").variables
    with pytest.raises(InputError, match=r"variables.bs\[0\]"):
        semalloc.evaluate(inst, {**v, "bs": [5, 0, 0]})
    with pytest.raises(InputError, match="variables.subcarriers"):
        semalloc.evaluate(inst, {**v, "subcarriers": [[1, 0, 0]] * 3})


# ----------------------------------------------------------------------------- the paper's findings

@pytest.fixture(scope="module")
def default_runs():
    """The evaluator's reward and feasibility of every heuristic and best on 8 default instances."""
    runs = {a: [] for a in (*PAPER, "best")}
    for seed in range(8):
        inst = semalloc.generate("offloading", seed=seed)
        for a in runs:
            res = semalloc.solve(inst, a)
            ev = semalloc.evaluate(inst, res.variables)
            runs[a].append((ev.objective, ev.feasible))
    return {a: np.array(r) for a, r in runs.items()}


def test_bcd_beats_every_baseline_and_ftm_loses_most_on_the_default_scenario(default_runs):
    """Sec. IV-C, Fig. 2: bcd > Linear, FA, UC, FTM, FTM by the widest margin (sum over 8 seeds)."""
    total = {a: r[:, 0].sum() for a, r in default_runs.items()}
    assert all(total["bcd"] > total[a] for a in PAPER[1:]), total
    assert min((total[a], a) for a in PAPER)[1] == "ftm", total


def test_every_default_instance_is_met_by_bcd_and_best(default_runs):
    """The paper's default scenario is feasible: every deadline met (the paper's initial point meets (9h)')."""
    assert default_runs["bcd"][:, 1].all() and default_runs["best"][:, 1].all()


def test_best_is_at_least_bcd_on_every_default_instance(default_runs):
    b, ours = default_runs["bcd"][:, 0], default_runs["best"][:, 0]
    assert np.all(ours >= b - 1e-9 * np.abs(b)), (ours, b)


@pytest.mark.slow
@pytest.mark.parametrize("setting", [{"exit_points": 1}, {"terminals": 10}, {"terminals": 30},
                                     {"edge_cpu_hz": 122880000000.0}, {"subcarrier_bandwidth_hz": 500000.0},
                                     {"compression": 5.0}])
def test_best_is_at_least_bcd_on_the_paper_sweeps(setting):
    for seed in range(6):
        inst = semalloc.generate("offloading", seed=seed, **setting)
        b, ours = semalloc.solve(inst, "bcd"), semalloc.solve(inst, "best")
        check(inst, ours)
        if b.status == "feasible":
            assert ours.status == "feasible" and ours.objective >= b.objective - 1e-9 * abs(b.objective)


@pytest.mark.slow
def test_early_exit_raises_the_reward():
    """Remark 2, Figs. 3-6: M = 3 exit points beat M = 1 (sum over seeds, bcd)."""
    def total(M):
        return sum(semalloc.solve(semalloc.generate("offloading", seed=s, exit_points=M), "bcd").objective
                   for s in range(6))
    assert total(3) > total(1)


# ----------------------------------------------------------------------------- best's incremental scoring

@settings(max_examples=15)
@given(kw=instances(terminals=(2, 10), base_stations=(1, 4), subcarriers=(2, 8)))
def test_single_subcarrier_scores_match_a_full_recomputation(kw):
    """best scores a move from the changed column only; it must equal recomputing every rate."""
    inst = semalloc.generate("offloading", **kw)
    m = Model(inst)
    st_ = start(m, 0)
    ks, ns, vs = _subcarrier_moves(st_, m.U)
    if len(ks) == 0:
        return
    col = st_.occ[:, ns].T.copy()
    col[np.arange(len(ks)), ks] = vs
    links = m.link_rates(st_.occ)
    delta, new_links = m.column_delta(st_.occ, links, ns, col)
    occ = np.repeat(st_.occ[None], len(ks), axis=0)
    occ[np.arange(len(ks)), ks, ns] = vs
    full = m.rates(occ)
    assert np.allclose(m.rates(st_.occ, links) + delta, full, rtol=1e-9, atol=1e-6)
    assert np.allclose(new_links, m.link_rates(occ)[np.arange(len(ks)), :, ns], rtol=1e-12, atol=0)
