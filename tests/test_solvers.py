"""Generic solver pieces (semalloc.solvers) against brute force and closed forms."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semalloc.solvers import allocation, mckp
from semalloc.solvers.allocation import dp_allocate, even_allocate, greedy_allocate, table_value
from semalloc.solvers.mckp import items_from_tables, lp_relaxation, solve_mckp
from semalloc.solvers.price import Answer, price_for_budget
from semalloc.solvers.scalar import bisect_increasing, golden_max, newton_root

seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- helpers

def concave_tables(rng, n, width, integer=False):
    """Rows that start anywhere >= 0, are non-decreasing, with non-increasing increments."""
    inc = rng.exponential(1.0, size=(n, width - 1))
    if integer:
        inc = np.floor(inc * 3)                      # ties and zero increments
    inc = -np.sort(-inc, axis=1)                    # non-increasing increments
    base = rng.uniform(0, 2, size=(n, 1)) if not integer else np.floor(rng.uniform(0, 3, size=(n, 1)))
    return np.concatenate([base, base + np.cumsum(inc, axis=1)], axis=1)


def general_tables(rng, n, width, monotone=True, integer=False):
    """Arbitrary rows: non-decreasing (default) or fully arbitrary."""
    if monotone:
        inc = rng.exponential(1.0, size=(n, width - 1)) * (rng.random((n, width - 1)) < 0.6)
        if integer:
            inc = np.floor(inc * 3)
        base = rng.uniform(0, 1, size=(n, 1))
        return np.concatenate([base, base + np.cumsum(inc, axis=1)], axis=1)
    v = rng.normal(0, 2, size=(n, width))
    return np.round(v) if integer else v


def brute_allocation(values, capacity):
    """Max of sum_i values[i, z_i] over all z with z_i < width and sum z <= capacity."""
    n, width = values.shape
    best = -np.inf
    for z in itertools.product(range(min(width, capacity + 1)), repeat=n):
        if sum(z) <= capacity:
            best = max(best, float(values[np.arange(n), list(z)].sum()))
    return best


def close(a, b, scale=1.0, rtol=1e-9):
    return abs(a - b) <= rtol * max(1.0, abs(scale), abs(a), abs(b))


# ----------------------------------------------------------------------------- allocation

@settings(max_examples=150)
@given(seed=seeds, n=st.integers(1, 12), width=st.integers(1, 30), capacity=st.integers(0, 40),
       integer=st.booleans())
def test_greedy_equals_dp_on_concave_tables(seed, n, width, capacity, integer):
    rng = np.random.default_rng(seed)
    v = concave_tables(rng, n, width, integer) if width > 1 else rng.uniform(0, 1, size=(n, 1))
    zg = greedy_allocate(v.copy(), capacity)
    zd, val = dp_allocate(v, capacity)
    for z in (zg, zd):
        assert z.shape == (n,) and z.dtype.kind == "i"
        assert (z >= 0).all() and (z < width).all() and z.sum() <= capacity
    assert close(table_value(v, zd), val, val)
    assert close(table_value(v, zg), val, val), (zg, zd)


def test_greedy_does_not_modify_its_input():
    v = concave_tables(np.random.default_rng(0), 5, 8)
    before = v.copy()
    greedy_allocate(v, 11)
    np.testing.assert_array_equal(v, before)


def test_greedy_hands_out_every_unit_until_tables_end():
    """He et al. Alg. 1 gives away all RBs (flat rows still take units)."""
    v = np.zeros((3, 6))
    z = greedy_allocate(v, 7)
    assert z.sum() == 7
    assert greedy_allocate(v, 100).sum() == 3 * 5     # every row at its end


@settings(max_examples=150)
@given(seed=seeds, n=st.integers(1, 4), width=st.integers(1, 8), capacity=st.integers(0, 7),
       integer=st.booleans())
def test_dp_equals_brute_force_on_general_monotone_tables(seed, n, width, capacity, integer):
    rng = np.random.default_rng(seed)
    v = general_tables(rng, n, width, monotone=True, integer=integer)
    z, val = dp_allocate(v, capacity)
    assert (z >= 0).all() and (z < width).all() and z.sum() <= capacity
    assert close(table_value(v, z), val, val)
    assert close(val, brute_allocation(v, capacity), val)


@settings(max_examples=100)
@given(seed=seeds, n=st.integers(1, 4), width=st.integers(1, 8), capacity=st.integers(0, 7),
       integer=st.booleans())
def test_dp_equals_brute_force_on_arbitrary_tables(seed, n, width, capacity, integer):
    """The docstring promises 'works for any tables' (also non-monotone ones)."""
    rng = np.random.default_rng(seed)
    v = general_tables(rng, n, width, monotone=False, integer=integer)
    z, val = dp_allocate(v, capacity)
    assert (z >= 0).all() and (z < width).all() and z.sum() <= capacity
    assert close(table_value(v, z), val, val)
    assert close(val, brute_allocation(v, capacity), val)


def test_dp_empty_and_docstring_example():
    z, val = dp_allocate(np.zeros((0, 5)), 4)
    assert z.shape == (0,) and val == 0.0
    v = np.array([[0, 5, 8, 9, 9], [0, 4, 7, 9, 10]], dtype=float)
    z, val = dp_allocate(v, 4)
    assert val == 15.0 and table_value(v, z) == 15.0


def brute_value_function(values, K):
    """V(k) = best sum with at most k units, every user picking some z < width."""
    return np.array([brute_allocation(values, k) for k in range(K + 1)])


@settings(max_examples=80)
@given(seed=seeds, n=st.integers(0, 4), width=st.integers(1, 8), capacity=st.integers(0, 7),
       monotone=st.booleans())
def test_dp_value_function_equals_brute_force(seed, n, width, capacity, monotone):
    rng = np.random.default_rng(seed)
    v = general_tables(rng, n, width, monotone=monotone) if n else np.zeros((0, width))
    V = allocation.dp_value_function(v, capacity)
    assert V.shape == (capacity + 1,)
    expect = brute_value_function(v, capacity) if n else np.zeros(capacity + 1)
    np.testing.assert_allclose(V, expect, rtol=1e-12, atol=1e-12)
    if n:
        assert close(V[capacity], dp_allocate(v, capacity)[1], V[capacity])


@settings(max_examples=80)
@given(seed=seeds, K=st.integers(0, 12), width=st.integers(1, 16))
def test_maxplus_add_is_the_max_plus_convolution(seed, K, width):
    rng = np.random.default_rng(seed)
    V = np.maximum.accumulate(rng.normal(0, 1, K + 1))
    row = rng.normal(0, 1, width)
    out, z = allocation.maxplus_add(V, row)
    r = row[np.minimum(np.arange(K + 1), width - 1)]                 # rows extended flat
    expect = np.array([max(V[k - zz] + r[zz] for zz in range(k + 1)) for k in range(K + 1)])
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-12)
    assert ((z >= 0) & (z <= np.arange(K + 1))).all()
    np.testing.assert_allclose(V[np.arange(K + 1) - z] + r[z], out, rtol=1e-12, atol=1e-12)


@settings(max_examples=60)
@given(seed=seeds, n=st.integers(1, 6), width=st.integers(1, 8), capacity=st.integers(0, 9))
def test_dp_leave_one_out(seed, n, width, capacity):
    rng = np.random.default_rng(seed)
    v = general_tables(rng, n, width)
    L = allocation.dp_leave_one_out(v, capacity)
    assert L.shape == (n, capacity + 1)
    for i in range(n):
        expect = allocation.dp_value_function(np.delete(v, i, axis=0), capacity)
        np.testing.assert_allclose(L[i], expect, rtol=1e-12, atol=1e-12)


@settings(max_examples=200)
@given(n=st.integers(1, 60), capacity=st.integers(0, 1000))
def test_even_allocate(n, capacity):
    z = even_allocate(n, capacity)
    assert z.shape == (n,)
    assert z.sum() == capacity
    assert z.max() - z.min() <= 1
    assert (np.diff(z) <= 0).all()                   # the remainder goes to the lowest indices


def test_even_allocate_no_users():
    assert even_allocate(0, 10).shape == (0,)


# ----------------------------------------------------------------------------- scalar searches

@settings(max_examples=100)
@given(seed=seeds, size=st.integers(1, 50))
def test_golden_max_on_concave_quadratics(seed, size):
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-10, 10, size)
    hi = lo + rng.uniform(0.0, 10, size) * (rng.random(size) > 0.05)   # some degenerate lo == hi
    # maximiser inside, left of, or right of the interval (boundary maxima)
    where = rng.integers(0, 3, size)
    x0 = np.select([where == 0, where == 1], [rng.uniform(lo, hi), lo - rng.uniform(0.01, 5, size)],
                   hi + rng.uniform(0.01, 5, size))
    a = rng.uniform(0.1, 10, size)
    b = rng.uniform(-10, 10, size)
    f = lambda x: b - a * (x - x0) ** 2
    x, fx = golden_max(f, lo, hi)
    target = np.clip(x0, lo, hi)
    assert (x >= lo).all() and (x <= hi).all()
    assert (np.abs(x - target) <= 1e-5 * (1 + hi - lo)).all(), np.abs(x - target).max()
    np.testing.assert_allclose(fx, f(x), rtol=0, atol=0)               # fx is f at the returned x
    assert (fx >= f(target) - 1e-9 * (1 + np.abs(b))).all()
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, 2001)[None, :]
    assert (fx >= (b[:, None] - a[:, None] * (grid - x0[:, None]) ** 2).max(axis=1) - 1e-12 * (1 + np.abs(b))).all()


def test_golden_max_exact_boundary():
    x, fx = golden_max(lambda x: -x, np.array([1.0, -2.0]), np.array([3.0, 5.0]))
    np.testing.assert_array_equal(x, [1.0, -2.0])
    x, fx = golden_max(lambda x: x, np.array([1.0, -2.0]), np.array([3.0, 5.0]))
    np.testing.assert_array_equal(x, [3.0, 5.0])


@settings(max_examples=100)
@given(seed=seeds, size=st.integers(1, 30), power=st.sampled_from([1.0, 3.0, 0.5]))
def test_bisect_increasing_inverts_continuous_functions(seed, size, power):
    rng = np.random.default_rng(seed)
    lo, hi = 0.0, 10.0
    f = lambda x: x ** power + 2.0
    target = rng.uniform(f(lo) - 1, f(hi) + 1, size)
    x = bisect_increasing(f, target, lo, hi)
    assert (x >= lo).all() and (x <= hi).all()
    inside = (target >= f(lo)) & (target <= f(hi))
    np.testing.assert_allclose(x[inside], (target[inside] - 2.0) ** (1 / power), atol=1e-9)
    assert (x[target < f(lo)] == lo).all()                             # even f(lo) > target
    np.testing.assert_allclose(x[target > f(hi)], hi, atol=1e-9)
    assert (f(x[inside]) <= target[inside] + 1e-12).all()


@settings(max_examples=100)
@given(seed=seeds, size=st.integers(1, 30))
def test_bisect_increasing_largest_x_on_step_functions(seed, size):
    """For a non-decreasing step function: the largest x with f(x) <= target."""
    rng = np.random.default_rng(seed)
    f = np.floor
    target = rng.uniform(0, 9.5, size)
    x = bisect_increasing(f, target, 0.0, 10.0)
    assert (f(x) <= target).all()
    np.testing.assert_allclose(x, np.floor(target) + 1.0, atol=1e-9)


# ----------------------------------------------------------------------------- MCKP

def brute_mckp(values, capacity):
    """Every user takes nothing or one (knapsack, size >= 1) item; per-knapsack capacity."""
    N, M, W = values.shape
    options = [(-1, 0)] + [(m, z) for m in range(M) for z in range(1, W)]
    best = 0.0
    for pick in itertools.product(options, repeat=N):
        load = np.zeros(M)
        val = 0.0
        for n, (m, z) in enumerate(pick):
            if m >= 0:
                load[m] += z
                val += values[n, m, z]
        if (load <= capacity).all():
            best = max(best, val)
    return best


def mckp_tables(rng, N, M, W, kind):
    if kind == "monotone":
        v = np.cumsum(rng.exponential(1.0, (N, M, W)) * (rng.random((N, M, W)) < 0.7), axis=2)
    elif kind == "integer":
        v = np.cumsum(np.floor(rng.uniform(0, 3, (N, M, W))), axis=2)
    else:                                             # arbitrary, some negative entries
        v = rng.normal(1.0, 2.0, (N, M, W))
    v[:, :, 0] = 0.0
    return v


def assert_mckp_solution(sol, values, capacity, expect):
    N, M, W = values.shape
    assert sol.status == "optimal"
    on = sol.knapsack >= 0
    assert ((sol.knapsack >= -1) & (sol.knapsack < M)).all()
    assert (sol.size[on] >= 1).all() and (sol.size[on] < W).all() and (sol.size[~on] == 0).all()
    load = np.bincount(sol.knapsack[on], weights=sol.size[on], minlength=M)
    assert (load <= capacity).all()
    picked = float(values[np.nonzero(on)[0], sol.knapsack[on], sol.size[on]].sum())
    scale = np.abs(values).sum()
    assert close(picked, sol.value, scale, 1e-9)
    assert close(sol.value, expect, scale, 1e-7), (sol.value, expect)
    assert sol.bound >= sol.value - 1e-7 * max(1.0, scale)


mckp_cases = dict(seed=seeds, N=st.integers(1, 4), M=st.integers(1, 2), W=st.integers(1, 4),
                  kind=st.sampled_from(["monotone", "integer", "arbitrary"]),
                  cap_seed=st.integers(0, 10**6))


@settings(max_examples=80)
@given(**mckp_cases)
def test_solve_mckp_equals_brute_force(seed, N, M, W, kind, cap_seed):
    rng = np.random.default_rng(seed)
    values = mckp_tables(rng, N, M, W, kind)
    capacity = np.random.default_rng(cap_seed).integers(0, 5, M)
    expect = brute_mckp(values, capacity)
    assert_mckp_solution(solve_mckp(values, capacity), values, capacity, expect)


def random_feasible_assignment(rng, values, capacity):
    N, M, W = values.shape
    knap, size = np.full(N, -1, dtype=np.int64), np.zeros(N, dtype=np.int64)
    left = np.array(capacity, dtype=np.int64)
    for n in rng.permutation(N):
        m = int(rng.integers(-1, M))
        if m >= 0 and left[m] >= 1 and W > 1:
            z = int(rng.integers(1, min(W - 1, left[m]) + 1))
            knap[n], size[n] = m, z
            left[m] -= z
    return knap, size


@settings(max_examples=80)
@given(**mckp_cases, incumbent_kind=st.sampled_from(["none", "random", "optimal"]))
def test_solve_mckp_with_incumbent_keeps_the_optimum(seed, N, M, W, kind, cap_seed, incumbent_kind):
    """Reduced-cost fixing against a feasible (possibly poor) incumbent never changes the optimum."""
    rng = np.random.default_rng(seed)
    values = mckp_tables(rng, N, M, W, kind)
    capacity = np.random.default_rng(cap_seed).integers(0, 5, M)
    expect = brute_mckp(values, capacity)
    if incumbent_kind == "none":
        inc = (np.full(N, -1, dtype=np.int64), np.zeros(N, dtype=np.int64))
    elif incumbent_kind == "random":
        inc = random_feasible_assignment(rng, values, capacity)
    else:
        plain = solve_mckp(values, capacity)
        inc = (plain.knapsack.copy(), plain.size.copy())
    inc_copy = (inc[0].copy(), inc[1].copy())
    sol = solve_mckp(values, capacity, incumbent=inc)
    assert_mckp_solution(sol, values, capacity, expect)
    np.testing.assert_array_equal(inc[0], inc_copy[0])            # incumbent not modified
    np.testing.assert_array_equal(inc[1], inc_copy[1])


@settings(max_examples=60)
@given(**mckp_cases)
def test_lp_relaxation_bounds_the_milp(seed, N, M, W, kind, cap_seed):
    rng = np.random.default_rng(seed)
    values = mckp_tables(rng, N, M, W, kind)
    capacity = np.random.default_rng(cap_seed).integers(0, 5, M)
    lp = lp_relaxation(values, capacity)
    opt = solve_mckp(values, capacity).value
    scale = max(1.0, np.abs(values).sum())
    assert lp.bound >= opt - 1e-7 * scale
    assert (lp.reduced >= 0).all() and (lp.prices >= -1e-9).all()
    if len(lp.x):
        assert (lp.x >= -1e-9).all()
        # the LP solution respects the user rows and the capacities
        assert (np.bincount(lp.items.user, weights=lp.x, minlength=N) <= 1 + 1e-7).all()
        assert (np.bincount(lp.items.knapsack, weights=lp.x * lp.items.size, minlength=M)
                <= capacity + 1e-7).all()
        assert close(float(lp.x @ lp.items.value), lp.bound, scale, 1e-7)


@settings(max_examples=60)
@given(**mckp_cases)
def test_items_from_tables_are_undominated_and_within_capacity(seed, N, M, W, kind, cap_seed):
    rng = np.random.default_rng(seed)
    values = mckp_tables(rng, N, M, W, kind)
    capacity = np.random.default_rng(cap_seed).integers(0, 5, M)
    it = items_from_tables(values, capacity)
    assert (it.size >= 1).all() and (it.size <= capacity[it.knapsack]).all()
    assert (it.value > 0).all()
    np.testing.assert_array_equal(it.value, values[it.user, it.knapsack, it.size])
    for n, m, z in zip(it.user, it.knapsack, it.size):
        assert values[n, m, z] > values[n, m, :z].max()


def test_solve_mckp_docstring_example_and_empty():
    v = np.zeros((3, 2, 4))
    v[:, 0, 1:] = [1, 2, 3]
    v[:, 1, 1:] = [2, 2, 2]
    sol = solve_mckp(v, np.array([3, 1]))
    assert sol.status == "optimal" and sol.value == pytest.approx(5.0)
    sol = solve_mckp(np.zeros((2, 2, 3)), np.array([2, 2]))
    assert sol.status == "optimal" and sol.value == 0.0 and (sol.knapsack == -1).all()


@settings(max_examples=60)
@given(**mckp_cases)
def test_lagrangian_bound_is_a_valid_upper_bound(seed, N, M, W, kind, cap_seed):
    """Weak duality: L(lam) >= LP optimum >= MILP optimum for any prices lam >= 0;
    each user's choice maximises its priced value."""
    rng = np.random.default_rng(seed)
    values = mckp_tables(rng, N, M, W, kind)
    capacity = np.random.default_rng(cap_seed).integers(0, 5, M)
    lam, knap, size, bound = mckp.lagrangian_prices(values, capacity)
    scale = max(1.0, np.abs(values).sum())
    assert lam.shape == (M,) and (lam >= 0).all()
    assert bound >= lp_relaxation(values, capacity).bound - 1e-7 * scale
    assert bound >= brute_mckp(values, capacity) - 1e-7 * scale
    zs = np.arange(W)
    priced = np.where(zs[None, None, :] <= capacity[None, :, None], values - lam[None, :, None] * zs, -np.inf)
    priced[:, :, 0] = -np.inf                                       # size 0 is "nothing"
    best = np.maximum(priced.reshape(N, -1).max(axis=1), 0.0)
    got = np.where(knap >= 0, priced[np.arange(N), np.maximum(knap, 0), size], 0.0)
    np.testing.assert_allclose(got, best, rtol=1e-9, atol=1e-9)
    assert close(bound, float(best.sum() + lam @ capacity), scale, 1e-9)


