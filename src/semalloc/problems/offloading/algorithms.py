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
raw      ours: bcd with every terminal in traditional mode (e = 0), what semantic transmission adds
exact    enumeration of x, rho, e; 26a solved exactly (KKT) for each
best     bcd, then a local search that moves single subcarriers and terminals (total reward)
=======  =========================================================================

Every block of BCD is accepted only if it does not lower the merit (fewer
deadline violations first, then the reward): the swaps of Algs. 1-2 are
Pareto moves of the parties involved, whose externalities (interference) can
lower the reward of third terminals (docs/models.md, offloading "Algorithms", "Monotone BCD").
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from ...channel import distances_m
from ...errors import InputError, TimeLimit
from ...result import ERROR, FEASIBLE, INFEASIBLE, OPTIMAL
from .matching import match_association, match_subcarriers
from .model import Model, State, initial_state, linear_flops, unreachable

__all__ = ["register", "ALGORITHMS", "BCD_VARIANTS", "bcd", "start", "nearest_association", "local_search",
           "EXACT_LIMIT", "START_TRIES"]

#: ``exact`` refuses instances with more (x, rho) configurations than this.
EXACT_LIMIT = 200_000
#: Random initial matchings Algorithm 4 draws, at most, to find one meeting every deadline (9h)'.
START_TRIES = 20


def start(m: Model, seed: int = 0, bs: np.ndarray | None = None, mode: bool = True, uniform: bool = False,
          e: np.ndarray | None = None, tries: int = START_TRIES) -> State:
    """Algorithm 4's initial feasible point: random matchings (:func:`initial_state`),
    each completed by Algorithm 3 (with ``e`` fixed if given), drawn until one
    meets every deadline (9h)'; if none of ``tries`` does, the one of best merit."""
    best = None
    for t in range(tries):
        st = initial_state(m, np.random.SeedSequence([seed, t]), bs)
        if e is not None:
            st.e = np.asarray(e, dtype=np.int64).copy()
        m.semantic_and_cpu(st, mode, uniform)
        if best is None or m.merit(st) > m.merit(best):
            best = st
        if m.violations(st) == 0:
            break
    return best


def bcd(m: Model, st: State, associate: bool = True, mode: bool = True, uniform: bool = False,
        max_iter: int = 30, tol: float = 1e-9, truth: Model | None = None) -> tuple[State, dict]:
    """Algorithm 4 from ``st``: the reward after each iteration is in ``stats["trace"]``,
    as ``truth`` (default ``m``) values it; the iterations stop when ``m``'s stops rising."""
    m.semantic_and_cpu(st, mode, uniform)
    plan = [m.reward(st)]
    trace = [(truth or m).reward(st)]
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
        plan.append(m.reward(st))
        trace.append((truth or m).reward(st))
        if not plan[-1] > plan[-2] + tol * max(1.0, abs(plan[-1])):
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
    """Status from the true instance: ``feasible``; or ``infeasible`` naming the
    terminals when no allocation can meet their deadlines (:func:`unreachable`, or
    ``proven`` by exact enumeration); else ``error`` naming the terminals whose
    deadline this heuristic missed."""
    ev = m.evaluation(st)
    if ev.feasible:
        return st.variables(), FEASIBLE, stats, ""
    bad, why = unreachable(m.inst)
    if len(bad):
        return st.variables(), INFEASIBLE, stats, why
    return st.variables(), INFEASIBLE if proven else ERROR, stats, "; ".join(ev.violations)


def _run_bcd(inst, seed: int = 0, max_iter: int = 30, **flags):
    return _finish(*_bcd_state(inst, seed, max_iter, **flags))


def _bcd_state(inst, seed: int = 0, max_iter: int = 30, linear: bool = False, fixed_mode: bool = False,
               nearest: bool = False, uniform: bool = False, raw: bool = False) -> tuple[Model, State, dict]:
    """``(truth, state, stats)`` of bcd or one of its baselines (:data:`BCD_VARIANTS`' flags)."""
    plan = Model(inst, linear_flops(inst) if linear else None)
    e = np.random.default_rng(seed).integers(0, 2, size=inst.U) if fixed_mode else None
    if raw:                                                          # traditional transmission only
        fixed_mode, e = True, np.zeros(inst.U, dtype=np.int64)
    st = start(plan, seed, nearest_association(inst) if nearest else None, mode=not fixed_mode, uniform=uniform, e=e)
    truth = Model(inst) if linear else plan
    st, stats = bcd(plan, st, associate=not nearest, mode=not fixed_mode, uniform=uniform, max_iter=max_iter,
                    truth=truth)
    return truth, st, stats


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


