"""compression: models, validation, every algorithm against the independent
evaluator, SCA monotonicity (Lemma 2), B&B = HiGHS MILP, exact's certificate,
best >= crra, and the paper's qualitative findings."""
from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import LinearConstraint, milp

import semalloc
from semalloc import InputError
from semalloc.perf.eta import PROFILES, eta, fit_gradient_descent, fit_robust, load_profile, save_profile
from semalloc.perf.success import outage_argument, success_approx, success_exact
from semalloc.problems.compression.instance import CompressionInstance
from semalloc.problems.compression.sca import equal_split, sca_allocate
from semalloc.solvers.bnb import branch_and_bound

warnings.filterwarnings("ignore", message="Solution may be inaccurate")
PROBLEM = semalloc.get_problem("compression")
HEURISTICS = ("crra", "crraus", "fcr", "fra", "msr", "best")


# ----------------------------------------------------------------------------- models

def test_table_iv_profiles_and_json_round_trip(tmp_path):
    assert set(PROFILES) == {"vgg-m5db", "vgg-0db", "vgg-5db", "resnet-m5db", "resnet-0db", "resnet-5db"}
    p = load_profile("vgg-0db")
    assert p.zeta == (-2.202e-16, 35.94, 0.9137, -0.02349)
    save_profile(p, tmp_path / "p.json")
    q = load_profile(str(tmp_path / "p.json"))
    assert q.zeta == p.zeta
    o = np.linspace(0.01, 0.99, 99)
    assert np.all((eta(o, p.zeta) >= 0) & (eta(o, p.zeta) <= 1))
    with pytest.raises(InputError, match="profile: unknown profile 'nope'"):
        load_profile("nope")


def test_robust_fit_recovers_every_table_iv_curve_and_gd_reduces_loss():
    o = np.linspace(0.0, 0.99, 80)
    for p in PROFILES.values():
        fit = fit_robust(o, eta(o, p.zeta))
        assert fit.rmse < 1e-3, (p.name, fit.rmse)
    rng = np.random.default_rng(0)
    zeta = (-0.05, 3.0, 0.9, -0.1)
    acc = eta(o, zeta) + rng.normal(0, 0.002, len(o))
    prof, losses = fit_gradient_descent(o, acc, (-0.03, 2.5, 0.8, 0.0), step=0.02, loss_tol=1e-5, max_iter=20000)
    assert losses[-1] < losses[0] / 10 and np.all(np.diff(losses) <= 1e-15)
    assert prof.rmse < max(p.rmse for p in PROFILES.values())     # as good as Table IV's own fits


def test_lemma1_exact_and_approximation():
    x = np.linspace(0, 5, 51)
    assert np.all(success_exact(x) <= success_approx(x) + 1e-15)       # Chernoff: the approx is an upper bound
    assert success_exact(0.0) == 1.0
    from scipy.stats import norm
    assert np.allclose(success_exact(x), 2 * norm.sf(x))
    xb = outage_argument([0.2, 0.8], 1e6, 0.1, 2e5, 0.01, 1e-12, 4e-21)
    assert xb[1] < xb[0]                                                # more compression, easier


# ----------------------------------------------------------------------------- validation

@pytest.fixture(scope="module")
def raw():
    return json.loads(json.dumps(semalloc.generate("compression", seed=3, users=4).to_dict()))


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(profile="alexnet"), "profile"),
    (lambda d: d.update(bandwidth_min_hz=6e6), "bandwidth_min_hz"),
    (lambda d: d.update(power_min_w=0.3), "power_min_w"),
    (lambda d: d.update(bandwidth_max_hz=-1.0), "bandwidth_max_hz"),
    (lambda d: d.update(power_max_w=-1.0), "power_max_w"),
    (lambda d: d["users"]["level"].__setitem__(2, 5), "users.level[2]"),
    (lambda d: d["users"]["deadline_s"].__setitem__(1, float("nan")), "users.deadline_s[1]"),
    (lambda d: d["users"].pop("data_bits"), "users.data_bits"),
])
def test_bad_instances_name_the_field(raw, mutate, field):
    bad = copy.deepcopy(raw)
    mutate(bad)
    with pytest.raises(InputError) as err:
        CompressionInstance.from_dict(bad)
    assert str(err.value).startswith(f"compression: {field}:"), str(err.value)