# ----------------------------------------------------------------------------- price search

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("guess", [None, 1e-3, 0.7, 50.0])
def test_price_for_budget_meets_the_budget_at_the_water_level(seed, guess):
    """max sum w log(x) - zeta x has x = w / zeta: the price is sum(w) / budget, found cold or from any guess."""
    rng = np.random.default_rng(seed)
    w, budget = rng.uniform(0.1, 5.0, 8), rng.uniform(1.0, 20.0)
    respond = lambda z: (lambda x: Answer(x, (x,)))(w / max(z, 1e-300))
    zeta, (x,) = price_for_budget(respond, budget, hi=1e3 * w.sum() / budget, guess=guess)
    assert zeta == pytest.approx(w.sum() / budget, rel=1e-9)
    assert x.sum() == pytest.approx(budget, rel=1e-12) and np.allclose(x, w * budget / w.sum(), rtol=1e-9)


def test_price_for_budget_mixes_the_two_answers_of_a_user_that_jumps():
    """A user whose usage jumps from 4 to 0 at price 1 (a tie): the others take what they want at
    price 1 and the jumping user gets exactly the rest, whichever way the search approaches."""
    def respond(z):
        x = np.array([2.0 / max(z, 1e-300), 3.0 / max(z, 1e-300), 4.0 if z < 1.0 else 0.0])
        return Answer(x, (x,))
    for guess in (None, 0.3, 3.0):
        zeta, (x,) = price_for_budget(respond, 7.5, hi=100.0, guess=guess)
        assert zeta == pytest.approx(1.0, rel=1e-9) and x.sum() == pytest.approx(7.5, rel=1e-12)
        assert np.allclose(x, [2.0, 3.0, 2.5], rtol=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("guess", [None, 1e-3, 0.7, 50.0])
def test_price_for_budget_with_a_slope_takes_newton_steps(seed, guess):
    """The same water level with d usage / d ln(zeta) given: same answer, at most 8 answers from any guess
    (bisection to 1e-13 would need about 45)."""
    rng = np.random.default_rng(seed)
    w, budget = rng.uniform(0.1, 5.0, 8), rng.uniform(1.0, 20.0)
    calls = []

    def respond(z):
        calls.append(z)
        x = w / max(z, 1e-300)
        return Answer(x, (x,), -x.sum())
    zeta, (x,) = price_for_budget(respond, budget, hi=1e3 * w.sum() / budget, guess=guess)
    assert zeta == pytest.approx(w.sum() / budget, rel=1e-9)
    assert x.sum() == pytest.approx(budget, rel=1e-12) and x.sum() <= budget * (1 + 1e-15)
    assert len(calls) <= 8, len(calls)


@pytest.mark.parametrize("given_jumps", [False, True])
@pytest.mark.parametrize("guess", [None, 0.3, 3.0])
def test_price_for_budget_with_jumps_mixes_at_the_jump(given_jumps, guess):
    """Five users whose usage jumps from 4 to 0 at their own price; the budget falls inside the
    jump at price 1. With the jump prices given, the search straddles the jump in a few answers;
    without them it bisects; both mix the jumping user to meet the budget exactly."""
    cuts = np.array([0.2, 0.5, 1.0, 1.7, 2.5])
    calls = []

    def respond(z):
        calls.append(z)
        smooth = 2.0 / max(z, 1e-300)
        x = np.concatenate([[smooth], np.where(z < cuts, 4.0, 0.0)])
        return Answer(x, (x,), -smooth)
    budget = 2.0 + 2 * 4.0 + 2.5                       # price 1: 2 + users 4, 5 at 4 + user 3 partly
    zeta, (x,) = price_for_budget(respond, budget, hi=100.0, guess=guess,
                              jumps=(lambda a, b: cuts[(cuts > a) & (cuts < b)]) if given_jumps else None)
    assert zeta == pytest.approx(1.0, rel=1e-9) and x.sum() == pytest.approx(budget, rel=1e-12)
    assert np.allclose(x, [2.0, 0.0, 0.0, 2.5, 4.0, 4.0], rtol=1e-9, atol=1e-9)
    if given_jumps:
        assert len(calls) <= 12, len(calls)


@settings(max_examples=50)
@given(seed=seeds, size=st.integers(1, 30))
def test_newton_root_finds_every_root_in_its_bracket(seed, size):
    """Roots of a x - b cos(x) style increasing functions, spread over decades, to 1e-13."""
    rng = np.random.default_rng(seed)
    root = 10 ** rng.uniform(-8, 3, size)
    k = rng.uniform(0.5, 3.0, size)
    fd = lambda x, m: (np.log(x / root[m]) + k[m] * (x / root[m] - 1), 1 / x + k[m] / root[m])
    x = newton_root(fd, root * 10 ** -rng.uniform(0.1, 5, size), root * 10 ** rng.uniform(0.1, 5, size))
    assert np.allclose(x, root, rtol=1e-13)


@pytest.mark.parametrize("guess", [None, 1e-9, 0.5])
def test_price_for_budget_with_a_jump_at_price_zero_ends_quickly(guess):
    """Usage over the budget at price 0 only (a user indifferent at 0 takes 10, at any positive
    price 0): the least price is 0+, found in a few answers (it used to step towards 0 until
    max_iter), and the answers fit the budget."""
    calls = []

    def respond(z):
        calls.append(z)
        x = np.array([1.0 + 0.0 * z, 10.0 if z == 0 else 0.0])
        return Answer(x, (x,), 0.0)
    zeta, (x,) = price_for_budget(respond, 5.0, hi=1.0, guess=guess)
    assert x.sum() <= 5.0 * (1 + 1e-12) and x[0] == 1.0 and zeta <= 1e-29
    assert len(calls) <= 20, len(calls)
