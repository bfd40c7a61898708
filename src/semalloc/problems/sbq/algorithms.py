"""Every sbq algorithm on one slot: the model-based baselines of the notes,
``exact`` for tiny slots (the optimum over zero-forcing beams, certified over every beam where it says
``optimal``) and our ``best``.

=============  =====================  ===========================  ===========================
name           bits q_k               subchannels                  power / bandwidth
=============  =====================  ===========================  ===========================
mapping        fixed (max q_min)      search, perceived QoS        price search, perceived QoS
mapping-equal  fixed (4: SQNR > 20)   Hungarian on perceived S-SE  equal power, equal bandwidth
fixed-bits     8                      search (as ``best``)         price search (as ``best``)
equal          q_min                  greedy, strongest first      equal power, equal bandwidth
random         uniform 1..8           random                       Dirichlet shares
best           q_min (dominant)       moves + swaps, many starts   price search over shares
exact          q_min (dominant)       every assignment             monotonic branch and reduce
=============  =====================  ===========================  ===========================

Every algorithm here beamforms by zero-forcing within a subchannel (``beams``). The
learned agent ``drl`` (MRT-ZF beams) is registered by the RL layer,
:mod:`semalloc.rl.sbq_drl`, which the registry imports with this problem.

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("sbq", seed=2, users=2, antennas=1, subchannels=2)
>>> ex, be = semalloc.solve(inst, "exact"), semalloc.solve(inst, "best")
>>> ex.status, ex.objective >= be.objective - 1e-4
('optimal', True)
>>> shared = semalloc.generate("sbq", seed=2, users=2, antennas=2, subchannels=1)
>>> ex = semalloc.solve(shared, "exact")       # two users share the subchannel: beams beyond ZF may do better
>>> ex.status, bool(ex.objective < ex.stats["bound"])
('feasible', True)
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...errors import InputError
from ...perf.sbq import similarity
from ...solvers.resplit import pairwise_resplit
from ...solvers.scalar import bracket, golden_max
from .beams import MARGIN, min_bits, power_for_rate, rate_of_power, to_variables, user_value, zf_directions
from .evaluate import evaluate, qos
from .instance import Q_MAX

__all__ = ["register", "ALGORITHMS", "allocate", "polish", "local_search", "search", "start_sets", "greedy_subchannels",
           "branch_and_reduce", "perceived_value"]

#: Power levels of the price search, as fractions of Pmax.
_LEVELS = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 48)])
#: Prices of the price search, in QoS per watt relative to 1 / Pmax.
_PRICES = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 40)])
#: :func:`search` starts from every subset of subchannels up to this many subchannels (15 starts).
SUBSET_STARTS_MAX_M = 4
#: :func:`search` polishes (:func:`polish`) this many of the assignments it scored, the highest by the price
#: search: its own answer and the two next (the price search can rank them wrongly; docs/models.md, issue 16,
#: fourteenth session).
POLISHED = 3


def _bandwidth_candidates(inst, sub: np.ndarray) -> np.ndarray:
    """Bandwidth splits tried by ``allocate``: equal over used subchannels, and by user count."""
    load = np.bincount(sub[sub >= 0], minlength=inst.M).astype(float)
    used = (load > 0).astype(float)
    if not used.any():
        return np.zeros((1, inst.M))
    cands = np.stack([used / used.sum(), load / load.sum()])
    return inst.bandwidth_hz * cands


def allocate(inst, sub: np.ndarray, q: np.ndarray, value=None,
             directions: tuple | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Power and bandwidth for a fixed assignment and bits: ``(value, power, band)``.

    For each bandwidth candidate, each price ``lam`` gives every user its
    best level of ``value_k(R(p)) - lam p`` (a grid plus the exact power
    meeting its deadline); the budget is then filled by scaling (values are
    non-decreasing in power). The best price and bandwidth win.

    ``value(inst, q, rate, band)``: the per-user value the search maximises
    (non-decreasing in the rate); default the SBQ model's effective SC-QoS
    (:func:`user_value`); ``mapping`` passes :func:`perceived_value`. ``directions``: ``zf_directions(inst,
    sub)`` when the caller has it already.
    """
    value = value or (lambda inst, q, rate, band: user_value(inst, q, rate))
    _, c = directions or zf_directions(inst, sub)
    served = sub >= 0
    P = inst.power_max_w
    bands = _bandwidth_candidates(inst, sub)                                            # (C, M)
    bk = np.where(served, bands[:, np.maximum(sub, 0)], 0.0)                            # (C, K)
    need = power_for_rate(inst, c, inst.symbols * np.minimum(q, Q_MAX) / inst.deadline_s * (1 + 2e-6), bk)
    grid = np.broadcast_to((_LEVELS * P)[None, :, None], (len(bk), len(_LEVELS), inst.K))
    levels = np.concatenate([grid, np.where(need <= P, need, 0.0)[:, None]], axis=1)    # (C, G, K)
    val = np.where(served, value(inst, q, rate_of_power(inst, c, levels, bk[:, None]), bk[:, None]), 0.0)
    net = val[:, None] - (_PRICES / P)[None, :, None, None] * levels[:, None]           # (C, L, G, K)
    pick = np.take_along_axis(levels, np.argmax(net, axis=2), axis=1)
    pick = np.where(served & (c > 0), pick, 0.0)                                        # (C, L, K)
    pick *= P / np.maximum(pick.sum(axis=-1, keepdims=True), 1e-300) * (1 - 1e-12)      # fill the budget
    score = value(inst, q, rate_of_power(inst, c, pick, bk[:, None]), bk[:, None]).sum(axis=-1)   # (C, L)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)   # the first band, then price, of equals
    if score[i, j] > 0.0:
        return float(score[i, j]), pick[i, j], bands[i]
    return 0.0, np.zeros(inst.K), np.zeros(inst.M)