def test_generator_rejects_unknown_setting():
    with pytest.raises(InputError, match="compression: colour: unknown setting"):
        semalloc.generate("compression", colour=1)


# ----------------------------------------------------------------------------- feasibility

def check(inst, res):
    assert res.status in ("optimal", "feasible"), (res.algorithm, res.status, res.message)
    ev = semalloc.evaluate(inst, res.variables)
    assert ev.feasible, (res.algorithm, ev.violations)
    assert ev.objective == pytest.approx(res.objective, rel=1e-12, abs=1e-15)
    o = res.variables["compression"]
    assert np.all((o > 0) & (o < 1))
    return ev.objective


instances = st.fixed_dictionaries(
    {"seed": st.integers(0, 2**31), "users": st.integers(1, 8)},
    optional={"bandwidth_max_hz": st.sampled_from([1e6, 3e6, 30e6]),
              "power_max_w": st.sampled_from([1e-3, 1e-2, 1.0]),
              "radius_m": st.sampled_from([20.0, 250.0, 3000.0]),
              "deadline_s": st.sampled_from([1e-3, [1e-3, 1e-2], 0.1]),
              "data_bits": st.sampled_from([1e3, 2e5, [1e5, 1e6]]),
              "level_weights": st.sampled_from([[1.0], [0.2, 0.4, 0.6, 0.8]]),
              "profile": st.sampled_from(sorted(PROFILES))})


@settings(max_examples=12)
@given(instances)
def test_every_algorithm_is_feasible_on_random_and_extreme_instances(kw):
    inst = semalloc.generate("compression", **kw)
    for a in HEURISTICS:
        check(inst, semalloc.solve(inst, a))


def test_tight_minimums_are_feasible():
    inst = semalloc.generate("compression", seed=1, users=10, bandwidth_max_hz=0.1e6, power_max_w=1e-4)
    for a in HEURISTICS:
        check(inst, semalloc.solve(inst, a))


# ----------------------------------------------------------------------------- SCA and CRRA

@pytest.mark.parametrize("seed, bmax, pmax", [(0, 2e6, 1.0), (1, 10e6, 1e-3), (2, 20e6, 1e-2)])
def test_sca_never_decreases_the_objective_lemma2(seed, bmax, pmax):
    inst = semalloc.generate("compression", seed=seed, bandwidth_max_hz=bmax, power_max_w=pmax)
    sel = np.ones(inst.U, bool)
    B, P = equal_split(inst, sel)
    out = sca_allocate(inst, np.full(inst.U, 0.9), np.ones(inst.U), B, P, tol=1e-7)
    assert np.all(np.diff(out.trace) >= -1e-12)
    assert out.trace[-1] >= out.trace[0]


def test_crra_converges_and_its_model_objective_never_decreases():
    inst = semalloc.generate("compression", seed=4, bandwidth_max_hz=3e6)
    r = semalloc.solve(inst, "crra")
    tr = np.array(r.stats["trace"])
    assert np.all(np.diff(tr) >= -1e-9)
    assert r.stats["iterations"] < 30                                     # stopped by convergence


# ----------------------------------------------------------------------------- B&B

@settings(max_examples=25)
@given(st.integers(0, 2**31), st.integers(1, 14), st.integers(1, 3))
def test_branch_and_bound_matches_highs_milp(seed, n, m):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, n)
    A = rng.uniform(0, 1, (m, n))
    b = A.sum(axis=1) * rng.uniform(0.1, 0.7, m)
    res = branch_and_bound(c, A, b)
    ref = milp(-c, constraints=LinearConstraint(A, -np.inf, b), integrality=np.ones(n), bounds=(0, 1))
    assert res.status == "optimal"
    assert res.value == pytest.approx(-ref.fun, abs=1e-7)
    assert np.all(A @ res.x <= b + 1e-9)


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31), st.integers(20, 40))
def test_branch_and_bound_limits_return_the_incumbent_and_a_certified_bound(seed, n):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 1, n)
    A = rng.uniform(0.01, 0.1, (2, n))
    b = np.ones(2)
    ref = -milp(-c, constraints=LinearConstraint(A, -np.inf, b), integrality=np.ones(n), bounds=(0, 1)).fun
    for kw in ({"max_nodes": 3}, {"time_limit": 0.0}):
        res = branch_and_bound(c, A, b, **kw)
        assert res.status in ("time_limit", "optimal")
        assert np.all(A @ res.x <= b + 1e-9) and res.value == pytest.approx(c @ res.x)
        assert res.value <= ref + 1e-9 <= res.bound + 2e-9                # the bound is certified
        assert res.gap == pytest.approx(res.bound - res.value) and res.stats()["bnb_gap_abs"] == res.gap
    rel = branch_and_bound(c, A, b, gap_rel=1e-3)
    assert rel.status == "optimal" and rel.value >= ref * (1 - 1e-3) - 1e-9 and rel.bound >= ref - 1e-9


