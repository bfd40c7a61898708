"""sbq algorithms: feasibility on random and extreme slots, exact >= every algorithm, bits dominance."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semalloc
from semalloc.problems.sbq.beams import min_bits
from semalloc.problems.sbq.evaluate import outcome, parse_variables

HEURISTICS = ["mapping", "mapping-equal", "fixed-bits", "equal", "random", "best"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), K=st.integers(1, 7), M=st.integers(1, 3), Nt=st.integers(1, 4),
       power=st.sampled_from([1e-6, 1.0, 100.0]), band=st.sampled_from([1e3, 1.8e6, 1e9]),
       deadline=st.sampled_from([1e-7, 2e-4, 10.0]))
def test_every_algorithm_is_feasible_on_random_and_extreme_slots(seed, K, M, Nt, power, band, deadline):
    inst = semalloc.generate("sbq", seed=seed, users=K, subchannels=M, antennas=Nt, power_max_w=power,
                             bandwidth_hz=band, deadline_s=deadline)
    for a in HEURISTICS:
        r = semalloc.solve(inst, a)
        assert r.status == "feasible", (a, r.message)
        assert semalloc.evaluate(inst, r.variables).feasible


@pytest.mark.parametrize("seed, power", [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (5, 0.002), (5, 0.003)])
def test_exact_is_certified_and_at_least_every_algorithm_where_no_subchannel_is_shared(seed, power):
    """One antenna: one user per subchannel, whose best beam is its channel's direction, so the optimum over
    zero-forcing beams is the optimum over every beam: ``optimal``, its bound within ``tol`` (and rounding:
    seed 5 at 2 mW said ``feasible`` when exact beat ``best`` by a hair over ``tol``, the review's case)."""
    inst = semalloc.generate("sbq", seed=seed, users=2, antennas=1, subchannels=2, power_max_w=power)
    ex = semalloc.solve(inst, "exact")
    assert ex.status == "optimal" and ex.objective <= ex.stats["bound"] <= ex.objective + ex.stats["tol"] + 1e-9
    for a in HEURISTICS:
        assert semalloc.solve(inst, a).objective <= ex.stats["bound"], a


@pytest.mark.parametrize("seed", range(4))
def test_exacts_bound_covers_every_algorithm_on_tiny_slots_with_shared_subchannels(seed):
    """Two antennas: a shared subchannel is bounded over every beam by the interference-free relaxation; the
    bound is above every algorithm's objective (the agents' MRT-ZF beams included), and ``optimal`` only
    when it is within ``tol`` of exact's answer."""
    inst = semalloc.generate("sbq", seed=seed, users=2, antennas=2, subchannels=2)
    ex = semalloc.solve(inst, "exact")
    bound, tol = ex.stats["bound"], ex.stats["tol"]
    assert ex.objective <= bound and (ex.status == "optimal") == (bound <= ex.objective + tol * (1 + 1e-9))
    for a in HEURISTICS:
        assert semalloc.solve(inst, a).objective <= bound, a


def test_beams_beyond_zero_forcing_beat_exacts_answer_so_it_is_not_called_optimal():
    """A slot where min-power beams (an SOCP's, stored) beat the zero-forcing optimum by 10 %: exact must not
    say ``optimal``, and its bound must cover them."""
    d = json.loads((Path(__file__).parent / "data" / "sbq_beyond_zf.json").read_text())
    inst = semalloc.generate("sbq", seed=d["seed"], **d["settings"])
    other = semalloc.evaluate(inst, d["variables"])
    ex = semalloc.solve(inst, "exact")
    assert other.feasible and other.objective > 1.05 * ex.objective
    assert ex.status == "feasible" and ex.stats["bound"] >= other.objective


def test_a_search_stopped_at_its_box_cap_certifies_nothing():
    """branch_and_reduce stopped by ``max_boxes`` returns the bound of the boxes left, which exact turns into
    ``feasible``: here, a cap of one round leaves a bound well above the value."""
    from semalloc.problems.sbq.algorithms import branch_and_reduce
    inst = semalloc.generate("sbq", seed=322, users=3, subchannels=1, antennas=3, qos_weight=0.0)
    sub, q = np.zeros(3, dtype=np.int64), min_bits(inst)
    v, _, _, ub, _ = branch_and_reduce(inst, sub, q, tol=1e-8, max_boxes=1)
    v_full, _, _, ub_full, _ = branch_and_reduce(inst, sub, q, tol=1e-4)
    assert ub > v + 1e-4 and ub >= v_full - 1e-9 and ub_full <= v_full + 1e-4


def test_exact_refuses_three_subchannels_which_its_bandwidth_split_cannot_do():
    with pytest.raises(semalloc.errors.InputError, match="max_subchannels: at most 2"):
        semalloc.solve(semalloc.generate("sbq", seed=6, users=3, subchannels=3, antennas=1), "exact",
                       max_subchannels=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_exact_three_users(seed):
    inst = semalloc.generate("sbq", seed=seed, users=3, antennas=2, subchannels=2)
    ex = semalloc.solve(inst, "exact", time_limit=600)
    for a in HEURISTICS:
        assert semalloc.solve(inst, a).objective <= ex.objective + 1e-3, a


def test_exact_refuses_large_slots():
    with pytest.raises(semalloc.errors.InputError, match="too large for exact"):
        semalloc.solve(semalloc.generate("sbq", seed=0), "exact")


@pytest.mark.parametrize("seed", range(4))
def test_q_min_dominates_every_other_bit_choice(seed):
    """Raising a served user's bits above q_min never raises its score (docs/models-sbq.md, "Bits")."""
    inst = semalloc.generate("sbq", seed=seed)
    r = semalloc.solve(inst, "best")
    base = outcome(inst, parse_variables(inst, r.variables)).score
    qmin = min_bits(inst)
    for q in range(1, 9):
        v = dict(r.variables, bits=np.full(inst.K, q))
        score = outcome(inst, parse_variables(inst, v)).score
        served = r.variables["subchannel"] >= 0
        assert np.all(score[served] <= base[served] + 1e-12)
        assert np.all(score[q < qmin] == 0.0)


def test_best_beats_baselines_on_average():
    """Our optimiser beats the mapping-guided paradigm and every model-based baseline over seeds."""
    objs = {a: np.mean([semalloc.solve(semalloc.generate("sbq", seed=s), a).objective for s in range(8)])
            for a in HEURISTICS}
    assert objs["best"] >= max(objs.values())
    assert objs["best"] >= 1.1 * objs["mapping"]


@pytest.mark.parametrize("power", [0.01, 1.0])
def test_best_is_near_the_best_of_every_assignment_where_one_greedy_start_was_not(power):
    """``best`` against ``allocate`` on every assignment (5 users, 3 subchannels: 1024 of them), 6 slots:
    within 1 % on average; the same local search from the one greedy start over every subchannel (``best``
    before its starts were the subsets of subchannels) stays more than 1.5 % below at P_max = 0.01 W
    (docs/models.md, "best's starts"). Every value here is ``allocate``'s but ``best``'s own, whose power
    and bandwidth are polished (never below ``allocate``'s on its assignment, ``allocated``)."""
    from semalloc.problems.sbq import algorithms as A
    from semalloc.problems.sbq.beams import min_bits
    rows = []
    for seed in range(6):
        inst = semalloc.generate("sbq", seed=seed, users=5, power_max_w=power)
        q = min_bits(inst)
        users = np.nonzero(q <= 8)[0]
        res = semalloc.solve(inst, "best")
        assert res.feasible and np.isclose(res.objective, res.stats["model_objective"], rtol=1e-9)
        one = A.local_search(inst, q, A.greedy_subchannels(inst, users))[3]["model_objective"]
        every = max(A.allocate(inst, sub, q)[0] for sub in A._assignments(inst, users))
        assert one - 1e-9 <= res.objective and res.stats["allocated"] <= every + 1e-9
        assert res.objective >= res.stats["allocated"] - 1e-12
        rows.append((one, res.objective, every))
    one, found, every = np.mean(rows, axis=0)
    assert found >= 0.99 * every
    if power == 0.01:
        assert one < 0.985 * every


def test_bests_polish_reaches_the_certified_power_and_bandwidth_of_its_assignment_where_the_price_search_does_not():
    """At P_max = 0.01 W a user's value jumps at its deadline and the price search's power split misses
    the optimum of ``best``'s own assignment (by more than 1 % on some of these slots); ``polish``, which
    ``best`` ends with, reaches the certified maximum (branch and reduce over the rates, ZF beams) on
    every slot, keeps both budgets and never lowers the value (docs/models.md, issue 16, fourteenth
    session)."""
    from semalloc.problems.sbq import algorithms as A
    short = []
    for seed in range(8):
        inst = semalloc.generate("sbq", seed=seed, users=3, subchannels=2, power_max_w=0.01)
        res = semalloc.solve(inst, "best")
        sub, q = np.asarray(res.variables["subchannel"]), np.asarray(res.variables["bits"])
        alone, power, band = A.allocate(inst, sub, q)
        value, p, b = A.polish(inst, sub, q, power, band)
        certified, _, _, bound, _ = A.branch_and_reduce(inst, sub, q, tol=1e-6)
        assert res.feasible and np.isclose(res.objective, value, rtol=1e-9) and value >= alone - 1e-12
        assert p.sum() <= inst.power_max_w and b.sum() <= inst.bandwidth_hz and np.all(p >= 0) and np.all(b >= 0)
        assert certified - 1e-4 <= value <= max(bound, certified + 1e-6) + 1e-9        # optimum <= certified + tol
        short.append(alone < 0.99 * certified)
    assert any(short)


@pytest.mark.parametrize("seed", range(2))               # seed 0: the polish picks another assignment
def test_best_ends_where_no_single_move_and_no_swap_gains(seed):
    """``best``'s search ends at a local optimum of both its neighbourhoods (by the price search's values),
    checked by trying each of them here: every user to every other subchannel with room or to none, and
    every swap of two users' subchannels (the move a full subchannel needs: 12 users fill the 3 x 4
    beams); ``best``, which then polishes it and two more assignments, is at least that."""
    import itertools

    from semalloc.problems.sbq import algorithms as A
    from semalloc.problems.sbq.beams import min_bits
    inst = semalloc.generate("sbq", seed=seed, users=12)
    q = min_bits(inst)
    v, stats = A.search(inst, q, polished=0)                             # the search's own end, unpolished
    sub, value = np.asarray(v["subchannel"]), stats["model_objective"]
    assert stats["allocated"] == value and semalloc.solve(inst, "best").objective >= value - 1e-12
    trials = []
    for k, m in itertools.product(range(inst.K), range(-1, inst.M)):
        if m != sub[k] and (m < 0 or np.sum(sub == m) < inst.Nt) and (m < 0 or q[k] <= 8):
            trials.append(np.where(np.arange(inst.K) == k, m, sub))
    for i, j in itertools.combinations(range(inst.K), 2):
        if sub[i] != sub[j]:
            t = sub.copy()
            t[i], t[j] = sub[j], sub[i]
            trials.append(t)
    assert len(trials) > 40
    assert max(A.allocate(inst, t, q)[0] for t in trials) <= value + 1e-9


@pytest.mark.parametrize("M, starts", [(1, 1), (3, 7), (4, 15), (5, 6)])
def test_best_starts_from_every_subset_of_subchannels_up_to_four_then_each_alone_and_all(M, starts):
    """``start_sets``: 2^M - 1 subsets for M <= 4, then each subchannel alone and all of them; ``best``
    reports how many it tried and which won, and its answer is feasible."""
    from semalloc.problems.sbq.algorithms import start_sets
    sets = start_sets(M)
    assert len(sets) == starts == len(set(sets))
    assert tuple(range(M)) in sets and all((m,) in sets for m in range(M))
    inst = semalloc.generate("sbq", seed=3, users=7, subchannels=M)
    res = semalloc.solve(inst, "best")
    assert res.feasible and res.stats["starts"] == starts
    assert tuple(res.stats["start"]) in sets


def test_perceived_value_is_the_s_se_map_and_non_decreasing_in_the_rate():
    """mapping perceives xi = Xi(n, SINR) with SINR = 2^(R/B) - 1; the rest is the model's QoS and gates."""
    from semalloc.perf.sbq import similarity
    from semalloc.problems.sbq.algorithms import perceived_value
    from semalloc.problems.sbq.evaluate import qos
    inst = semalloc.generate("sbq", seed=4, users=3)
    q, band = np.full(3, 2), np.full(3, 6e5)
    rates = np.linspace(1e5, 1e7, 400)[:, None] * np.ones(3)
    v = perceived_value(inst, q[None], rates, band[None])
    assert np.all(np.diff(v, axis=0) >= -1e-12)
    r = rates[300]
    xi = similarity(inst.users.symbols_per_word, 10 * np.log10(2 ** (r / band) - 1))
    bits = inst.symbols * q
    ok = (xi >= inst.xi_threshold) & (r >= bits / inst.deadline_s * (1 + 1e-6))
    assert np.allclose(v[300], np.where(ok, qos(inst, xi, q, bits / r), 0.0))


def test_fair_mapping_beats_the_equal_split_mapping_and_stays_below_best():
    """The fair mapping-guided baseline (best's search on the perceived QoS) is the stronger one; on average
    over seeds it still loses to best, which perceives the SBQ model."""
    objs = {a: np.mean([semalloc.solve(semalloc.generate("sbq", seed=s), a).objective for s in range(6)])
            for a in ("mapping", "mapping-equal", "best")}
    assert objs["mapping"] >= 2 * objs["mapping-equal"]
    assert objs["best"] >= 1.1 * objs["mapping"]


def test_mappings_shortfall_is_its_one_q_and_its_q_beats_every_q_fixed_for_the_scenario():
    """Where `mapping` loses to `best` (benchmarks/sbq_mapping.py at every figure point): `best`'s search
    with mapping's one q for every user loses most of the gap, the same search on the S-SE-perceived
    quality with each user's q_min little of it; and mapping's q (max q_min, chosen per slot) is on
    average at least every q a designer could fix for the scenario, so the baseline is not weakened by
    its bits (on slots where its q varies: two users, where it is 1 in about half of them)."""
    from semalloc.problems.sbq.algorithms import mapping_bits, perceived_value, search

    def score(inst, q, value=None):
        return semalloc.evaluate(inst, search(inst, q, value)[0]).objective

    rows = []
    for s in range(8):
        inst = semalloc.generate("sbq", seed=s, power_max_w=0.03)
        q_min, one = np.minimum(min_bits(inst), 8), np.full(inst.K, mapping_bits(inst))
        rows.append([semalloc.solve(inst, "best").objective, score(inst, one), score(inst, q_min, perceived_value)])
    best, one_q, perceived = np.mean(rows, axis=0)
    assert best - one_q > 3 * (best - perceived) > 0

    slots = [semalloc.generate("sbq", seed=s, users=2, power_max_w=0.03) for s in range(12)]
    assert len({mapping_bits(inst) for inst in slots}) > 1
    mapping, *fixed = np.mean([[semalloc.solve(inst, "mapping", bits=q).objective for q in (None, 1, 2, 3)]
                               for inst in slots], axis=0)
    assert mapping >= max(fixed)


def test_exact_does_not_call_optimal_an_allocation_that_misses_its_models_value():
    """One channel entry at 1e10 (the hostile-input audit): the ZF allocation built from the model's
    optimum scored 0.37 by evaluate against the model's 1.65, and exact said ``optimal`` while ``random``
    scored 0.52. The status now rests on what evaluate finds."""
    d = semalloc.generate("sbq", seed=0, users=2, subchannels=2, antennas=4).to_dict()
    d["channel_re"] = np.array(d["channel_re"])
    d["channel_re"][0, 0, 0] = 1e10
    inst = type(semalloc.generate("sbq", seed=0)).from_dict(semalloc.schema.to_jsonable(d))
    ex, other = semalloc.solve(inst, "exact"), semalloc.solve(inst, "random")
    assert ex.objective >= semalloc.solve(inst, "best").objective          # never below its start
    assert ex.status == "feasible" and ex.stats["bound"] >= other.objective