def polish(inst, sub: np.ndarray, q: np.ndarray, power: np.ndarray, band: np.ndarray, value=None,
           rounds: int = 8) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`allocate`'s power and bandwidth for a fixed assignment, improved: ``(value, power, band)``.

    The price search gives each user a point of its value's concave hull; a user's value jumps where
    it meets its deadline, so at small P_max the hull misses splits (up to 3.6 % below the certified
    optimum on ``best``'s own assignment at K = 3, M = 2, P_max = 0.01 W; docs/models.md, issue 16,
    fourteenth session). In turn, until a turn moves no bandwidth (at most ``rounds`` turns): (1) the
    power of two served users (or of one and the power left over) re-split pairwise
    (:func:`~semalloc.solvers.resplit.pairwise_resplit`) for the most value; (2) the bandwidth of two
    subchannels in use re-split the same way for the most value at those powers; (3) at the rates
    reached, the bandwidth re-split for the least power, the power freed left over for the next turn's
    (1). Both budgets' sums stay within what :func:`allocate` used; the value never falls. ``value`` as in
    :func:`allocate`; ``rounds >= 1``.

    Examples
    --------
    >>> import semalloc
    >>> from semalloc.problems.sbq.beams import min_bits
    >>> inst = semalloc.generate("sbq", seed=6, power_max_w=0.01)
    >>> q, sub = min_bits(inst), semalloc.solve(inst, "best").variables["subchannel"]
    >>> v0, p0, b0 = allocate(inst, sub, q)
    >>> v1, p1, b1 = polish(inst, sub, q, p0, b0)
    >>> bool(v1 >= v0), bool(p1.sum() <= inst.power_max_w), bool(b1.sum() <= inst.bandwidth_hz)
    (True, True, True)
    """
    value = value or (lambda inst, q, rate, band: user_value(inst, q, rate))
    _, c = zf_directions(inst, sub)
    served = (sub >= 0) & (c > 0)
    m = np.maximum(sub, 0)
    K = inst.K

    def per_user(b):
        return np.where(served, b[..., m], 0.0)

    def total(x, b):                                            # x: the K powers and the power left over
        bk = per_user(b)
        return value(inst, q, rate_of_power(inst, c, x[..., :K], bk), bk).sum(axis=-1)

    x, band = np.append(np.where(served, power, 0.0), 0.0), np.asarray(band, dtype=float)
    budget, used = float(x.sum()), np.unique(sub[served])
    for _ in range(rounds):
        x, now, _ = pairwise_resplit(lambda y: total(y, band), x, np.append(np.nonzero(served)[0], K))
        band, now, by_value = pairwise_resplit(lambda b: total(x, b), band, used)
        rate = rate_of_power(inst, c, x[:K], per_user(band))
        band_new, _, moved = pairwise_resplit(lambda b: -power_for_rate(inst, c, rate, per_user(b)).sum(axis=-1),
                                              band, used)
        if moved:
            need = np.where(served, power_for_rate(inst, c, rate, per_user(band_new)), 0.0)
            trial = np.append(need, budget - need.sum())
            freed = float(total(trial, band_new)) if np.isfinite(need).all() and need.sum() <= budget else -np.inf
            if freed >= now:                                    # (not below now: rounding at a deadline)
                x, band, now = trial, band_new, freed
                continue
        if not by_value:
            break
    return now, x[:K], band


def greedy_subchannels(inst, users: np.ndarray, allowed=None) -> np.ndarray:
    """Users in decreasing order of their strongest channel, each on its strongest subchannel with room
    (among ``allowed`` subchannels; default all)."""
    allowed = np.arange(inst.M) if allowed is None else np.asarray(allowed)
    norm = np.linalg.norm(inst.h[:, allowed], axis=2)              # (K, len(allowed))
    sub = -np.ones(inst.K, dtype=np.int64)
    load = np.zeros(len(allowed), dtype=np.int64)
    for k in sorted(users, key=lambda k: -norm[k].max()):
        room = np.nonzero(load < inst.Nt)[0]
        if len(room):
            i = room[np.argmax(norm[k, room])]
            sub[k], load[i] = allowed[i], load[i] + 1
    return sub


def local_search(inst, q: np.ndarray, start: np.ndarray, passes: int | None = None, value=None,
                 memo: dict | None = None, swaps: bool = True):
    """Improve an assignment by moves while one raises ``allocate``'s value (``value``: as in
    :func:`allocate`): each pass tries every single-user move (to another subchannel with room, or
    none), and when none of them gained, every swap of two users' subchannels (or of a served and an
    unserved user), which a full subchannel needs (``swaps=False``: single moves only); it stops after
    a pass with no gain (every pass that gains raises the value, so it ends), or after ``passes``
    passes (``best`` until 2026-12-07: ``swaps=False, passes=4``). ``memo`` (assignment bytes ->
    ``allocate``'s answer) is read and filled, so that searches from several starts on one slot allocate
    each assignment once."""
    perceive = value
    memo = {} if memo is None else memo

    def allocated(sub):
        key = sub.tobytes()
        if key not in memo:
            memo[key] = allocate(inst, sub, q, perceive)
        return memo[key]

    def moved(sub, k, m):
        if m == sub[k] or (m >= 0 and np.sum(sub == m) >= inst.Nt):
            return None
        trial = sub.copy()
        trial[k] = m
        return trial

    def swapped(sub, i, j):
        if sub[i] == sub[j]:
            return None
        trial = sub.copy()
        trial[i], trial[j] = sub[j], sub[i]
        return trial

    neighbourhoods = ((moved, list(itertools.product(range(inst.K), range(-1, inst.M)))),
                      (swapped, list(itertools.combinations(range(inst.K), 2)) if swaps else []))
    sub = start.copy()
    value, power, band = allocated(sub)
    moves = 0
    for _ in itertools.count() if passes is None else range(passes):
        improved = False
        for change, pairs in neighbourhoods:
            for pair in pairs:
                trial = change(sub, *pair)
                if trial is None:
                    continue
                v, p, b = allocated(trial)
                if v > value + 1e-12:
                    sub, value, power, band, improved, moves = trial, v, p, b, True, moves + 1
            if improved:
                break
        if not improved:
            break
    return sub, power, band, {"moves": moves, "model_objective": value}


def _min_power(inst, c, rates, sub, used) -> tuple[np.ndarray, np.ndarray]:
    """Least total power for rate vectors ``rates`` (n, K) over bandwidth splits: ``(power (n,), band (n, M))``.

    The power ``sum_k N0 B_m (2^(R_k/B_m) - 1) / c_k`` is convex in the split,
    so golden section on ``B_1`` (two used subchannels) is exact to 1e-10 of B.
    """
    B = inst.bandwidth_hz

    def power(b1):
        band = np.zeros((len(b1), inst.M))
        band[:, used[0]] = b1
        if len(used) > 1:
            band[:, used[1]] = B - b1
        bk = band[:, np.maximum(sub, 0)]
        return power_for_rate(inst, c[None], rates, bk).sum(axis=1), band

    n = len(rates)
    if len(used) == 1:
        return power(np.full(n, B))
    b1, _ = golden_max(lambda x: -power(x)[0], np.zeros(n), np.full(n, B), iters=50)
    return power(b1)


def _reduce(feas, lo: np.ndarray, hi: np.ndarray, iters: int = 30) -> np.ndarray:
    """Shrink each box's ``hi``: coordinate ``i`` to the largest value keeping ``lo`` (with that
    coordinate raised) feasible; no feasible point of the box is lost (feasibility is monotone)."""
    n, K = lo.shape
    a, b = np.repeat(lo, K, axis=0), np.repeat(hi, K, axis=0)          # row n*K + i moves coordinate i
    axis = np.tile(np.arange(K), n)
    rows = np.arange(n * K)

    def feasible_at(x):
        trial = a.copy()
        trial[rows, axis] = x
        return feas(trial)
    _, x_hi = bracket(feasible_at, a[rows, axis], b[rows, axis], iters)
    return np.minimum(hi, x_hi.reshape(n, K))


def branch_and_reduce(inst, sub, q, tol: float = 1e-4, incumbent: float = 0.0, max_boxes: int = 200_000,
                      alone: bool = False):
    """Certified max of ``sum_k value_k(R_k)`` over rates reachable with ZF beams, Pmax and B.

    Monotonic optimisation: the objective and the least power are both
    non-decreasing in the rates, so a box ``[lo, hi]`` is bounded above by
    the value at ``hi`` and discarded when ``lo`` needs more than ``Pmax``;
    the lower bound is the value at the last feasible point on the diagonal.
    Returns ``(value, power, band, upper_bound, boxes)``; ``upper_bound`` bounds the boxes left
    when ``max_boxes`` stopped the search, and every box discarded was at most ``max(value, incumbent)
    + tol``. At most two used subchannels (the bandwidth split, :func:`_min_power`).

    ``alone``: each user with its whole channel ``||h_km||^2`` as if alone on its subchannel instead of its
    ZF gain, a relaxation of every beamformer (``|h_k^H w_k|^2 <= ||h_k||^2 ||w_k||^2``, interference
    dropped): its bound bounds the assignment over all beams (the value and power are of the relaxation,
    not an allocation).
    """
    c = (np.sum(np.abs(inst.h[np.arange(inst.K), np.maximum(sub, 0)]) ** 2, axis=1) if alone
         else zf_directions(inst, sub)[1])
    used = np.unique(sub[sub >= 0])
    if len(used) > 2:
        raise ValueError(f"branch_and_reduce splits the bandwidth between at most two used subchannels, got "
                         f"{len(used)}")
    if not len(used):
        return 0.0, np.zeros(inst.K), np.zeros(inst.M), 0.0, 0
    served = sub >= 0
    P, B = inst.power_max_w, inst.bandwidth_hz
    rmax = np.where(served, rate_of_power(inst, c, P, B), 0.0)
    f = lambda r: user_value(inst, q[None], r).sum(axis=1)          # noqa: E731
    feas = lambda r: _min_power(inst, c, r, sub, used)[0] <= P * (1 - 1e-12)   # noqa: E731
    best_r, best_v = np.zeros(inst.K), 0.0
    lo, hi = np.zeros((1, inst.K)), _reduce(feas, np.zeros((1, inst.K)), rmax[None])
    boxes = 0
    ub = f(hi)
    while len(lo):
        keep = ub > max(best_v, incumbent) + tol
        lo, hi, ub = lo[keep], hi[keep], ub[keep]
        if not len(lo) or boxes > max_boxes:
            break
        # lower bound: largest feasible point on the diagonal of each box
        t = np.zeros(len(lo))
        step = 0.5
        for _ in range(30):
            ok = feas(lo + (t + step)[:, None] * (hi - lo))
            t = np.where(ok, t + step, t)
            step /= 2
        pts = lo + t[:, None] * (hi - lo)
        vals = f(pts)
        i = int(np.argmax(vals))
        if vals[i] > best_v:
            best_v, best_r = float(vals[i]), pts[i]
        full = t >= 1 - 2**-30
        lo, hi, ub = lo[~full & (ub > best_v + tol)], hi[~full & (ub > best_v + tol)], ub[~full & (ub > best_v + tol)]
        # branch: halve the longest edge relative to the rate range
        rel = (hi - lo) / np.where(rmax > 0, rmax, 1.0)
        j = np.argmax(rel, axis=1)
        mid = 0.5 * (lo[np.arange(len(lo)), j] + hi[np.arange(len(lo)), j])
        hi_left, lo_right = hi.copy(), lo.copy()
        hi_left[np.arange(len(lo)), j] = mid
        lo_right[np.arange(len(lo)), j] = mid
        lo, hi = np.concatenate([lo, lo_right]), np.concatenate([hi_left, hi])
        boxes += len(lo)
        alive = feas(lo)
        lo, hi = lo[alive], _reduce(feas, lo[alive], hi[alive])
        ub = f(hi)
    bound = max(best_v, float(ub.max()) if len(ub) else best_v)
    total, band = _min_power(inst, c, best_r[None], sub, used)
    power = power_for_rate(inst, c, best_r, band[0][np.maximum(sub, 0)])
    power = np.where(served & np.isfinite(power), power, 0.0) * (1 - 1e-12)
    return best_v, power, band[0], bound, boxes


def _assignments(inst, users):
    """Every assignment of ``users`` to a subchannel or none with at most Nt per subchannel."""
    for choice in itertools.product(range(-1, inst.M), repeat=len(users)):
        sub = -np.ones(inst.K, dtype=np.int64)
        sub[users] = choice
        if np.all(np.bincount(sub[sub >= 0], minlength=inst.M) <= inst.Nt):
            yield sub


def perceived_value(inst, q: np.ndarray, rate: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Effective SC-QoS as the mapping-guided paradigm perceives it: ``xi = Xi(n_k, SINR_k)`` (the S-SE map,
    analogue semantic transmission), ``SINR_k = 2^(R_k / B_k) - 1``; latency and gates as in the model.

    Non-decreasing in the rate (``xi`` grows with the SINR, the latency falls), as ``allocate`` needs.
    """
    qq = np.minimum(q, Q_MAX)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sinr_db = 10 * np.log10(np.expm1(np.log(2.0) * rate / np.where(band > 0, band, np.inf)))
    xi = similarity(inst.users.symbols_per_word, np.nan_to_num(sinr_db, nan=-np.inf))
    bits = inst.symbols * qq
    with np.errstate(divide="ignore"):
        latency = np.where(rate > 0, bits / rate, np.inf)
    ok = (bits > 0) & (xi >= inst.xi_threshold) & (rate >= bits / inst.deadline_s * (1 + MARGIN))
    return np.where(ok, qos(inst, xi, qq, latency), 0.0)