def test_crraus_stops_the_branch_and_bound_at_its_limit():
    inst = semalloc.generate("compression", seed=0, users=40, bandwidth_max_hz=1e6,
                             level_weights=[0.2, 0.4, 0.6, 0.8])
    r = semalloc.solve(inst, "crraus", bnb_time_limit=0.05)
    check(inst, r)
    assert r.stats["bnb_time_s"] < 1.0 and r.stats["bnb_bound"] >= r.stats["bnb_value"] - 1e-12


@pytest.mark.slow
def test_crraus_at_200_users_finishes_within_seconds():
    inst = semalloc.generate("compression", seed=0, users=200, bandwidth_max_hz=2e6,
                             level_weights=[0.2, 0.4, 0.6, 0.8])
    r = semalloc.solve(inst, "crraus")
    check(inst, r)
    assert r.stats["time_s"] < 30


# ----------------------------------------------------------------------------- exact and best

@pytest.mark.parametrize("seed, kw", [(0, {}), (1, {"bandwidth_max_hz": 1e6}), (2, {"power_max_w": 1e-3}),
                                       (3, {"level_weights": [0.2, 0.4, 0.6, 0.8], "bandwidth_max_hz": 2e6})])
def test_exact_bounds_every_algorithm(seed, kw):
    inst = semalloc.generate("compression", seed=seed, users=3, **kw)
    ex = semalloc.solve(inst, "exact")
    lb = check(inst, ex)
    ub = ex.stats["bound"]
    assert ex.stats["gap_abs"] == pytest.approx(ub - lb) and ex.stats["gap_rel"] < 0.05
    for a in HEURISTICS:
        v = check(inst, semalloc.solve(inst, a))
        assert v <= ub + 1e-9, a
        assert lb >= v - ex.stats["gap_abs"] - 1e-9, a


@pytest.mark.parametrize("seed, kw", [(0, {"users": 1, "bandwidth_min_hz": 2e7}),
                                      (0, {"users": 2, "bandwidth_min_hz": 1e7}),
                                      (34, {"users": 1, "profile": "vgg-5db", "deadline_s": 1e-3,
                                            "bandwidth_max_hz": 1e4})])
def test_exact_says_feasible_not_optimal_where_its_grid_cannot_certify(seed, kw):
    """Where the grid misses what pays (a minimum bandwidth equal to each user's share of the budget, just
    above the grid's top; a ratio above its last cell), ``exact``'s allocation is below ``best``'s by far:
    its bound still holds, and its status says it is not certified (an audit found it labelled optimal)."""
    inst = semalloc.generate("compression", seed=seed, **kw)
    ex, b = semalloc.solve(inst, "exact"), semalloc.solve(inst, "best")
    assert b.objective > check(inst, ex) * 1.01 + 1e-9
    assert ex.status == "feasible" and ex.stats["gap_rel"] > 1e-2 and "not certified" in ex.message
    assert ex.stats["bound"] >= b.objective - 1e-9
    tight = semalloc.solve(semalloc.generate("compression", seed=seed, users=3), "exact")
    assert tight.status == "optimal" and tight.stats["gap_rel"] <= 1e-2


