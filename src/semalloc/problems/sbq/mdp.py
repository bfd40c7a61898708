"""The SBQ slot as a decision process (wang-sbq-drl notes, "As a decision process"):
the agent's observation of a slot and the map from a hybrid action to a feasible allocation.

Pure numpy, shared by the gymnasium environment (:mod:`semalloc.rl.env`) and
the ``drl`` algorithm, so that an agent sees and acts on a slot the same way
in training and in ``semalloc solve``.

Observation: ``FEATURES(M) = M + 6`` numbers per user, flattened user by user:
the SNR of each subchannel at full power on an equal bandwidth share
(``Pmax ||h_km||^2 / (N0 B / M)``, dB, centred at 30 dB, / 15), ``n_k / 16``,
``D_k / 4``, ``q_min(n_k) / 8``, the spectral efficiency the deadline needs at
``q_min`` on an equal share (``log2(1 + D_k L n_k q_min / (T_max B / M)) / 8``),
and last slot's outcome of the user (score, effective). Clipped to
``[-OBS_CLIP, OBS_CLIP]``.

Hybrid action: discrete ``(subchannel + 1 per user (0 = none), q_k - 1 per
user)`` and continuous in ``[0, 1]``: ``(power weight per user, MRT-ZF mix per
user, bandwidth share per subchannel)``. :func:`allocation` maps it onto the
constraints: at most ``Nt`` users per subchannel (users in decreasing order
of power weight keep their choice while it has room; a user who finds it
full moves to its strongest subchannel with room, or is dropped when every
subchannel is full; the count is reported), powers normalised to ``Pmax``,
shares to ``B`` over the used subchannels, beam direction ``(1 - a) MRT + a ZF``.

Examples
--------
>>> import numpy as np
>>> import semalloc
>>> from semalloc.problems.sbq.mdp import observe, allocation, FEATURES
>>> inst = semalloc.generate("sbq", seed=0, users=3, antennas=2, subchannels=1)
>>> observe(inst).shape == (3 * FEATURES(1),)
True
>>> v, moved = allocation(inst, np.array([1, 1, 1]), np.array([1, 1, 1]),
...                         np.array([1.0, 0.5, 0.2]), np.ones(3), np.ones(1))
>>> v["subchannel"].tolist(), moved            # Nt = 2, M = 1: the lightest power weight is dropped
([0, 0, -1], 1)
>>> semalloc.evaluate(inst, v).feasible
True
"""
from __future__ import annotations

import numpy as np

from ...schema import Table
from ...units import SAFETY
from .beams import min_bits
from .evaluate import outcome
from .instance import Q_MAX

__all__ = ["observe", "observe_general", "allocation", "carry", "FEATURES", "SCENARIO", "OBS_CLIP"]

#: Observation entries are clipped to this magnitude.
OBS_CLIP = 10.0


def FEATURES(M: int) -> int:
    """Observation entries per user for ``M`` subchannels."""
    return M + 6


#: Entries the scenario-general observation appends to each user's: ``K / max_users``,
#: ``log10(Pmax / 1 W) / 2`` and the presence flag (1; 0 on the padding rows of absent users).
SCENARIO = 3


def observe_general(inst, max_users: int, last_score=None, last_effective=None, directions: bool = False,
                    channels: bool = False) -> np.ndarray:
    """The observation of the scenario-general agent: ``max_users`` rows of ``FEATURES(M) + SCENARIO``.

    Row ``k < K`` is user ``k``'s :func:`observe` features followed by the
    scenario (``K / max_users``, ``log10(Pmax / 1 W) / 2``) and a presence
    flag 1; rows ``K..max_users-1`` are zeros (absent users, masked by the
    policy). B, N0 and the deadline enter through the SNR and needed-rate
    features. ``directions``: each user's :func:`correlation` after its features; ``channels``: then its
    channel directions ``h_km / ||h_km||`` (``2 M N_t`` numbers: real and imaginary part per subchannel and
    antenna), which a ``sequential`` policy turns into zero-forcing residuals (:mod:`semalloc.rl.hybrid`).
    ``K > max_users`` is an ``InputError`` on ``agent``.

    Examples
    --------
    >>> import semalloc
    >>> inst = semalloc.generate("sbq", seed=0, users=2)
    >>> o = observe_general(inst, 4).reshape(4, -1)
    >>> o.shape, o[:, -1].tolist(), o[0, -3:-1].tolist()
    ((4, 12), [1.0, 1.0, 0.0, 0.0], [0.5, 0.0])
    """
    K = inst.K
    if K > max_users:
        from ...errors import InputError
        raise InputError("agent", f"the agent covers at most {max_users} users; the slot has {K}", "sbq")
    own = observe(inst, last_score, last_effective).reshape(K, -1)
    if directions:                                  # the users' spatial correlation, which ZF pairing needs
        own = np.hstack([own, correlation(inst)])
    if channels:                                    # each channel's direction h_km / ||h_km||: (re, im) per antenna
        u = inst.h / np.maximum(np.linalg.norm(inst.h, axis=2, keepdims=True), 1e-300)
        own = np.hstack([own, np.stack([u.real, u.imag], axis=-1).reshape(K, -1)])
    rows = np.zeros((max_users, own.shape[1] + SCENARIO), dtype=np.float32)
    rows[:K, :-SCENARIO] = own
    rows[:K, -SCENARIO:] = (K / max_users, np.log10(inst.power_max_w) / 2.0, 1.0)
    return rows.ravel()