def _mapping(inst, q_fixed: int):
    """Mapping-guided: perceive ``xi = Xi(n, SINR)`` under equal power and bandwidth and ZF-free SNR,
    assign by the Hungarian method on the S-SE ``I xi / (L n) B_m``, send ``q_fixed`` bits."""
    K, M, Nt = inst.K, inst.M, inst.Nt
    band = inst.bandwidth_hz / M
    snr = (inst.power_max_w / K) * np.linalg.norm(inst.h, axis=2) ** 2 / (inst.noise_psd_w_hz * band)
    n = inst.users.symbols_per_word
    sse = inst.units_per_sentence * similarity(n[:, None], 10 * np.log10(snr)) / (inst.words_per_sentence * n[:, None]) * band
    rows, cols = linear_sum_assignment(-np.repeat(sse, Nt, axis=1))      # slots: Nt per subchannel
    sub = -np.ones(K, dtype=np.int64)
    sub[rows] = cols // Nt
    served = sub >= 0
    power = np.where(served, inst.power_max_w / max(served.sum(), 1), 0.0) * (1 - 1e-12)
    return sub, np.full(K, q_fixed), power, np.full(M, band)


def mapping_bits(inst) -> int:
    """The one number of bits the mapping-guided paradigm sends for every user of slot ``inst``: the least
    q at which every user reaches xi_th under SBQ (``max_k q_min``; ``Q_MAX`` if some user reaches it at no
    q). The paradigm perceives no quantization noise, so it has no reason to vary q; this choice is a
    generous one (it uses the SBQ model the paradigm lacks), for the strongest faithful baseline."""
    q = int(np.max(min_bits(inst), initial=1))
    return q if 1 <= q <= Q_MAX else Q_MAX