def exact(inst, time_limit: float = 60.0):
    """The certified optimum of a tiny instance: every (x, rho) of :func:`_occupancies` and every mode
    ``e``, the CPU split (26a) solved exactly (KKT) for each; fewest deadline violations, then most
    reward. More than :data:`EXACT_LIMIT` configurations is an :class:`InputError`, running past
    ``time_limit`` a :class:`TimeLimit`."""
    U, K, N = inst.gain.shape
    small = K**U <= EXACT_LIMIT and (U + 1) ** N <= EXACT_LIMIT       # each factor enumerable at all
    if not small or sum(1 for _ in itertools.islice(_occupancies(U, K, N), EXACT_LIMIT + 1)) > EXACT_LIMIT:
        raise InputError("instance", f"too large for exact: more than {EXACT_LIMIT} (x, rho) configurations "
                         f"(U = {U}, K = {K}, N = {N})", "offloading")
    t0 = time.perf_counter()
    m = Model(inst)
    bad, why = unreachable(inst)
    if len(bad):                                      # proven without enumeration: any allocation will do
        st = initial_state(m)
        m.semantic_and_cpu(st)
        return st.variables(), INFEASIBLE, {"certificate": "lower bound on the delays (model.alone_delay)"}, why
    configs = list(_occupancies(U, K, N))
    bs = np.array([c[0] for c in configs])
    occ = np.array([c[1] for c in configs])
    rate = m.rates(occ)                                                       # (C, U)
    best = (-np.inf, np.inf, None)
    for e in itertools.product((0, 1), repeat=U):
        if time.perf_counter() - t0 > time_limit:
            raise TimeLimit(f"exact did not finish in {time_limit} s")
        e = np.array(e)
        f = m.cpu_split(rate, e, bs, iters=200)
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
    return var, OPTIMAL if status == FEASIBLE else status, stats, msg


# ----------------------------------------------------------------------------- best

def _better(new: tuple, old: tuple, rtol: float = 1e-9) -> bool:
    """Merit ``new`` beats ``old``: fewer violations, or as few and more reward beyond the tolerance."""
    return new[0] > old[0] or (new[0] == old[0] and new[1] > old[1] + rtol * max(1.0, abs(old[1])))


