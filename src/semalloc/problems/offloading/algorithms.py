"""Every offloading algorithm: the paper's BCD (Algorithm 4), its baselines
(Sec. IV-C), the certified ``exact`` optimum and our ``best``.

=======  =========================================================================
name     what it does
=======  =========================================================================
bcd      Alg. 4: Alg. 1 association, Alg. 2 subcarriers, Alg. 3 (eq. 25 + 26a), iterated
linear   bcd planned with the linear computation model ``c_i = theta_{m_i} s_i``
ftm      bcd with the mode ``e`` fixed, drawn uniformly (Bernoulli 1/2)
fa       bcd with the association fixed to the nearest BS (with room)
uc       bcd with the edge CPU split evenly among a server's terminals
exact    enumeration of x, rho, e; 26a solved exactly (KKT) for each
best     bcd from several starts, then local search moving subcarriers and terminals
=======  =========================================================================

Every block of BCD is accepted only if it does not lower the merit (fewer
deadline violations first, then the reward): the swaps of Algs. 1-2 are
Pareto moves of the parties involved, whose externalities (interference) can
lower the reward of third terminals (docs/models-offloading.md).
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from ...channel import distances_m
from ...errors import InputError
from .matching import match_association, match_subcarriers
from .model import Model, State, initial_state, linear_flops

__all__ = ["register", "bcd", "nearest_association", "local_search", "EXACT_LIMIT"]

#: ``exact`` refuses instances with more (x, rho) configurations than this.
EXACT_LIMIT = 200_000


def bcd(m: Model, st: State, associate: bool = True, mode: bool = True, uniform: bool = False,
        max_iter: int = 30, tol: float = 1e-9) -> tuple[State, dict]:
    """Algorithm 4 from ``st``: the reward after each iteration is in ``stats["trace"]``."""
    m.semantic_and_cpu(st, mode, uniform)
    trace = [m.reward(st)]
    swaps = [0, 0]
    for it in range(1, max_iter + 1):
        for i, (on, step) in enumerate(((associate, match_association), (True, match_subcarriers))):
            if not on:
                continue
            trial = st.copy()
            rep = step(m, trial)                                     # Step 1 (Alg. 1) / Step 2 (Alg. 2)
            if rep.swaps and m.merit(trial) >= m.merit(st):
                st, swaps[i] = trial, swaps[i] + rep.swaps
        m.semantic_and_cpu(st, mode, uniform)                        # Step 3 (Alg. 3)
        trace.append(m.reward(st))
        if not trace[-1] > trace[-2] + tol * max(1.0, abs(trace[-1])):
            break
    return st, {"iterations": it, "trace": trace, "association_swaps": swaps[0], "subcarrier_swaps": swaps[1]}


def nearest_association(inst) -> np.ndarray:
    """FA: each terminal on its nearest BS; a BS full (N terminals) passes it to the next nearest."""
    order = np.argsort(distances_m(inst.terminals.position_m, inst.base_stations.position_m), axis=1)
    room = np.full(inst.K, inst.N)
    bs = np.full(inst.U, -1)
    for u in range(inst.U):
        free = order[u][room[order[u]] > 0]
        if len(free):
            bs[u] = free[0]
            room[free[0]] -= 1
    return bs


def _finish(m: Model, st: State, stats: dict, proven: bool = False):
    """Status from the true instance: feasible, or the terminals whose deadline fails:
    ``infeasible`` when ``proven`` (exact enumeration found nothing better), else
    ``error`` (a heuristic that found no allocation meeting every deadline)."""
    ev = m.evaluation(st)
    if ev.feasible:
        return st.variables(), "feasible", stats, ""
    return st.variables(), "infeasible" if proven else "error", stats, "; ".join(ev.violations)


def _run_bcd(inst, seed: int = 0, max_iter: int = 30, linear: bool = False, fixed_mode: bool = False,
             nearest: bool = False, uniform: bool = False):
    plan = Model(inst, linear_flops(inst) if linear else None)
    st = initial_state(plan, seed, nearest_association(inst) if nearest else None)
    if fixed_mode:
        st.e = np.random.default_rng(seed).integers(0, 2, size=inst.U)
    st, stats = bcd(plan, st, associate=not nearest, mode=not fixed_mode, uniform=uniform, max_iter=max_iter)
    return _finish(Model(inst), st, stats)


# ----------------------------------------------------------------------------- exact

def _occupancies(U: int, K: int, N: int):
    """Every (bs, occ) with every terminal associated and holding at least one subcarrier."""
    for bs in itertools.product(range(K), repeat=U):
        bs = np.array(bs)
        members = [np.nonzero(bs == k)[0] for k in range(K)]
        if any(len(mk) > N for mk in members):
            continue
        per_bs = []
        for mk in members:
            opts = np.array(list(itertools.product([-1, *mk.tolist()], repeat=N)), dtype=np.int64).reshape(-1, N)
            keep = np.all([(opts == u).any(axis=1) for u in mk], axis=0) if len(mk) else np.ones(len(opts), bool)
            per_bs.append(opts[keep])
        for combo in itertools.product(*per_bs):
            yield bs, np.stack(combo)


def _exact(inst, time_limit: float = 60.0):
    U, K, N = inst.gain.shape
    small = K**U <= EXACT_LIMIT and (U + 1) ** N <= EXACT_LIMIT       # each factor enumerable at all
    if not small or sum(1 for _ in itertools.islice(_occupancies(U, K, N), EXACT_LIMIT + 1)) > EXACT_LIMIT:
        raise InputError("instance", f"too large for exact: more than {EXACT_LIMIT} (x, rho) configurations "
                         f"(U = {U}, K = {K}, N = {N})", "offloading")
    t0 = time.perf_counter()
    m = Model(inst)
    configs = list(_occupancies(U, K, N))
    bs = np.array([c[0] for c in configs])
    occ = np.array([c[1] for c in configs])
    rate = m.rates(occ)                                                       # (C, U)
    best = (-np.inf, np.inf, None)
    for e in itertools.product((0, 1), repeat=U):
        if time.perf_counter() - t0 > time_limit:
            raise InputError("time_limit", f"exact did not finish in {time_limit} s", "offloading")
        e = np.array(e)
        f = m.cpu_split(rate, e, bs)
        t = m.delay(rate, e, f)
        late = np.sum(~(t <= inst.task("deadline_s")), axis=1)
        value = m.reward_of(m.cost(rate, e, f))
        order = np.lexsort((-value, late))
        i = order[0]
        if (late[i], -value[i]) < (best[1], -best[0]):
            best = (float(value[i]), int(late[i]), State(occ[i].copy(), bs[i].copy(), e, f[i].copy()))
    stats = {"configurations": len(configs) * 2**U,
             "certificate": "complete enumeration of x, rho, e; problem 26a solved by its KKT conditions "
                            "(price bisection to 2^-200 of the bracket on ln lambda) for each"}
    var, status, stats, msg = _finish(m, best[2], stats, proven=True)
    return var, "optimal" if status == "feasible" else status, stats, msg


# ----------------------------------------------------------------------------- best

def _moves(m: Model, st: State) -> tuple[np.ndarray, np.ndarray]:
    """Candidate allocations one move away: a subcarrier to another terminal of its
    BS or to a hole, or a terminal to another BS with a hole (taking it; its
    own subcarriers become holes). Returns ``(occ, bs)`` batches."""
    U, K, N = m.U, m.K, m.N
    held = np.bincount(st.occ[st.occ >= 0], minlength=U)
    occs, bss = [], []
    for k in range(K):
        members = np.nonzero(st.bs == k)[0]
        for n in range(N):
            cur = st.occ[k, n]
            if cur >= 0 and held[cur] == 1:
                continue
            for v in [-1, *members.tolist()]:
                if v != cur:
                    o = st.occ.copy()
                    o[k, n] = v
                    occs.append(o)
                    bss.append(st.bs)
    for u in np.nonzero(st.bs >= 0)[0]:
        for k in range(K):
            holes = np.nonzero(st.occ[k] < 0)[0]
            if k == st.bs[u] or len(holes) == 0:
                continue
            o = np.where(st.occ == u, -1, st.occ)
            o[k, holes[0]] = u
            b = st.bs.copy()
            b[u] = k
            occs.append(o)
            bss.append(b)
    return np.array(occs).reshape(-1, K, N), np.array(bss).reshape(-1, U)


def local_search(m: Model, st: State, deadline: float) -> tuple[State, int]:
    """Best-improvement search over :func:`_moves`, each scored with its own
    mode (eq. 25 at the current ``f``) and exact CPU split (26a)."""
    moves = 0
    now = m.merit(st)
    while time.perf_counter() < deadline:
        occ, bs = _moves(m, st)
        if len(occ) == 0:
            break
        rate = m.rates(occ)
        e = m.best_mode(rate, np.where(bs >= 0, st.f, 0.0))
        f = m.cpu_split(rate, e, bs, iters=60)
        e = m.best_mode(rate, f)
        f = m.cpu_split(rate, e, bs, iters=60)
        t = m.delay(rate, e, f)
        late = -np.sum(~(t <= m.inst.task("deadline_s")), axis=1)
        value = m.reward_of(m.cost(rate, e, f))
        i = np.lexsort((value, late))[-1]
        if (late[i], value[i]) <= (now[0], now[1] + 1e-9 * max(1.0, abs(now[1]))):
            break
        st = State(occ[i].copy(), bs[i].copy(), e[i].copy(), f[i].copy())
        m.semantic_and_cpu(st)
        now = m.merit(st)
        moves += 1
    return st, moves


def _best(inst, starts: int = 3, time_limit: float = 10.0, seed: int = 0):
    t0 = time.perf_counter()
    m = Model(inst)
    cands = [initial_state(m, seed + s) for s in range(starts)] + [initial_state(m, seed, nearest_association(inst))]
    runs = [bcd(m, st)[0] for st in cands]
    st = max(runs, key=m.merit)
    st, moves = local_search(m, st, t0 + time_limit)
    st, stats = bcd(m, st)
    stats.update(starts=len(cands), moves=moves)
    return _finish(m, st, stats)


#: The paper's algorithm and its baselines (Sec. IV-C): options of ``_run_bcd``.
BCD_VARIANTS = {
    "bcd": ({}, "Zheng et al. Alg. 4: swap-matching association and subcarriers, eq. 25 mode, KKT CPU"),
    "linear": ({"linear": True}, "baseline Linear: bcd planned with the linear computation model theta_m s_i"),
    "ftm": ({"fixed_mode": True}, "baseline FTM: bcd with the transmission mode fixed at random"),
    "fa": ({"nearest": True}, "baseline FA: bcd with the association fixed to the nearest BS"),
    "uc": ({"uniform": True}, "baseline UC: bcd with the edge CPU split evenly"),
}


def _bcd_algorithm(**flags):
    """The algorithm ``(inst, seed, max_iter) -> _run_bcd(inst, seed, max_iter, **flags)``."""
    def run(inst, seed: int = 0, max_iter: int = 30):
        return _run_bcd(inst, seed, max_iter, **flags)
    return run


def register(problem) -> None:
    """Register every offloading algorithm on ``problem``."""

    for name, (flags, doc) in BCD_VARIANTS.items():
        problem.algorithm(name, doc)(_bcd_algorithm(**flags))

    @problem.algorithm("exact", "certified optimum for tiny instances: enumeration of x, rho, e and KKT CPU split")
    def run_exact(inst, time_limit: float = 60.0):
        return _exact(inst, time_limit)

    @problem.algorithm("best", "ours: bcd from several starts, then moves of subcarriers and terminals")
    def run_best(inst, starts: int = 3, time_limit: float = 10.0, seed: int = 0):
        return _best(inst, starts, time_limit, seed)