def mapping(inst, bits: int | None = None):
    """``best``'s local search and price search maximising :func:`perceived_value` (xi = Xi(n, SINR)),
    with one fixed number of bits for every user (default: the least q at which every user of the
    slot reaches xi_th under SBQ, a generous choice), then scored by the SBQ model."""
    q_fixed = mapping_bits(inst) if bits is None else int(bits)
    if not 1 <= q_fixed <= Q_MAX:
        raise InputError("bits", f"must be in 1..{Q_MAX}, got {bits!r}", "sbq")
    v, stats = search(inst, np.full(inst.K, q_fixed), value=perceived_value, users=np.arange(inst.K))
    return v, "feasible", {**stats, "bits": q_fixed}, ""


def mapping_equal(inst, bits: int = 4):
    """Mapping-guided: :func:`_mapping`'s Hungarian assignment on the S-SE, ``bits`` bits, equal split."""
    if not 1 <= int(bits) <= Q_MAX:
        raise InputError("bits", f"must be in 1..{Q_MAX}, got {bits!r}", "sbq")
    return to_variables(inst, *_mapping(inst, int(bits))), "feasible", {}, ""


def fixed_bits(inst):
    """``best`` with q = 8 bits for every user."""
    v, stats = search(inst, np.full(inst.K, Q_MAX), users=np.arange(inst.K))
    return v, "feasible", stats, ""