def correlation(inst) -> np.ndarray:
    """(K, M): for each user and subchannel, the largest ``|h_km^H h_jm| / (||h_km|| ||h_jm||)`` over the
    other users j: how far zero-forcing with its most aligned neighbour would cost it."""
    u = inst.h / np.maximum(np.linalg.norm(inst.h, axis=2, keepdims=True), 1e-300)       # (K, M, Nt)
    c = np.abs(np.einsum("kmn,jmn->mkj", u.conj(), u))                                    # (M, K, K)
    c[:, np.arange(inst.K), np.arange(inst.K)] = 0.0
    return c.max(axis=2).T if inst.K > 1 else np.zeros((inst.K, inst.M))


def observe(inst, last_score=None, last_effective=None) -> np.ndarray:
    """The observation of slot ``inst`` (float32, ``K * FEATURES(M)``); the last outcome given, else the
    slot's ``last`` table (:func:`carry`), else zeros (a first slot)."""
    if last_score is None and "last" in inst.data:
        last_score, last_effective = inst.last.score, inst.last.effective
    K, M = inst.K, inst.M
    share = inst.bandwidth_hz / M
    gain = np.sum(np.abs(inst.h) ** 2, axis=2)                               # ||h_km||^2, (K, M)
    with np.errstate(divide="ignore"):
        snr_db = 10 * np.log10(inst.power_max_w * gain / (inst.noise_psd_w_hz * share))
    q = np.minimum(min_bits(inst), Q_MAX)
    need = np.log2(1.0 + inst.symbols * q / (inst.deadline_s * share))
    zeros = np.zeros(K)
    feats = np.column_stack([
        (snr_db - 30.0) / 15.0, inst.users.symbols_per_word / 16.0, inst.users.sentences / 4.0, q / 8.0,
        need / 8.0, zeros if last_score is None else last_score,
        zeros if last_effective is None else np.asarray(last_effective, dtype=float)])
    return np.clip(np.nan_to_num(feats, neginf=-OBS_CLIP), -OBS_CLIP, OBS_CLIP).astype(np.float32).ravel()


def carry(slot, previous, variables: dict):
    """``slot`` (the next slot of an episode) with the ``last`` table: the per-user outcome of ``variables``
    on ``previous`` (effective SC-QoS and whether effective), what an agent's observation carries.

    Examples
    --------
    >>> import semalloc
    >>> from semalloc.problems.sbq.instance import episode
    >>> first, second = episode(seed=1, slots=2)
    >>> v = semalloc.solve(first, "equal").variables
    >>> nxt = carry(second, first, v)
    >>> bool(abs(nxt.last.score.sum() - semalloc.evaluate(first, v).objective) < 1e-12), "last" in second.data
    (True, False)
    """
    o = outcome(previous, variables)
    return type(slot)(Table({**slot.data, "last": Table(score=o.score, effective=o.effective.astype(np.int64))}))


