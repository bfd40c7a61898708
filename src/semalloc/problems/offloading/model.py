"""The delay model the offloading algorithms work with, vectorised over
batches of candidate allocations (Zheng et al., eqs. 1-3, 7, 8, 25, 26a).

An allocation is a :class:`State`: the occupant of every subcarrier of every
BS (``occ[k, n]``, -1 for a hole), the BS of every terminal, its mode ``e``
and its edge CPU ``f``. :meth:`Model.rates` takes occupancies with any
leading batch axes, so that the matchings score all candidate swaps of a
terminal in one call.

Examples
--------
>>> from semalloc.problems.offloading.instance import generate
>>> from semalloc.problems.offloading.model import Model, initial_state
>>> inst = generate(seed=0, terminals=6, base_stations=2, subcarriers=4)
>>> m = Model(inst)
>>> st = initial_state(m, seed=0)
>>> m.semantic_and_cpu(st) >= 1
True
>>> ev = m.evaluation(st)                    # the independent evaluator agrees
>>> round(m.reward(st), 9) == round(ev.objective, 9)
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...result import RTOL, Evaluation
from ...solvers.logsplit import log_delay_split
from ...units import SAFETY
from .evaluate import evaluate, parse_variables

__all__ = ["Model", "State", "initial_state", "unreachable", "alone_delay", "linear_flops", "DEADLINE_MARGIN"]

#: Deadlines are planned with this relative margin, against rounding.
DEADLINE_MARGIN = 1e-10


def linear_flops(inst) -> np.ndarray:
    """The Linear baseline's recognition FLOPs (Sec. IV-C): ``theta_m * s_i`` with
    ``theta_m`` the mean computation density ``c_i / s_i`` of the tasks of exit point ``m``."""
    t = inst.tasks
    density = t.recognition_flop / t.bits
    theta = np.bincount(t.exit, weights=density) / np.maximum(np.bincount(t.exit), 1)
    return theta[t.exit] * t.bits


@dataclass
class State:
    """An allocation: ``occ`` (K, N) occupant or -1, ``bs`` (U,), ``e`` (U,) 0/1, ``f`` (U,) cycles/s."""

    occ: np.ndarray
    bs: np.ndarray
    e: np.ndarray
    f: np.ndarray

    def copy(self) -> "State":
        return State(self.occ.copy(), self.bs.copy(), self.e.copy(), self.f.copy())

    def variables(self) -> dict:
        U = len(self.bs)
        rho = np.zeros((U, self.occ.shape[1]), dtype=np.int64)
        k, n = np.nonzero(self.occ >= 0)
        rho[self.occ[k, n], n] = 1
        return {"bs": self.bs.copy(), "subcarriers": rho, "semantic": self.e.astype(np.int64), "cpu_hz": self.f.copy()}


class Model:
    """Per-terminal constants of the delay ``t = bits_e / r + cycles_e / f + local_e``.

    ``recognition_flop`` (per task) replaces the instance's ``c_i`` (the Linear
    baseline plans with its own model).
    """

    def __init__(self, inst, recognition_flop: np.ndarray | None = None):
        self.inst = inst
        self.U, self.K, self.N = inst.gain.shape
        psi = inst.flop_per_cycle
        c = inst.tasks.recognition_flop if recognition_flop is None else recognition_flop
        c = c[inst.terminals.task]
        bits = inst.task("bits")
        self.bits = np.stack([bits, bits / inst.task("compression")])                        # eq. 3, by e
        self.cycles = np.stack([c, c + inst.task("reconstruction_flop")]) / psi              # eq. 7, edge
        self.local = np.stack([np.zeros(self.U),
                               inst.task("extraction_flop") / (psi * inst.terminals.cpu_hz)])  # eq. 7, terminal
        self.log_priority = np.log(inst.task("priority"))
        self.deadline = inst.task("deadline_s") * (1.0 - DEADLINE_MARGIN)
        pad = np.concatenate([inst.gain, np.zeros((1, self.K, self.N))])
        self._gain = inst.power_w * pad.transpose(0, 2, 1)                                   # (U+1, N, K)
        self._n = np.arange(self.N)

    # ------------------------------------------------------------------ communication
    def link_rates(self, occ: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
        """Rate of the occupant of every ``(k, n)`` (eqs. 1-2); shape of ``occ``, 0 on holes.

        ``n``: the subcarrier of each column of ``occ`` (broadcast against it;
        default all N in order), so that single columns can be scored."""
        n = self._n if n is None else n
        rx = self._gain[np.where(occ < 0, self.U, occ), n]              # (..., K_c, N, K_j): P g_{u(c,n) j}^n
        signal = np.einsum("...knk->...kn", rx)
        interference = rx.sum(axis=-3).swapaxes(-1, -2) - signal       # eq. 1: the other BSs' users on n
        rate = self.inst.subcarrier_bandwidth_hz * np.log2(1.0 + signal / (interference + self.inst.noise_w))
        return np.where(occ >= 0, rate, 0.0)

    def column_delta(self, occ: np.ndarray, links: np.ndarray, n: np.ndarray,
                     cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates that each change one subcarrier: column ``n[b]`` of ``occ`` (K, N)
        becomes ``cols[b]`` (B, K). Only the K links on that subcarrier change
        (eq. 1 couples nothing else), so each costs O(K^2), not O(K^2 N).

        Returns the change of every terminal's rate (B, U) (eq. 2) and the new
        link rates of the column (B, K); ``links`` is :meth:`link_rates` of ``occ``.
        """
        B = len(n)
        old = occ[:, n].T                                                 # (B, K)
        new_links = self.link_rates(cols[:, :, None], n[:, None, None])[..., 0]
        who = np.concatenate([np.where(old < 0, self.U, old), np.where(cols < 0, self.U, cols)], axis=1)
        flat = (who + (self.U + 1) * np.arange(B)[:, None]).ravel()
        w = np.concatenate([-links[:, n].T, new_links], axis=1).ravel()
        delta = np.bincount(flat, weights=w, minlength=B * (self.U + 1)).reshape(B, self.U + 1)[:, : self.U]
        return delta, new_links

    def interference(self, occ: np.ndarray) -> np.ndarray:
        """Power the other BSs' occupants put on every ``(k, n)`` (the sum in eq. 1), shape ``(K, N)``."""
        rx = self._gain[np.where(occ < 0, self.U, occ), self._n]        # (K_c, N, K_j)
        return rx.sum(axis=0).T - np.einsum("knk->kn", rx)

    def rates(self, occ: np.ndarray, links: np.ndarray | None = None) -> np.ndarray:
        """Per-terminal uplink rate ``r_u`` (eq. 2), shape ``occ.shape[:-2] + (U,)``;
        ``links``: the :meth:`link_rates` of ``occ`` if already computed."""
        lead = occ.shape[:-2]
        B = int(np.prod(lead))
        links = self.link_rates(occ) if links is None else links
        flat = occ.reshape(B, -1)
        idx = np.where(flat < 0, self.U, flat) + (self.U + 1) * np.arange(B)[:, None]
        r = np.bincount(idx.ravel(), weights=links.reshape(B, -1).ravel(), minlength=B * (self.U + 1))
        return r.reshape(B, self.U + 1)[:, : self.U].reshape(*lead, self.U)

    # ------------------------------------------------------------------ delay and reward
    def delay(self, rate, e, f) -> np.ndarray:
        """``t_comm + t_comp`` (eqs. 3, 7); ``inf`` without rate or CPU."""
        e = np.asarray(e, dtype=np.int64)
        u = np.arange(self.U)
        with np.errstate(divide="ignore"):
            return self.bits[e, u] / rate + self.cycles[e, u] / f + self.local[e, u]

    def cost(self, rate, e, f) -> np.ndarray:
        """``ln(M_i t_u)`` (eq. 11), the weighted delay every matching minimises."""
        with np.errstate(divide="ignore"):
            return self.log_priority + np.log(self.delay(rate, e, f))

    def reward_of(self, cost) -> np.ndarray:
        """System reward (eq. 9a) from the costs, summed over the last axis."""
        return (self.inst.reward_c2 - self.inst.reward_c1 * cost).sum(axis=-1)

    def reward(self, st: State) -> float:
        return float(self.reward_of(self.cost(self.rates(st.occ), st.e, st.f)))

    def violations(self, st: State) -> int:
        """Terminals over their deadline (or unserved)."""
        t = self.delay(self.rates(st.occ), st.e, st.f)
        return int(np.sum(~(t <= self.inst.task("deadline_s"))))

    def merit(self, st: State) -> tuple[int, float]:
        """What BCD never lets decrease: fewer deadline violations, then more reward."""
        return (-self.violations(st), self.reward(st))

    def evaluation(self, st: State) -> Evaluation:
        """The independent evaluator on this state (the true instance, not the plan)."""
        return evaluate(self.inst, parse_variables(self.inst, st.variables()))

    # ------------------------------------------------------------------ computation (Alg. 3)
    def best_mode(self, rate, f) -> np.ndarray:
        """Eq. 25: the mode of smaller delay for each terminal (given ``r`` and ``f``)."""
        return (self.delay(rate, np.ones(self.U), f) < self.delay(rate, np.zeros(self.U), f)).astype(np.int64)

    def cpu_split(self, rate, e, bs, uniform: bool = False, iters: int = 80) -> np.ndarray:
        """Problem 26a by its KKT conditions (:func:`~semalloc.solvers.logsplit.log_delay_split`),
        batched over leading axes of ``rate``, ``e``, ``bs``; ``uniform``: the UC baseline.

        Deadlines (9h) enter as lower bounds ``f >= cycles / (tau - alpha)``; on a
        server where they cannot all hold, they are dropped (the evaluator
        reports the violation). ``iters``: bisection steps on ``ln lambda`` (80: the
        bracket, at most a few hundred wide, shrinks below double resolution).
        """
        rate, e, bs = np.broadcast_arrays(rate, e, bs)
        lead = rate.shape[:-1]
        B = int(np.prod(lead))
        rate, e, bs = rate.reshape(B, self.U), e.reshape(B, self.U), bs.reshape(B, self.U)
        u = np.arange(self.U)
        alpha = np.where(rate > 0, self.bits[e, u] / np.where(rate > 0, rate, 1.0), np.inf) + self.local[e, u]
        beta = self.cycles[e, u] * np.ones_like(alpha)
        ok = (bs >= 0) & np.isfinite(alpha)
        group = (np.arange(B)[:, None] * self.K + np.maximum(bs, 0))[ok]
        budget = np.tile(self.inst.base_stations.cpu_hz, B)
        f = np.zeros((B, self.U))
        if uniform:
            count = np.bincount(group, minlength=B * self.K)
            f[ok] = budget[group] * (1.0 - SAFETY) / count[group]
            return f.reshape(*lead, self.U)
        slack = np.broadcast_to(self.deadline, alpha.shape)[ok] - alpha[ok]
        lower = np.where(slack > 0, beta[ok] / np.where(slack > 0, slack, 1.0), 0.0)
        need = np.bincount(group, weights=lower, minlength=B * self.K)
        lower = np.where(need[group] <= budget[group] * (1.0 - 2 * SAFETY), lower, 0.0)
        f[ok] = log_delay_split(alpha[ok], beta[ok], lower, group, budget, iters)
        return f.reshape(*lead, self.U)

    def semantic_and_cpu(self, st: State, mode: bool = True, uniform: bool = False,
                         max_iter: int = 50, tol: float = 1e-12) -> int:
        """Algorithm 3 in place: ``e`` by eq. 25 (unless ``mode`` is fixed) and
        ``f`` by problem 26a, alternately, until the reward stops improving.
        Returns the iterations."""
        rate = self.rates(st.occ)
        prev = -np.inf
        for it in range(1, max_iter + 1):
            if mode:
                if np.all(st.f[st.bs >= 0] > 0):
                    st.e = self.best_mode(rate, st.f)
                else:                                    # no split yet: plan it with each mode, keep the better
                    st.e = self.best_mode(rate, self.cpu_split(rate, self.best_mode(rate, np.inf), st.bs))
            st.f = self.cpu_split(rate, st.e, st.bs, uniform)
            now = float(self.reward_of(self.cost(rate, st.e, st.f)))
            if not now > prev + tol * max(1.0, abs(now)):
                return it
            prev = now
        return max_iter