def equal(inst):
    """q_min bits, :func:`greedy_subchannels`, equal power over the served users, equal bandwidth."""
    sub = greedy_subchannels(inst, np.arange(inst.K))
    served = sub >= 0
    power = np.where(served, inst.power_max_w / max(served.sum(), 1), 0.0) * (1 - 1e-12)
    band = np.full(inst.M, inst.bandwidth_hz / inst.M)
    return to_variables(inst, sub, min_bits(inst), power, band), "feasible", {}, ""


def random(inst, seed: int = 0):
    """Random subchannels (at most Nt per subchannel), bits 1..8 and Dirichlet power and bandwidth shares."""
    rng = np.random.default_rng(seed)
    slots = np.concatenate([np.repeat(np.arange(inst.M), inst.Nt), -np.ones(inst.K, dtype=np.int64)])
    sub = rng.permutation(slots)[: inst.K]
    served = sub >= 0
    power = rng.dirichlet(np.ones(inst.K)) * served * inst.power_max_w * (1 - 1e-12)
    band = rng.dirichlet(np.ones(inst.M)) * inst.bandwidth_hz * (1 - 1e-12)
    return to_variables(inst, sub, rng.integers(1, Q_MAX + 1, size=inst.K), power, band), "feasible", {}, ""


def start_sets(M: int) -> list[tuple[int, ...]]:
    """The subchannel sets :func:`search` starts from: every nonempty subset of the ``M`` subchannels
    (7 for M = 3) up to :data:`SUBSET_STARTS_MAX_M` subchannels, beyond it each subchannel alone and all.

    From one start (every subchannel, the greedy assignment) and single moves, ``best`` was 2.3 % below the
    best of all 4096 assignments at the default scenario and 6.6 % at P_max = 0.01 W: moving one user at a
    time cannot leave a subchannel for the bandwidth that leaving it frees (``benchmarks/sbq_best.py``;
    docs/models.md, sbq, "best's starts").

    >>> start_sets(2)
    [(0,), (1,), (0, 1)]
    """
    if M <= SUBSET_STARTS_MAX_M:
        return [c for r in range(1, M + 1) for c in itertools.combinations(range(M), r)]
    return [(m,) for m in range(M)] + [tuple(range(M))]


