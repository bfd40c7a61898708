"""The two swap matchings of the communication block (Zheng et al., Sec. III-B-1):
terminal association (Algorithm 1, eqs. 11-15) and subcarrier allocation
with holes (Algorithm 2, eqs. 16-22), on the generic engine
:func:`semalloc.solvers.matching.swap_matching`.

A terminal's preference value is its weighted delay ``ln(M_i t_u)`` (eqs.
11, 16), a BS's the sum over its terminals (eq. 13), a subcarrier's the
sum rate of the terminals on it over all BSs (eq. 18, higher is better, so
the engine sees its negative). Every candidate swap of a terminal is scored
in one batched evaluation of the model.

In Algorithm 1 two terminals at different BSs exchange their BSs; each
takes over the other's subcarriers and edge CPU share ("keeping all other
matching states the same", eq. 15; docs/models.md, offloading "Algorithms"). In
Algorithm 2 a terminal exchanges one of its subcarriers with another
subcarrier of its BS, held by another terminal or a hole (eq. 20).

Examples
--------
>>> from semalloc.problems.offloading.instance import generate
>>> from semalloc.problems.offloading.model import Model, initial_state
>>> from semalloc.problems.offloading.matching import match_association, match_subcarriers
>>> inst = generate(seed=4, terminals=8, base_stations=3, subcarriers=4)
>>> m = Model(inst)
>>> st = initial_state(m, seed=4)
>>> m.semantic_and_cpu(st) >= 1
True
>>> match_association(m, st).stable, match_subcarriers(m, st).stable
(True, True)
"""
from __future__ import annotations

import numpy as np

from ...solvers.matching import SwapReport, swap_matching
from .model import Model, State

__all__ = ["match_association", "match_subcarriers", "association_candidates", "subcarrier_candidates",
           "apply_association", "apply_subcarrier"]


def _bs_sums(cost: np.ndarray, bs: np.ndarray, K: int) -> np.ndarray:
    """Eq. 13: per BS, the sum of its terminals' costs; shape ``cost.shape[:-1] + (K,)``."""
    onehot = bs[..., None] == np.arange(K)
    return np.where(onehot, cost[..., None], 0.0).sum(axis=-2)


def association_candidates(m: Model, st: State, u: int):
    """Every swap of ``u`` with a terminal at another BS: values of (u, u', k, k') before and after."""
    k = st.bs[u]
    partners = np.nonzero((st.bs >= 0) & (st.bs != k))[0] if k >= 0 else np.zeros(0, dtype=np.int64)
    if len(partners) == 0:
        return np.zeros((0, 4)), np.zeros((0, 4)), partners
    B, b = len(partners), np.arange(len(partners))
    kp = st.bs[partners]
    occ = np.where(st.occ == u, partners[:, None, None], st.occ)                  # eq. 15: u's slots to u'
    occ = np.where(st.occ[None] == partners[:, None, None], u, occ)              # and u''s to u
    bs = np.tile(st.bs, (B, 1))
    bs[:, u], bs[b, partners] = kp, k
    f = np.tile(st.f, (B, 1))
    f[:, u], f[b, partners] = st.f[partners], st.f[u]
    cost = m.cost(m.rates(occ), st.e, f)                                          # eq. 11
    now = m.cost(m.rates(st.occ), st.e, st.f)
    phi, phi_now = _bs_sums(cost, bs, m.K), _bs_sums(now, st.bs, m.K)            # eq. 13
    before = np.stack([np.full(B, now[u]), now[partners], np.full(B, phi_now[k]), phi_now[kp]], axis=1)
    after = np.stack([cost[:, u], cost[b, partners], phi[:, k], phi[b, kp]], axis=1)
    return before, after, partners


def apply_association(st: State, u: int, p: int) -> None:
    """Perform the swap of eq. (15) in place."""
    su, sp = st.occ == u, st.occ == p
    st.occ[su], st.occ[sp] = p, u
    st.bs[[u, p]] = st.bs[[p, u]]
    st.f[[u, p]] = st.f[[p, u]]


def subcarrier_candidates(m: Model, st: State, u: int):
    """Every exchange of a subcarrier ``n`` of ``u`` with another subcarrier ``n'`` of
    its BS (a terminal's or a hole): values of (u, u', n, n') before and after."""
    k = st.bs[u]
    if k < 0:
        return np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 2), dtype=np.int64)
    mine, other = np.nonzero(st.occ[k] == u)[0], np.nonzero(st.occ[k] != u)[0]
    n, n2 = (a.ravel() for a in np.meshgrid(mine, other, indexing="ij"))
    B, b = len(n), np.arange(len(n))
    if B == 0:
        return np.zeros((0, 4)), np.zeros((0, 4)), np.zeros((0, 2), dtype=np.int64)
    partner = st.occ[k, n2]
    links_now = m.link_rates(st.occ)
    rate_now = m.rates(st.occ, links_now)
    now = m.cost(rate_now, st.e, st.f)
    col, col2 = st.occ[:, n].T.copy(), st.occ[:, n2].T.copy()
    col[b, k], col2[b, k] = partner, u                                              # eq. 20
    d1, links = m.column_delta(st.occ, links_now, n, col)                          # only n and n' change
    d2, links2 = m.column_delta(st.occ, links_now, n2, col2)
    cost = m.cost(np.maximum(rate_now + d1 + d2, 0.0), st.e, st.f)                  # eq. 16
    sub, sub2, sub_now = links.sum(axis=1), links2.sum(axis=1), links_now.sum(axis=0)   # eq. 18
    hole = partner < 0
    v = np.maximum(partner, 0)
    before = np.stack([np.full(B, now[u]), np.where(hole, np.nan, now[v]), -sub_now[n], -sub_now[n2]], axis=1)
    after = np.stack([cost[:, u], np.where(hole, np.nan, cost[b, v]), -sub, -sub2], axis=1)
    return before, after, np.stack([n, n2], axis=1)


def apply_subcarrier(st: State, u: int, move) -> None:
    """Perform the exchange of eq. (20) in place."""
    k, (n, n2) = st.bs[u], move
    st.occ[k, n], st.occ[k, n2] = st.occ[k, n2], u


def match_association(m: Model, st: State, max_rounds: int = 100) -> SwapReport:
    """Algorithm 1 in place, from the current association."""
    return swap_matching(np.nonzero(st.bs >= 0)[0], lambda u: association_candidates(m, st, u),
                         lambda u, p: apply_association(st, u, p), max_rounds)


def match_subcarriers(m: Model, st: State, max_rounds: int = 100) -> SwapReport:
    """Algorithm 2 in place: BS by BS, each terminal tries its exchanges."""
    order = np.argsort(st.bs, kind="stable")
    return swap_matching(order[st.bs[order] >= 0], lambda u: subcarrier_candidates(m, st, u),
                         lambda u, mv: apply_subcarrier(st, u, mv), max_rounds)