def initial_state(model: Model, seed: int = 0, bs: np.ndarray | None = None) -> State:
    """One draw of Algorithm 4's random initial matching.

    Association (unless ``bs`` is given): each terminal, in random order, to
    the BS of strongest gain that still has room (a BS serves at most N
    terminals): a uniformly random association breaks the deadlines (9h)'
    the paper's initial matching must meet (docs/models.md, "Initial point: the missed deadline was our bug").
    Subcarriers: every terminal gets the same number ``q = N // (largest
    load)`` of subcarriers of its BS, at random positions; the other
    subcarriers are holes. (Dealing every subcarrier of a lightly loaded BS
    to its few terminals floods the other cells with interference and breaks
    deadlines there.) ``f = 0`` and ``e = 0`` until
    :meth:`Model.semantic_and_cpu` sets them. Terminals that find no room
    stay unassociated (``bs = -1``).
    """
    rng = np.random.default_rng(seed)
    U, K, N = model.U, model.K, model.N
    if bs is None:
        room = np.full(K, N)
        order = np.argsort(-model.inst.gain.mean(axis=2), axis=1)
        bs = np.full(U, -1)
        for u in rng.permutation(U):
            free = order[u][room[order[u]] > 0]
            if len(free):
                bs[u] = free[0]
                room[free[0]] -= 1
    bs = np.asarray(bs, dtype=np.int64)
    load = np.bincount(bs[bs >= 0], minlength=K)
    q = N // max(int(load.max(initial=0)), 1)
    occ = np.full((K, N), -1)
    for k in range(K):
        members = rng.permutation(np.nonzero(bs == k)[0])[:N]       # beyond N terminals: no room
        slots = np.repeat(members, max(q, 1))
        occ[k, rng.choice(N, len(slots), replace=False)] = slots
    bs = np.where(np.isin(np.arange(U), occ), bs, -1)
    return State(occ, bs, np.zeros(U, dtype=np.int64), np.zeros(U))