def allocation(inst, sub_choice, bits_choice, power, mix, shares) -> tuple[dict, int]:
    """Feasible solution variables for a hybrid action, and how many users the ``Nt`` cap moved or dropped.

    ``sub_choice`` in ``0..M`` (0 = none), ``bits_choice`` in ``0..Q_MAX - 1``
    (``q = choice + 1``); ``power`` (K), ``mix`` (K), ``shares`` (M) in [0, 1].
    A batch of actions (a leading axis of length S on every argument) gives
    variables with that leading axis and ``moved`` of shape (S,): the map of
    each action alone, at once (``drl`` with ``policy_samples`` scores its
    samples this way).
    """
    batch = np.ndim(sub_choice) == 2
    if not batch:
        sub_choice, bits_choice, power, mix, shares = (np.asarray(x)[None] for x in
                                                       (sub_choice, bits_choice, power, mix, shares))
    M, Nt = inst.M, inst.Nt
    h = inst.h
    want, q = _choices(sub_choice, bits_choice, M)
    weight = _unit(power)
    sub, slot, load = _cap(h, want, weight, Nt)
    moved = np.sum(sub != want, axis=-1)
    served = sub >= 0
    w = np.where(served, weight, 0.0)
    w = np.where(w.sum(axis=-1, keepdims=True) > 0, w, served)
    p = inst.power_max_w * (1 - SAFETY) * w / np.maximum(w.sum(axis=-1, keepdims=True), 1e-300)
    used = load > 0
    s = np.where(used, _unit(shares), 0.0)
    s = np.where(s.sum(axis=-1, keepdims=True) > 0, s, used)
    band = inst.bandwidth_hz * (1 - SAFETY) * s / np.maximum(s.sum(axis=-1, keepdims=True), 1e-300)
    u_zf = _zf_directions(h, sub, slot, load, Nt)
    u_mrt = _mrt(h, sub)[1]
    a = _unit(mix)[..., None]
    d = (1 - a) * u_mrt + a * u_zf
    norm = _norm(d, keepdims=True)
    d = np.where(norm > 1e-12, d / np.maximum(norm, 1e-300), u_mrt)
    beam = d * np.sqrt(np.where(served, p, 0.0))[..., None]
    v = {"subchannel": sub, "bits": q, "bandwidth_hz": band, "beam_re": beam.real, "beam_im": beam.imag}
    if batch:
        return v, moved
    return {k: x[0] for k, x in v.items()}, int(moved[0])


def _choices(sub_choice, bits_choice, M: int) -> tuple[np.ndarray, np.ndarray]:
    """``(want, q)``: the wanted subchannel (-1 = none) and the bits of the discrete action's choices,
    each clipped to its range (``np.clip``, without its overhead)."""
    want = np.minimum(np.maximum(np.asarray(sub_choice, dtype=np.int64), 0), M) - 1
    q = np.minimum(np.maximum(np.asarray(bits_choice, dtype=np.int64), 0), Q_MAX - 1) + 1
    return want, q


def _mrt(h, sub) -> tuple[np.ndarray, np.ndarray]:
    """``(hk, u)``: each user's channel on its subchannel (..., K, Nt; subchannel 0 if unserved) and its unit
    MRT direction."""
    hk = h[np.arange(h.shape[0]), np.maximum(sub, 0)]
    return hk, hk / np.maximum(_norm(hk, keepdims=True), 1e-300)