def test_best_finds_ratios_above_its_coarse_grid_where_only_they_meet_the_deadline():
    """One user, 10 kHz and a 1 ms deadline: only o > 0.999 (sending almost nothing) succeeds. ``best``'s
    per-cell search stopped at 0.99 and scored 0.016; with ratios near 1 (``grid.O_TAIL``) it reaches the
    single user's optimum over o at full budgets (brute force over 2000 ratios), within 0.1 %."""
    from semalloc.problems.compression.evaluate import user_success
    inst = semalloc.generate("compression", seed=34, users=1, profile="vgg-5db", deadline_s=1e-3,
                             bandwidth_max_hz=1e4)
    o = 1 - np.logspace(-12, 0, 2001)[:-1]
    brute = float(np.max(inst.weight[0] * user_success(inst, o, np.full(o.shape, inst.bandwidth_max_hz),
                                                        np.full(o.shape, inst.power_max_w))))
    b = semalloc.solve(inst, "best")
    assert check(inst, b) >= brute * (1 - 1e-3) and brute > 0.02


@pytest.mark.parametrize("kw", [{"bandwidth_max_hz": 1e6}, {"bandwidth_max_hz": 5e6}, {},
                                {"bandwidth_max_hz": 30e6}, {"power_max_w": 1e-3}, {"power_max_w": 1e-2},
                                {"users": 30}, {"level_weights": [0.2, 0.4, 0.6, 0.8]},
                                {"users": 50, "bandwidth_max_hz": 2e6}])
def test_best_at_least_crra_on_the_paper_settings(kw):
    for seed in range(3):
        inst = semalloc.generate("compression", seed=seed, **kw)
        b, c = semalloc.solve(inst, "best"), semalloc.solve(inst, "crra")
        assert b.objective >= c.objective - 1e-12, (seed, b.objective, c.objective)


# ----------------------------------------------------------------------------- the paper's findings

def _mean(algos, seeds=4, **kw):
    """Mean exact objective (Lemma 1) over seeds."""
    out = {a: [] for a in algos}
    for s in range(seeds):
        inst = semalloc.generate("compression", seed=s, **kw)
        for a in algos:
            out[a].append(semalloc.solve(inst, a).objective)
    return {a: float(np.mean(v)) for a, v in out.items()}


def _mean_eq20(algos, seeds=4, **kw):
    out = {a: [] for a in algos}
    for s in range(seeds):
        inst = semalloc.generate("compression", seed=s, **kw)
        for a in algos:
            out[a].append(semalloc.solve(inst, a).stats["metrics"]["objective_eq20"])
    return {a: float(np.mean(v)) for a, v in out.items()}


def test_eq20_metric_bounds_the_exact_objective():
    inst = semalloc.generate("compression", seed=5)
    for a in ("crra", "fcr", "best"):
        r = semalloc.solve(inst, a)
        assert r.objective <= r.stats["metrics"]["objective_eq20"] + 1e-12
        if a != "best":
            assert r.stats["metrics"]["objective_eq20"] == pytest.approx(r.stats["model_objective"], rel=1e-12)


@pytest.mark.parametrize("kw", [{"power_max_w": 1e-3, "bandwidth_max_hz": 1e6}, {"bandwidth_max_hz": 1e6},
                                {"power_max_w": 1e-3}, {}, {"bandwidth_max_hz": 30e6}, {"users": 30}])
def test_crra_beats_the_baselines_on_the_papers_metric(kw):
    """Figs. 6-9 under eq. (20) (docs/models.md): CRRA above FCR, FRA and MSR on average."""
    m = _mean_eq20(("crra", "fcr", "fra", "msr"), seeds=3, **kw)
    assert m["crra"] > max(m["fcr"], m["fra"], m["msr"]), (kw, m)


def test_crra_gains_over_the_baselines_at_low_and_high_bandwidth():
    """At 1 mW, CRRA beats the strongest baseline on (20) at 1 and 30 MHz by more than 1 %.
    That the gain is larger at low bandwidth (this test's former claim) is within seed noise:
    gains 1.056 / 1.040 on seeds 0-2 of the generator before common random numbers (issue 15),
    1.030 / 1.032 on seeds 0-2 and 1.031 / 1.030 on seeds 0-9 after (per-seed 1.01-1.05)."""
    lo = _mean_eq20(("crra", "fcr", "fra", "msr"), seeds=3, bandwidth_max_hz=1e6, power_max_w=1e-3)
    hi = _mean_eq20(("crra", "fcr", "fra", "msr"), seeds=3, bandwidth_max_hz=30e6, power_max_w=1e-3)
    gain = {k: m["crra"] / max(m[a] for a in ("fcr", "fra", "msr")) for k, m in (("lo", lo), ("hi", hi))}
    assert min(gain.values()) > 1.01, gain