def unreachable(inst) -> tuple[np.ndarray, str]:
    """Terminals that provably miss their deadline under every allocation, and why.

    A terminal's delay is at least its delay alone in the system: every
    subcarrier of a BS, no interference, the whole server, the better mode
    and BS (eqs. 1-3, 7). If that exceeds ``tau_i`` no allocation meets
    (9h). And only ``K N`` terminals can hold a subcarrier (9f): with
    ``U > K N`` some terminal has no rate whatever the allocation.

    Examples
    --------
    >>> from semalloc.problems.offloading.instance import generate
    >>> bad, why = unreachable(generate(seed=0, terminals=5, base_stations=1, subcarriers=2))
    >>> why
    'only K N = 2 terminals can hold a subcarrier (eq. 9f), the instance has U = 5'
    >>> unreachable(generate(seed=0, terminals=5, base_stations=2, subcarriers=4))[0].tolist()
    []
    """
    U, K, N = inst.gain.shape
    if U > K * N:
        return np.arange(U), f"only K N = {K * N} terminals can hold a subcarrier (eq. 9f), the instance has U = {U}"
    alone = alone_delay(inst)
    tau = inst.task("deadline_s")
    bad = np.nonzero(alone > tau * (1.0 + RTOL))[0]            # evaluate's tolerance: a proof, not a guess
    why = "; ".join(f"terminal {u}: at least {alone[u]:.6g} s alone in the system > deadline {tau[u]:.6g} s"
                    for u in bad)
    return bad, why


def alone_delay(inst) -> np.ndarray:
    """A lower bound on every terminal's delay under any allocation: its delay
    alone in the system, on every subcarrier of a BS without interference,
    with the whole server, in the better mode at the better BS (eqs. 1-3, 7)."""
    m = Model(inst)
    snr = inst.power_w * inst.gain / inst.noise_w                                      # (U, K, N)
    rate = inst.subcarrier_bandwidth_hz * np.log2(1.0 + snr).sum(axis=2)               # (U, K)
    cpu = inst.base_stations.cpu_hz
    alone = [m.bits[e][:, None] / rate + m.cycles[e][:, None] / cpu + m.local[e][:, None] for e in (0, 1)]
    return np.min(alone, axis=(0, 2))