def _cap(h, want, weight, Nt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sub, slot, load)`` of a batch (S, K) of wanted subchannels under the ``Nt`` cap.

    Users in decreasing order of power weight (stable) keep their choice
    while it has room; a user who finds it full moves to its strongest
    subchannel with room (first of equals, as argmax), or is dropped when
    every subchannel is full. ``slot`` is a user's row on its subchannel (its
    rank there in that order), ``load`` (S, M) the users per subchannel.
    Actions with no subchannel over the cap are done at once, the others one
    by one (:func:`_cap_one`).
    """
    S, K = want.shape
    M = h.shape[1]
    order = np.argsort(-weight, axis=-1, kind="stable")
    rows = np.arange(S)[:, None]
    wo = want[rows, order]                                                  # wanted subchannel, in that order
    hit = wo[..., None] == np.arange(M)                                     # (S, K, M)
    rank = np.cumsum(hit, axis=1)[rows, np.arange(K), np.maximum(wo, 0)] - 1
    slot = np.zeros((S, K), dtype=np.int64)
    slot[rows, order] = np.where(wo >= 0, rank, 0)
    sub, load = want.copy(), hit.sum(axis=1)
    over = np.nonzero((load > Nt).any(axis=-1))[0]
    if over.size:
        norm = _norm(h).tolist()                                            # ||h_km||, (K, M), once a batch
        for i in over:
            sub[i], slot[i], load[i] = _cap_one(norm, want[i].tolist(), order[i].tolist(), M, Nt)
    return sub, slot, load


def _cap_one(norm: list, wanted: list, order: list, M: int, Nt: int) -> tuple[list, list, list]:
    """The cap's sequential rule for one action (``wanted`` subchannels, users in power-weight ``order``;
    ``norm[k][m] = ||h_km||``). K is small: plain Python beats numpy per user, and beats a numpy loop over
    user positions for the whole batch up to a few dozen actions over the cap."""
    K = len(wanted)
    load, chosen, slot = [0] * M, [-1] * K, [0] * K
    for k in order:
        m = wanted[k]
        if m < 0:
            continue
        if load[m] >= Nt:
            room = [j for j in range(M) if load[j] < Nt]
            if not room:
                continue
            m = max(room, key=norm[k].__getitem__)                          # first of equals, as argmax
        chosen[k], slot[k] = m, load[m]
        load[m] += 1
    return chosen, slot, load


def _unit(x) -> np.ndarray:
    """``np.clip(x, 0, 1)`` as floats (NaN stays NaN), at a fraction of its call overhead."""
    return np.minimum(np.maximum(np.asarray(x, dtype=float), 0.0), 1.0)


def _norm(x, keepdims: bool = False) -> np.ndarray:
    """``np.linalg.norm(x, axis=-1, keepdims=keepdims)`` of complex ``x``: the same arithmetic, bit for bit."""
    return np.sqrt((x.conj() * x).real.sum(axis=-1, keepdims=keepdims))


def _zf_directions(h, sub, slot, load, Nt) -> np.ndarray:
    """Unit ZF directions (S, K, Nt) of :func:`~semalloc.problems.sbq.beams.zf_directions`, for a batch (S, K)
    of assignments, all subchannels at once.

    User ``k`` is row ``slot[k]`` of its subchannel's ``H_m`` (rows ``h_k^H``,
    zero-padded to ``Nt x Nt``); for full row rank, ``pinv(H_m) = H_m^H G_m^-1``
    with ``G_m = H_m H_m^H`` (padded with ones on the diagonal, which leaves the
    users' block alone), so one batched solve gives every beam: user ``k``'s ZF
    column is ``conj(row slot[k] of G_m^-1 H_m)``. A subchannel whose ``G_m`` is
    singular or whose beams miss ``H W = I`` falls back to ``beams.zf_directions``.
    """
    S, K = sub.shape
    M = load.shape[-1]
    u = np.zeros((S, K, Nt), dtype=complex)
    si, ki = np.nonzero(sub >= 0)
    if si.size == 0:
        return u
    ms, rows = sub[si, ki], slot[si, ki]
    H = np.zeros((S, M, Nt, Nt), dtype=complex)
    H[si, ms, rows] = np.conj(h[ki, ms])
    G = H @ np.conj(np.swapaxes(H, -1, -2))
    pad = np.arange(Nt) >= load[..., None]                                  # (S, M, Nt) padded rows
    G[..., np.arange(Nt), np.arange(Nt)] += pad
    bad = np.zeros((S, M), dtype=bool)
    try:
        with np.errstate(all="ignore"):
            X = np.linalg.solve(G, H)                                       # rows: conj of the ZF columns
            eye = H @ np.conj(np.swapaxes(X, -1, -2))                        # H W, (S, M, Nt, Nt)
            target = np.eye(Nt) * ~pad[..., None, :]
            bad = ~np.all(np.abs(eye - target) <= 1e-9, axis=(-2, -1))
    except np.linalg.LinAlgError:
        X, bad = None, np.ones((S, M), dtype=bool)
    if X is not None:
        x = np.conj(X[si, ms, rows])
        with np.errstate(all="ignore"):                                     # NaN rows are redone below
            u[si, ki] = x / _norm(x, keepdims=True)
    for i, m in zip(*np.nonzero(bad & (load > 0))):                          # the exact old path
        idx = np.nonzero(sub[i] == m)[0]
        W = np.linalg.pinv(np.conj(h[idx, m]))
        u[i, idx] = (W / np.linalg.norm(W, axis=0)).T
    return u