def search(inst, q: np.ndarray, value=None, users=None, polished: int = POLISHED) -> tuple[dict, dict]:
    """``(variables, stats)`` of ``best``'s search for bits ``q``: :func:`local_search` from the greedy
    assignment of ``users`` (default: those whose ``q`` reaches ``xi_th``, ``q_min <= q``) restricted to
    each of :func:`start_sets`, on ``value`` (as in :func:`allocate`); the best end wins (the first on
    ties). Then that end and the next ``polished`` - 1 assignments it scored (default :data:`POLISHED`),
    highest by the price search first, get :func:`polish`'s power and bandwidth, and the highest after it
    wins (the first of equals; since the fourteenth session; ``polished=0``: the search's end as the price
    search allocated it). ``stats``: the search's ``moves``, ``starts`` tried and winning
    ``start`` set; the answer's ``allocated`` (its price search's value), ``model_objective`` (after the
    polish) and ``polished_rank`` (0: the search's own end, else its rank by the price search).

    ``benchmarks/sbq_mapping.py`` runs it with ``mapping``'s one q for all users, and on the perceived
    quality with each user's ``q_min``, to take ``mapping``'s shortfall apart.

    Examples
    --------
    >>> import semalloc
    >>> inst = semalloc.generate("sbq", seed=1)
    >>> v, stats = search(inst, min_bits(inst))
    >>> bool(stats["model_objective"] == semalloc.solve(inst, "best").stats["model_objective"]), stats["starts"]
    (True, 7)
    """
    if users is None:
        users = np.nonzero(min_bits(inst) <= np.minimum(q, Q_MAX))[0]
    memo: dict = {}
    found = None
    sets = start_sets(inst.M)
    for allowed in sets:
        end = local_search(inst, q, greedy_subchannels(inst, users, allowed), value=value, memo=memo)
        if found is None or end[3]["model_objective"] > found[0][3]["model_objective"]:
            found = (end, allowed)
    (sub, power, band, stats), allowed = found
    ranked = [(sub, stats["model_objective"], power, band)] + [
        (np.frombuffer(k, dtype=sub.dtype).copy(), *memo[k]) for k in
        sorted((k for k in memo if k != sub.tobytes() and memo[k][0] > 0), key=lambda k: -memo[k][0])][:polished - 1]
    done = [polish(inst, s, q, p, b, value) if polished else (v, p, b) for s, v, p, b in ranked[:max(polished, 1)]]
    rank = int(np.argmax([v for v, _, _ in done]))                      # the first of equals: the search's own
    (sub, allocated), (objective, power, band) = ranked[rank][:2], done[rank]
    return to_variables(inst, sub, q, power, band), {**stats, "allocated": allocated, "model_objective": objective,
                                                     "polished_rank": rank, "starts": len(sets),
                                                     "start": list(allowed)}