def _subcarrier_moves(st: State, U: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(k, n, v)``: subcarrier ``n`` of BS ``k`` to terminal ``v`` of ``k`` or
    to a hole (``v = -1``), except taking a terminal's last subcarrier."""
    K, N = st.occ.shape
    held = np.bincount(st.occ[st.occ >= 0], minlength=U)
    ks, ns, vs = [], [], []
    for k in range(K):
        v = np.array([-1, *np.nonzero(st.bs == k)[0]])
        cur = st.occ[k][:, None]
        ok = (v[None] != cur) & ~((cur >= 0) & (held[np.maximum(cur, 0)] == 1))
        n_, j = np.nonzero(ok)
        ks.append(np.full(len(n_), k)), ns.append(n_), vs.append(v[j])
    return np.concatenate(ks), np.concatenate(ns), np.concatenate(vs)


def _subcarrier_descent(m: Model, st: State, deadline: float) -> tuple[State, int]:
    """Best-improvement over :func:`_subcarrier_moves` with ``e`` and ``f`` fixed.

    A move changes one subcarrier ``n``, so only the K links on ``n`` change:
    each candidate is scored from its column alone (eq. 1 on ``n``, the rate
    changes scattered onto the terminals, eqs. 2, 3, 7, 8), all at once."""
    U = m.U
    tau = m.inst.task("deadline_s")
    moves = 0
    now = m.merit(st)
    while time.perf_counter() < deadline:
        ks, ns, vs = _subcarrier_moves(st, U)
        B = len(ks)
        if B == 0:
            break
        col = st.occ[:, ns].T.copy()                                            # (B, K) occupants of column n
        col[np.arange(B), ks] = vs
        links = m.link_rates(st.occ)
        delta, _ = m.column_delta(st.occ, links, ns, col)
        rate = np.maximum(m.rates(st.occ, links) + delta, 0.0)                   # eq. 2
        t = m.delay(rate, st.e, st.f)
        late = -np.sum(~(t <= tau), axis=1)
        value = m.reward_of(m.cost(rate, st.e, st.f))
        i = np.lexsort((value, late))[-1]
        if not _better((late[i], value[i]), now):
            break
        trial = st.copy()
        trial.occ[ks[i], ns[i]] = vs[i]
        merit = m.merit(trial)                                                  # recomputed in full
        if not _better(merit, now):
            break
        st, now, moves = trial, merit, moves + 1
    return st, moves


def _association_moves(m: Model, st: State) -> tuple[np.ndarray, np.ndarray]:
    """Candidate ``(occ, bs)`` batches: a terminal to another BS, onto as many of its
    holes (least interfered first) as it held subcarriers; two terminals of
    different BSs exchanging BSs and subcarriers (eq. 15)."""
    U, K, N = m.U, m.K, m.N
    interference = m.interference(st.occ)
    held = np.bincount(st.occ[st.occ >= 0], minlength=U)
    occs, bss = [], []
    for u in np.nonzero(st.bs >= 0)[0]:
        for k in range(K):
            holes = np.nonzero(st.occ[k] < 0)[0]
            if k == st.bs[u] or len(holes) == 0:
                continue
            o = np.where(st.occ == u, -1, st.occ)
            o[k, holes[np.argsort(interference[k, holes])[:held[u]]]] = u
            b = st.bs.copy()
            b[u] = k
            occs.append(o), bss.append(b)
    served = np.nonzero(st.bs >= 0)[0]
    for i, u in enumerate(served):
        for p in served[i + 1:]:
            if st.bs[u] != st.bs[p]:
                occs.append(np.where(st.occ == u, p, np.where(st.occ == p, u, st.occ)))
                b = st.bs.copy()
                b[[u, p]] = st.bs[[p, u]]
                bss.append(b)
    return np.array(occs).reshape(-1, K, N), np.array(bss).reshape(-1, U)


def _association_step(m: Model, st: State, now: tuple, deadline: float, chunk: int = 1000) -> State | None:
    """The best association move, scored with its own mode (eq. 25) and CPU split
    (26a), in chunks of ``chunk`` candidates until ``deadline``; ``None`` if none
    beats the merit ``now``."""
    occs, bss = _association_moves(m, st)
    tau = m.inst.task("deadline_s")
    top = (now, None)
    for c in range(0, len(occs), chunk):
        if c and time.perf_counter() > deadline:
            break
        occ, bs = occs[c:c + chunk], bss[c:c + chunk]
        rate = m.rates(occ)
        e = m.best_mode(rate, np.where(bs >= 0, st.f, 0.0))
        f = m.cpu_split(rate, e, bs, iters=60)
        e = m.best_mode(rate, f)
        f = m.cpu_split(rate, e, bs, iters=60)
        t = m.delay(rate, e, f)
        late = -np.sum(~(t <= tau), axis=1)
        value = m.reward_of(m.cost(rate, e, f))
        i = np.lexsort((value, late))[-1]
        if _better((late[i], value[i]), top[0]):
            top = ((late[i], value[i]), State(occ[i].copy(), bs[i].copy(), e[i].copy(), f[i].copy()))
    if top[1] is None:
        return None
    trial = top[1]
    m.semantic_and_cpu(trial)
    return trial if _better(m.merit(trial), now) else None


def local_search(m: Model, st: State, deadline: float) -> tuple[State, int, list]:
    """Our improvement of a BCD result, by the total merit (never lower):
    subcarrier moves (:func:`_subcarrier_descent`), Algorithm 3, one
    association move, until none improves or ``deadline`` (perf_counter).
    Returns the state, the moves made and the reward after each round."""
    moves, trace = 0, []
    while time.perf_counter() < deadline:
        st, n = _subcarrier_descent(m, st, deadline)
        moves += n
        now = m.merit(st)
        trial = st.copy()
        m.semantic_and_cpu(trial)
        if _better(m.merit(trial), now):
            st, now = trial, m.merit(trial)
        nxt = _association_step(m, st, now, deadline)
        if nxt is not None:
            st, moves = nxt, moves + 1
        trace.append(m.reward(st))
        if nxt is None and n == 0:
            break
    return st, moves, trace


def best(inst, starts: int = 1, time_limit: float = 10.0, seed: int = 0):
    """Ours: :func:`local_search` from the best of ``starts`` bcd runs (seeds ``seed``, ``seed + 1``, ...;
    the first is bcd's own); then, while ``time_limit`` (s, from the start) allows, the baselines' answers
    (each as it is and completed by Algorithm 3 with the mode and CPU free), and when the best of them
    beats bcd's answer by the merit (fewer missed deadlines, then more reward), the search from it too; the
    better end wins. Never below bcd, nor below a baseline when the time allows it (small instances: the
    search from bcd's answer ends early). ``stats["start"]``: where the winning search began (``bcd`` or a
    baseline's name)."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    m = Model(inst)
    runs = [bcd(m, start(m, seed + s)) for s in range(starts)]                 # the first is bcd's own run
    own, stats = max(runs, key=lambda r: m.merit(r[0]))
    ends = [_searched(m, "bcd", own, stats, starts, deadline)]
    others = []
    for name, (flags, _) in BCD_VARIANTS.items():
        if name != "bcd" and time.perf_counter() < deadline:
            _, st, stats = _bcd_state(inst, seed, **flags)
            free = st.copy()
            m.semantic_and_cpu(free)
            others += [(name, st, stats), (name, free, stats)]
    if others:
        name, st, stats = max(others, key=lambda r: m.merit(r[1]))            # the first of equals
        if _better(m.merit(st), m.merit(own)):
            ends.append(_searched(m, name, st, stats, starts, deadline))
    st, stats = max(ends, key=lambda r: m.merit(r[0]))                         # the first of equals: bcd's
    return _finish(m, st, stats)


def _searched(m: Model, name: str, st: State, stats: dict, starts: int, deadline: float) -> tuple[State, dict]:
    """:func:`local_search` from ``st`` (bcd's or baseline ``name``'s answer, ``stats`` its run's) and
    ``best``'s stats."""
    st, moves, trace = local_search(m, st, deadline)
    return st, {"starts": starts, "start": name, "bcd_iterations": stats["iterations"], "moves": moves,
                "trace": stats["trace"] + trace}


#: The paper's algorithm and its baselines (Sec. IV-C): options of ``_run_bcd``.
BCD_VARIANTS = {
    "bcd": ({}, "Zheng et al. Alg. 4: swap-matching association and subcarriers, eq. 25 mode, KKT CPU"),
    "linear": ({"linear": True}, "baseline Linear: bcd planned with the linear computation model theta_m s_i"),
    "ftm": ({"fixed_mode": True}, "baseline FTM: bcd with the transmission mode fixed at random"),
    "fa": ({"nearest": True}, "baseline FA: bcd with the association fixed to the nearest BS"),
    "uc": ({"uniform": True}, "baseline UC: bcd with the edge CPU split evenly"),
    "raw": ({"raw": True}, "ours (not a paper baseline): bcd with traditional transmission only (e = 0)"),
}


def _bcd_algorithm(**flags):
    """The algorithm ``(inst, seed, max_iter) -> _run_bcd(inst, seed, max_iter, **flags)``."""
    def run(inst, seed: int = 0, max_iter: int = 30):
        return _run_bcd(inst, seed, max_iter, **flags)
    return run


#: Every offloading algorithm in registration order: name -> (function, summary).
ALGORITHMS = {
    **{name: (_bcd_algorithm(**flags), doc) for name, (flags, doc) in BCD_VARIANTS.items()},
    "exact": (exact, "certified optimum for tiny instances: enumeration of x, rho, e and KKT CPU split"),
    "best": (best, "ours: bcd (and the best baseline's answer when better), then local search moving single "
                   "subcarriers and terminals"),
}


def register(problem) -> None:
    """Register every offloading algorithm of :data:`ALGORITHMS` on ``problem``."""
    for name, (fn, summary) in ALGORITHMS.items():
        problem.algorithm(name, summary)(fn)