@settings(max_examples=8)
@given(instances)
def test_crra_never_below_fra_on_eq20(kw):
    """CRRA's first iterate is FRA's allocation and (20) never decreases (Lemma 2)."""
    inst = semalloc.generate("compression", **kw)
    c, f = (semalloc.solve(inst, a).stats["metrics"]["objective_eq20"] for a in ("crra", "fra"))
    assert c >= f * (1 - 1e-9) - 1e-12


def test_under_lemma1_crra_wins_at_low_resources_and_fcr_at_20mhz_1w():
    """The documented finding under the exact 2Q (docs/models.md): CRRA beats the
    baselines when resources are tight, but FCR (o = 0.8) beats it at the default
    20 MHz, 1 W, because eq. (20) overstates success and CRRA under-compresses.

    Per seed, seeds 0-9 (`benchmarks/compression_claims.py --parts spread`): CRRA's
    gain over the strongest baseline is +1.3 % at 1 MHz, 1 W (sd 0.4, all > 0.8 %)
    but +1.6 % at 20 MHz, 1 mW (sd 1.5, -0.2 to +3.9 %): on seeds 0-2 alone that
    mean is +0.7 %, 0.8 standard errors above 0, so the 1 mW case uses 10 seeds
    (3.4 standard errors). FCR / CRRA = 1.035 (sd 0.007), best / FCR = 1.008
    (sd 0.004, min 1.003) at 20 MHz, 1 W."""
    for kw, seeds in (({"bandwidth_max_hz": 1e6}, 3), ({"power_max_w": 1e-3}, 10)):
        m = _mean(("crra", "fcr", "fra", "msr"), seeds=seeds, **kw)
        assert m["crra"] > max(m["fcr"], m["fra"], m["msr"]), (kw, m)
    m = _mean(("crra", "fcr", "best"), seeds=3)
    assert m["fcr"] > m["crra"] and m["best"] > m["fcr"], m


def test_crraus_beats_the_baselines_on_weighted_success():
    for kw in ({"bandwidth_max_hz": 1e6}, {"bandwidth_max_hz": 10e6}, {"power_max_w": 1e-3}):
        m = _mean_eq20(("crraus", "fcr", "fra", "msr"), seeds=3, level_weights=[0.2, 0.4, 0.6, 0.8], **kw)
        assert m["crraus"] > max(m["fcr"], m["fra"], m["msr"]), (kw, m)


def test_success_grows_with_bandwidth_and_power():
    lo, hi = _mean(("best",), bandwidth_max_hz=2e6), _mean(("best",), bandwidth_max_hz=20e6)
    assert hi["best"] > lo["best"]
    lo, hi = _mean(("best",), power_max_w=1e-3), _mean(("best",), power_max_w=1.0)
    assert hi["best"] > lo["best"]


@pytest.mark.parametrize("mutate, field", [(lambda d: d.update(profile="alexnet"), "profile"),
                                           (lambda d: d.update(bandwidth_min_hz=6e6), "bandwidth_min_hz"),
                                           (lambda d: d.update(power_max_w=-1.0), "power_max_w")])
def test_cli_bad_instance_exits_2_naming_the_field(raw, tmp_path, mutate, field):
    import subprocess
    import sys
    bad = copy.deepcopy(raw)
    mutate(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    r = subprocess.run([sys.executable, "-m", "semalloc.cli", "solve", str(path), "-a", "crra"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: compression: {field}:"), r.stderr


def test_an_algorithms_answer_does_not_depend_on_what_ran_before_it():
    """The SCA's CVXPY problem is compiled once per number of users and re-solved (DPP); with CVXPY's default
    warm start Clarabel began from the previous solve in the process, so `fcr` gave 3.6646141 after `crra` and
    3.6646095 alone (found 2026-12-07 by an audit of `compare` against `solve`). Solves are now cold."""
    inst = semalloc.generate("compression", seed=1, users=4)
    first = [semalloc.solve(inst, a).objective for a in ("fcr", "crra")]
    again = [semalloc.solve(inst, a).objective for a in ("crra", "fcr")][::-1]
    assert first == again
