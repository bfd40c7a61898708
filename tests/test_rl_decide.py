"""The fast decision path of a slot: the vectorised action-to-allocation map and the numpy forward pass
return what the plain implementations return."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import semalloc  # noqa: E402
from semalloc.problems.sbq.beams import zf_directions  # noqa: E402
from semalloc.problems.sbq.instance import Q_MAX  # noqa: E402
from semalloc.problems.sbq.mdp import FEATURES, OBS_CLIP, allocation, observe  # noqa: E402
from semalloc.rl.hybrid import HybridPolicy  # noqa: E402
from semalloc.units import SAFETY  # noqa: E402


def _reference_allocation(inst, sub_choice, bits_choice, power, mix, shares):
    """The per-user loop and per-subchannel pseudo-inverse of the first implementation, verbatim."""
    K, M, Nt = inst.K, inst.M, inst.Nt
    sub = np.clip(np.asarray(sub_choice, dtype=np.int64), 0, M) - 1
    q = np.clip(np.asarray(bits_choice, dtype=np.int64), 0, Q_MAX - 1) + 1
    weight = np.clip(np.asarray(power, dtype=float), 0.0, 1.0)
    want, sub = sub, np.full(K, -1)
    load = np.zeros(M, dtype=np.int64)
    norm = np.linalg.norm(inst.h, axis=2)
    for k in np.argsort(-weight, kind="stable"):
        if want[k] < 0:
            continue
        m = want[k] if load[want[k]] < Nt else -1
        if m < 0 and (load < Nt).any():
            m = int(np.argmax(np.where(load < Nt, norm[k], -np.inf)))
        if m >= 0:
            sub[k], load[m] = m, load[m] + 1
    moved = int(np.sum(sub != want))
    served = sub >= 0
    w = np.where(served, weight, 0.0)
    w = w if w.sum() > 0 else served.astype(float)
    p = inst.power_max_w * (1 - SAFETY) * w / max(w.sum(), 1e-300)
    used = np.bincount(sub[served], minlength=M) > 0
    s = np.where(used, np.clip(np.asarray(shares, dtype=float), 0.0, 1.0), 0.0)
    s = s if s.sum() > 0 else used.astype(float)
    band = inst.bandwidth_hz * (1 - SAFETY) * s / max(s.sum(), 1e-300)
    u_zf, _ = zf_directions(inst, sub)
    hk = inst.h[np.arange(K), np.maximum(sub, 0)]
    u_mrt = hk / np.maximum(np.linalg.norm(hk, axis=1, keepdims=True), 1e-300)
    a = np.clip(np.asarray(mix, dtype=float), 0.0, 1.0)[:, None]
    d = (1 - a) * u_mrt + a * u_zf
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    d = np.where(norm > 1e-12, d / np.maximum(norm, 1e-300), u_mrt)
    beam = d * np.sqrt(np.where(served, p, 0.0))[:, None]
    return {"subchannel": sub, "bits": q, "bandwidth_hz": band, "beam_re": beam.real, "beam_im": beam.imag}, moved


def _random_action(rng, K, M, t):
    sub, bits = rng.integers(0, M + 1, K), rng.integers(0, Q_MAX, K)
    power, mix, shares = rng.random(K), rng.random(K), rng.random(M)
    if t % 4 == 0:
        power = np.round(power, 1)                       # ties in the power weights: stable order decides
    if t % 7 == 0:
        power = np.zeros(K)                              # no weight at all: equal powers
    if t % 9 == 0:
        shares = np.zeros(M)
    if t % 5 == 0:
        sub = np.full(K, 1)                              # everybody on subchannel 0: the cap moves users
    if t % 11 == 0:
        power, mix = power * 3 - 1, mix * 3 - 1          # out of [0, 1]: clipped
    return sub, bits, power, mix, shares


@pytest.mark.parametrize("seed", range(30))
def test_allocation_equals_the_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    K, M, Nt = int(rng.integers(1, 9)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    inst = semalloc.generate("sbq", seed=seed, users=K, antennas=Nt, subchannels=M)
    if seed % 3 == 0 and K > 1:
        inst.h[1] = inst.h[0]                            # identical channels: singular Gram, pinv fallback
    if seed % 5 == 0 and K > 2:
        inst.h[2] = 2j * inst.h[0]                       # collinear channels
    moved = 0
    for t in range(40):
        action = _random_action(rng, K, M, t)
        (ref, ref_moved), (got, got_moved) = _reference_allocation(inst, *action), allocation(inst, *action)
        assert got_moved == ref_moved
        moved += got_moved
        for key in ("subchannel", "bits", "bandwidth_hz"):
            assert np.array_equal(got[key], ref[key]), key
            assert got[key].dtype == ref[key].dtype, key
        for key in ("beam_re", "beam_im"):
            np.testing.assert_allclose(got[key], ref[key], rtol=0, atol=1e-10 * np.sqrt(inst.power_max_w))
        assert semalloc.evaluate(inst, got).feasible
    assert K <= Nt or moved > 0                          # the cap was exercised when it can bind


@pytest.mark.parametrize("seed", range(12))
def test_a_batch_of_actions_maps_and_scores_as_each_action_alone(seed):
    """allocation and outcome over a leading batch axis (drl's policy samples) = one action at a time."""
    from semalloc.problems.sbq.evaluate import outcome
    rng = np.random.default_rng(100 + seed)
    K, M, Nt = int(rng.integers(1, 13)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    inst = semalloc.generate("sbq", seed=seed, users=K, antennas=Nt, subchannels=M)
    if seed % 3 == 0 and K > 1:
        inst.h[1] = inst.h[0]                            # a singular Gram in some actions: the pinv fallback
    actions = [_random_action(rng, K, M, t) for t in range(23)]
    batch, moved = allocation(inst, *(np.array(part) for part in zip(*actions)))
    scores = outcome(inst, batch).score
    assert moved.shape == (23,) and batch["beam_re"].shape == (23, K, Nt) and scores.shape == (23, K)
    for i, action in enumerate(actions):
        one, one_moved = allocation(inst, *action)
        assert one_moved == moved[i]
        for key in ("subchannel", "bits", "bandwidth_hz"):
            assert np.array_equal(batch[key][i], one[key]), key
        for key in ("beam_re", "beam_im"):
            np.testing.assert_allclose(batch[key][i], one[key], rtol=0, atol=1e-12 * np.sqrt(inst.power_max_w))
        np.testing.assert_allclose(scores[i], outcome(inst, one).score, rtol=1e-9, atol=0)
        assert np.isclose(scores[i].sum(), semalloc.evaluate(inst, one).objective, rtol=1e-9, atol=0)


@pytest.mark.parametrize("K,M,hidden", [(6, 3, 128), (3, 1, 16), (8, 2, 32)])
def test_numpy_forward_pass_equals_torch_act(K, M, hidden):
    torch.manual_seed(K + M)
    net = HybridPolicy(users=K, subchannels=M, features=FEATURES(M), hidden=hidden).eval()
    rng = np.random.default_rng(K)
    obs = np.clip(rng.normal(0.0, 3.0, (200, K * FEATURES(M))), -OBS_CLIP, OBS_CLIP).astype(np.float32)

    def check():
        ref = net.act(torch.as_tensor(obs), deterministic=True)
        for i, o in enumerate(obs):
            got = net.act_one(o)
            assert np.array_equal(got["discrete"], ref["discrete"][i])
            np.testing.assert_allclose(got["continuous"], ref["continuous"][i], rtol=0, atol=1e-5)

    check()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)    # an in-place update must reach the numpy copy
    loss = sum(p.sum() for p in net.parameters())
    loss.backward()
    opt.step()
    check()
    before = net.act_one(obs[0])["continuous"].copy()
    net.load_state_dict(HybridPolicy(users=K, subchannels=M, features=FEATURES(M), hidden=hidden).state_dict())
    assert not np.array_equal(net.act_one(obs[0])["continuous"], before)
    check()


def test_agent_decides_a_default_slot_with_the_numpy_path():
    from semalloc.rl.checkpoint import Agent
    from semalloc.rl.env import split_action
    torch.manual_seed(0)
    net = HybridPolicy(users=6, subchannels=3, features=FEATURES(3)).eval()
    agent = Agent("hybrid", {}, net, {})
    for seed in range(20):
        inst = semalloc.generate("sbq", seed=seed)
        ref = net.act(torch.as_tensor(observe(inst))[None], deterministic=True)
        want, _ = _reference_allocation(inst, *split_action(6, 3, {"discrete": ref["discrete"][0],
                                                                   "continuous": ref["continuous"][0]}))
        got, _ = agent.decide(inst)
        assert np.array_equal(got["subchannel"], want["subchannel"])
        assert np.array_equal(got["bits"], want["bits"])
        np.testing.assert_allclose(got["bandwidth_hz"], want["bandwidth_hz"], rtol=1e-5)
        np.testing.assert_allclose(got["beam_re"], want["beam_re"], atol=1e-5)


def test_sampled_actions_follow_the_policy_distribution():
    torch.manual_seed(3)
    K, M = 4, 2
    net = HybridPolicy(users=K, subchannels=M, features=FEATURES(M), hidden=32).eval()
    obs = np.random.default_rng(1).normal(0.0, 2.0, K * FEATURES(M)).astype(np.float32)
    n = 4000
    batch = net.act_one(obs, n, np.random.default_rng(0))
    det, draws = {k: x[0] for k, x in batch.items()}, [{k: x[i] for k, x in batch.items()} for i in range(1, n + 1)]
    assert np.array_equal(det["discrete"], net.act_one(obs)["discrete"])
    np.testing.assert_array_equal(det["continuous"], net.act_one(obs)["continuous"])
    with torch.no_grad():
        _, _, sub_logits, bit_logits, _ = net.heads(torch.as_tensor(obs)[None])
    sub_p, bit_p = torch.softmax(sub_logits[0], -1).numpy(), torch.softmax(bit_logits[0], -1).numpy()
    d = np.array([a["discrete"] for a in draws])
    for k in range(K):                                   # Gumbel-max frequencies = softmax probabilities
        np.testing.assert_allclose(np.bincount(d[:, k], minlength=M + 1) / n, sub_p[k], atol=0.03)
        np.testing.assert_allclose(np.bincount(d[:, K + k], minlength=Q_MAX) / n, bit_p[k], atol=0.03)
    # given the deterministic subchannels, z = logit(action) is Gaussian around the deterministic z
    same = [a for a in draws if np.array_equal(a["discrete"][:K], det["discrete"][:K])]
    assert len(same) > 30
    logit = lambda x: np.log(x) - np.log1p(-x)          # noqa: E731
    dz = np.array([logit(a["continuous"].astype(float)) for a in same]) - logit(det["continuous"].astype(float))
    std = np.exp(np.repeat(net.log_std.detach().numpy(), [K, K, M]))
    np.testing.assert_allclose(dz.std(axis=0), std, rtol=0.35)
    assert np.all(np.abs(dz.mean(axis=0)) < 4 * std / np.sqrt(len(same)) + 1e-3)


def test_drl_with_samples_is_reproducible_and_never_worse_than_the_deterministic_action(tmp_path):
    from semalloc.errors import InputError
    from semalloc.rl.checkpoint import Agent
    torch.manual_seed(0)
    agent = Agent("hybrid", {"users": 4, "antennas": 2, "subchannels": 2},
                  HybridPolicy(users=4, subchannels=2, features=FEATURES(2), hidden=32).eval(), {})
    path = agent.save(tmp_path / "a.pt")
    gains = []
    for seed in range(15):
        inst = semalloc.generate("sbq", seed=seed, users=4, antennas=2, subchannels=2)
        plain = semalloc.solve(inst, "drl", agent=str(path))
        sampled = semalloc.solve(inst, "drl", agent=str(path), policy_samples=6)
        again = semalloc.solve(inst, "drl", agent=str(path), policy_samples=6)
        assert sampled.stats["policy_samples"] == 6 and plain.stats["policy_samples"] == 0
        assert sampled.objective == again.objective
        assert semalloc.evaluate(inst, sampled.variables).feasible
        assert sampled.objective >= plain.objective - 1e-12
        gains.append(sampled.objective - plain.objective)
    assert max(gains) > 0                                # an untrained policy: some draw beats its mode
    inst = semalloc.generate("sbq", seed=0, users=4, antennas=2, subchannels=2)
    with pytest.raises(InputError, match="samples"):
        semalloc.solve(inst, "drl", agent=str(path), policy_samples=-1)


def _one_opt_gain(agent, inst, variables, swaps: bool = False, choices=None) -> float:
    """The largest gain of changing one user's subchannel choice of ``variables`` (``swaps``: or of swapping two
    users' choices; the rest, its bits and the agent's median continuous action for each assignment as
    drl-local maps them), scored by ``evaluate``. ``choices``: the choices the search ended at, before the
    ``Nt`` cap moved users (default: ``variables``' subchannels)."""
    from semalloc.rl.env import to_allocation
    K, M, W = inst.K, inst.M, agent.K
    obs = torch.as_tensor(agent.observe(inst))[None]
    s = np.asarray(variables["subchannel"]) + 1 if choices is None else np.asarray(choices)
    bits = np.asarray(variables["bits"]) - 1
    base = semalloc.evaluate(inst, variables).objective
    trials = [(k, m, None) for k in range(K) for m in range(M + 1)]
    trials += [(i, s[j], j) for i in range(K) for j in range(i + 1, K)] if swaps else []
    gain = -np.inf
    for k, m, j in trials:
        sub = torch.zeros(1, W, dtype=torch.long)
        sub[0, :K] = torch.as_tensor(s)
        sub[0, k] = int(m)
        if j is not None:
            sub[0, j] = int(s[k])
        with torch.no_grad():
            z = agent.model.median(obs, sub)[0].numpy()
        c = np.concatenate([z[:K], z[W:W + K], z[2 * W:]])
        v, _ = to_allocation(inst, {"discrete": np.concatenate([sub[0, :K].numpy(), bits]), "continuous": c})
        gain = max(gain, semalloc.evaluate(inst, v).objective - base)
    return gain


def test_drl_local_is_feasible_never_below_drl_and_one_user_changes_no_longer_gain():
    """The shipped agent at small Pmax, where its mode leaves users unserved: the local search gains on
    some slots, never loses, and ends where no single user's subchannel change gains (1e-6: float32 medians)."""
    gains = []
    for seed in range(6):
        inst = semalloc.generate("sbq", seed=seed, power_max_w=0.01)
        plain, local = semalloc.solve(inst, "drl"), semalloc.solve(inst, "drl-local", reallocate=False)
        assert local.status == "feasible" and semalloc.evaluate(inst, local.variables).feasible
        assert local.objective >= plain.objective - 1e-12
        from semalloc.rl.checkpoint import SHIPPED, load
        assert _one_opt_gain(load(SHIPPED), inst, local.variables) <= 1e-6
        gains.append(local.objective - plain.objective)
    assert max(gains) > 0.05


@pytest.mark.parametrize("name, seeds", [("drl-local", (6, 7, 9)), ("drl-zf-local", (3, 9, 10))])
def test_the_local_search_with_swaps_continues_where_single_changes_stop_and_ends_where_no_swap_gains(name, seeds):
    """swaps=true: the search takes the same single changes, then swaps of two users' choices while one gains
    (a full subchannel admits no single move): never below the search without swaps, above it on some slots
    of K = 12 (three full subchannels), and it ends where neither a single change nor a swap of its choices
    gains. The seeds are chosen: the first three of 0-11 where swaps gain for each shipped agent (they gain
    on 4 and 5 of the 12)."""
    from semalloc.rl.checkpoint import SHIPPED, SHIPPED_ZF, load
    from semalloc.rl.search import local_search
    agent = load(SHIPPED if name == "drl-local" else SHIPPED_ZF)
    for seed in seeds:
        inst = semalloc.generate("sbq", seed=seed, users=12)
        plain, swapped = (semalloc.solve(inst, name, reallocate=False, swaps=sw) for sw in (False, True))
        assert swapped.status == "feasible" and semalloc.evaluate(inst, swapped.variables).feasible
        assert swapped.objective > plain.objective + 1e-3
        v, _, choices = local_search(agent.model, inst, agent.observe(inst), 2 * inst.K, swaps=True)
        assert semalloc.evaluate(inst, v).objective == pytest.approx(swapped.objective, abs=1e-6)   # BLAS threads
        assert _one_opt_gain(agent, inst, v, swaps=True, choices=choices) <= 1e-6
    with pytest.raises(semalloc.InputError, match=f"^--set swaps: {name}: must be true or false, got 'yes'"):
        semalloc.solve(inst, name, swaps="yes")                       # checked with every option, up front
    with pytest.raises(semalloc.InputError, match="^sbq: swaps: must be true or false, got 'yes'"):
        agent.decide(inst, local=True, swaps="yes")                   # and by the agent, called directly


def test_drl_local_with_one_change_moves_one_user_and_is_the_full_searchs_first_step():
    """changes=1: the best single change (or none), so the assignment differs from drl's in at most one
    user; the full search starts with the same change and only gains after it."""
    moved = 0
    for seed in range(4):
        inst = semalloc.generate("sbq", seed=seed, power_max_w=0.01)
        plain, one, full = (semalloc.solve(inst, a, **kw) for a, kw in
                            (("drl", {}), ("drl-local", {"changes": 1, "reallocate": False}),
                             ("drl-local", {"reallocate": False})))
        assert one.status == "feasible" and semalloc.evaluate(inst, one.variables).feasible
        assert plain.objective - 1e-12 <= one.objective <= full.objective + 1e-12
        differ = int(np.sum(one.variables["subchannel"] != plain.variables["subchannel"]))
        assert differ <= 1 + plain.stats["moved"] + one.stats["moved"]     # the Nt cap may move others
        moved += differ
    assert moved > 0
    with pytest.raises(semalloc.InputError, match="^sbq: changes: must be an integer >= 1, got 0"):
        semalloc.solve(inst, "drl-local", changes=0)


@pytest.mark.parametrize("name, plain_name", [("drl-local", "drl"), ("drl-zf-local", "drl-zf")])
def test_the_local_searchs_reallocation_gives_its_assignment_at_least_bests_power_and_bandwidth(name, plain_name):
    """reallocate (the default): the search's assignment and bits keep the agent's continuous action or take
    ``allocate``'s (best's price search), whichever scores higher: never below the search alone nor below
    ``allocate`` on the assignment it returns, and above the search on some slots at small Pmax (where the
    agents' own powers lose most: docs/models.md, issue 16, thirteenth session)."""
    from semalloc.problems.sbq.algorithms import allocate
    gains = []
    for seed in range(6):
        inst = semalloc.generate("sbq", seed=seed, power_max_w=0.01)
        plain, search, realloc = (semalloc.solve(inst, a, **kw) for a, kw in
                                  ((plain_name, {}), (name, {"reallocate": False}), (name, {})))
        assert realloc.status == "feasible" and semalloc.evaluate(inst, realloc.variables).feasible
        assert np.array_equal(realloc.variables["subchannel"], search.variables["subchannel"])
        assert realloc.objective >= search.objective - 1e-12 >= plain.objective - 2e-12
        value = allocate(inst, realloc.variables["subchannel"], realloc.variables["bits"])[0]
        assert realloc.objective >= value - 1e-9 * max(value, 1.0)
        gains.append(realloc.objective - search.objective)
    assert max(gains) > 0.01
    with pytest.raises(semalloc.InputError, match=f"^--set reallocate: {name}: must be true or false, got 'yes'"):
        semalloc.solve(inst, name, reallocate="yes")


def test_a_mapping_agents_reallocation_raises_what_it_perceives_and_keeps_its_bits():
    """An agent that learned from the S-SE-perceived reward searches and re-allocates on that perception:
    the re-allocated decision keeps the search's assignment and bits and is at least as good as the search
    by the perceived reward (not necessarily by the model's)."""
    from semalloc.rl.checkpoint import SHIPPED_MAPPING, load
    from semalloc.rl.env import scored
    agent = load(SHIPPED_MAPPING)
    gains = []
    for seed in range(4):
        inst = semalloc.generate("sbq", seed=seed, power_max_w=0.03)
        search, _ = agent.decide(inst, local=True)
        realloc, _ = agent.decide(inst, local=True, reallocate=True)
        assert semalloc.evaluate(inst, realloc).feasible
        assert all(np.array_equal(search[k], realloc[k]) for k in ("subchannel", "bits"))
        perceived = [scored(inst, v, "mapping")[1] for v in (search, realloc)]
        assert perceived[1] >= perceived[0] - 1e-9
        gains.append(perceived[1] - perceived[0])
    assert max(gains) > 0


def test_drl_zf_local_refuses_an_agent_without_the_zero_forcing_residuals():
    from semalloc.rl.checkpoint import SHIPPED
    with pytest.raises(semalloc.InputError, match="drl-zf needs a hybrid agent trained with --sequential --channels"):
        semalloc.solve(semalloc.generate("sbq", seed=0), "drl-zf-local", agent=str(SHIPPED))


def test_drl_local_refuses_agents_that_cannot_search():
    from semalloc.errors import InputError
    from semalloc.rl.checkpoint import SHIPPED_BY_PRESET, load
    inst = semalloc.generate("sbq", seed=0)
    with pytest.raises(InputError, match="drl-local needs a hybrid agent"):
        semalloc.solve(inst, "drl-local", agent=str(SHIPPED_BY_PRESET["td3"]))
    with pytest.raises(InputError, match="local"):
        load(SHIPPED_BY_PRESET["td3"]).decide(inst, local=True)
    with pytest.raises(InputError, match="^sbq: reallocate: re-allocates the local search's assignment: needs local=True"):
        load(SHIPPED_BY_PRESET["paper"]).decide(inst, reallocate=True)


def test_a_decision_runs_numpys_blas_on_one_thread_and_gives_the_callers_setting_back(monkeypatch):
    """OpenBLAS's threads on the batched small products of drl-local and drl-sampled wait for each other
    when another job holds a core (10-24 ms a slot instead of 1.4 ms): every decision in the main thread runs on
    one; in other threads it is left alone (the limit is process-wide: overlapping ones restore out of order)."""
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    from semalloc import threads
    from semalloc.rl.checkpoint import SHIPPED, _one_blas_thread, load
    agent = load(SHIPPED)
    inst = semalloc.generate("sbq", seed=3, power_max_w=0.01)
    seen, act_one = [], agent.model.act_one

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return act_one(*args, **kwargs)

    agent.model.act_one = spy
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        v, _ = agent.decide(inst, local=True)
        after = blas_threads()
    assert semalloc.evaluate(inst, v).feasible
    assert len(seen) >= 2 and all(s == {1} for s in seen)             # the mode and every pass of the search
    assert after == before
    calls = []          # threadpoolctl's limit is process-wide: decisions overlapping in threads (a Dask worker's)
                        # would restore each other's settings out of order, so only the main thread limits

    class Recorder:
        def limit(self, limits):
            calls.append((threading.current_thread().name, limits))
            return threadpool_limits(limits, user_api="blas")

    monkeypatch.setattr(threads, "_blas", Recorder)
    decide = _one_blas_thread(lambda: None)
    decide()
    worker = threading.Thread(target=decide, name="worker")
    worker.start()
    worker.join()
    assert calls == [(threading.main_thread().name, 1)]


def test_policy_samples_beyond_what_memory_holds_are_refused_up_front():
    """10^8 samples were killed by the kernel for memory after 80 s (the fuzz audit): refused at once."""
    from semalloc.rl.sbq_drl import MAX_SAMPLES
    inst = semalloc.generate("sbq", seed=0)
    for name in ("drl", "drl-sampled"):
        with pytest.raises(semalloc.InputError, match=f"^sbq: policy_samples: at most {MAX_SAMPLES:,}"):
            semalloc.solve(inst, name, policy_samples=10**8)
    assert semalloc.solve(inst, "drl-sampled", policy_samples=MAX_SAMPLES).status == "feasible"