def best(inst):
    """Ours: q_min bits, :func:`search` (moves and swaps of subchannels from a greedy start on every subset
    of subchannels), price search for power and bandwidth."""
    v, stats = search(inst, min_bits(inst))
    return v, "feasible", stats, ""


#: The most subchannels :func:`exact` takes: :func:`_min_power` splits the bandwidth exactly between two.
EXACT_MAX_SUBCHANNELS = 2


def exact(inst, tol: float = 1e-4, max_users: int = 3, max_subchannels: int = 2, time_limit: float = 60.0):
    """Certified optimum over every beamformer at q = q_min: :func:`branch_and_reduce` on every assignment,
    :func:`best`'s answer the incumbent.

    Zero-forcing beams give the allocations. An assignment with at most one user per subchannel loses
    nothing to them (one user's best beam is its channel's direction); one that shares a subchannel is
    bounded over every beamformer by the interference-free relaxation (``alone``). ``optimal`` when every
    assignment's bound is within ``tol`` of the answer, else ``feasible`` with that ``bound`` (a shared
    subchannel whose beams could do better than zero-forcing, or a search stopped at its box cap), or
    ``time_limit``.
    """
    if max_subchannels > EXACT_MAX_SUBCHANNELS:
        raise InputError("--set max_subchannels", f"at most {EXACT_MAX_SUBCHANNELS}, got {max_subchannels} (exact's "
                         "bandwidth split is exact between two used subchannels)", "sbq")
    if inst.K > max_users or inst.M > max_subchannels:
        raise InputError("instance", f"too large for exact: {inst.K} users, {inst.M} subchannels "
                         f"(at most {max_users} and {max_subchannels})", "sbq")
    t0 = time.perf_counter()
    q = min_bits(inst)
    users = np.nonzero(q <= Q_MAX)[0]
    start = best(inst)[0]                                  # incumbent: prunes whole assignments
    start_v = evaluate(inst, start).objective
    best_v, best_sol = start_v, None
    bounds, boxes, status = [], 0, "optimal"
    for sub in _assignments(inst, users):
        if time.perf_counter() - t0 > time_limit:
            status = "time_limit"
            break
        v, p, b, ub, nb = branch_and_reduce(inst, sub, q, tol, incumbent=best_v)
        boxes += nb
        if v > best_v:
            best_v, best_sol = v, to_variables(inst, sub, q, p, b)
        if np.bincount(sub[sub >= 0], minlength=inst.M).max(initial=0) > 1:    # beams beyond ZF: the relaxation
            v_all, _, _, ub, nb = branch_and_reduce(inst, sub, q, tol, incumbent=best_v, alone=True)
            boxes += nb
            ub = max(ub, v_all)
        bounds.append(ub)
    variables, reached = start, start_v
    if best_sol is not None and (found := evaluate(inst, best_sol).objective) > reached:
        variables, reached = best_sol, found               # the model's value, unless rounding lost it
    bound = max([best_v + tol, *bounds])                   # discarded boxes: within tol of the incumbent
    if status == "optimal" and bound > reached + tol + 1e-9 * max(1.0, abs(reached)):   # rounding: to_variables
        status = "feasible"                                # scales the power by 1 - 1e-12
    if status == "time_limit":                             # the assignments not visited are not bounded
        return variables, status, {"boxes": boxes, "tol": tol}, ""
    stats = {"boxes": boxes, "tol": tol, "bound": bound, "gap_abs": bound - reached,
             "certificate": "every assignment, q = q_min (dominant); zero-forcing beams, a shared subchannel "
                            f"bounded over every beam by its interference-free relaxation; absolute gap <= {tol:g}"
                            if status == "optimal" else
                            f"not certified: the bound {bound:.6g} is {bound - reached:.3g} above (a shared "
                            "subchannel's relaxation over every beam, a search at its box cap, or an allocation "
                            "that does not reach the model's value in floating point)"}
    return variables, status, stats, ""


#: The algorithms, in the order they are registered (and listed): name -> (function, summary).
ALGORITHMS = {
    "mapping": (mapping, "mapping-guided, fair: best's search on the S-SE-perceived QoS, fixed bits"),
    "mapping-equal": (mapping_equal, "mapping-guided: S-SE perception, Hungarian subchannels, fixed bits, "
                                     "equal split"),
    "fixed-bits": (fixed_bits, "q = 8 for every user; subchannels, power and bandwidth as in best"),
    "equal": (equal, "q_min bits, greedy subchannels, equal power and bandwidth, zero-forcing"),
    "random": (random, "random subchannels, bits, power and bandwidth shares (seeded)"),
    "best": (best, "ours: q_min bits, moves and swaps of subchannels from a greedy start on every subset of them, price search"),
    "exact": (exact, "every assignment x monotonic branch and reduce over rates (ZF beams); K <= 3, M <= 2"),
}


def register(problem) -> None:
    """Register every sbq algorithm of :data:`ALGORITHMS` on ``problem``."""
    for name, (fn, summary) in ALGORITHMS.items():
        problem.algorithm(name, summary)(fn)
