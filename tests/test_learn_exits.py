"""The learned early-exit network (issue 9): FLOPs vs PyTorch, exits, profile -> offloading generator."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import semalloc  # noqa: E402
from semalloc.learn import exits  # noqa: E402
from semalloc.perf.flops import exit_flops, load_exit_profile  # noqa: E402

SETTINGS = [[0.0, 0.0], [0.5, 0.5], [0.5, 1.5], [100.0, 100.0]]


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("exits") / "e.json"
    prof = exits.profile_exits("synthetic", SETTINGS, quick=True, epochs=3, seed=0, primary=2, out=out,
                               progress=False, data={"limit": 300})
    return prof, out


@pytest.mark.parametrize("shape,width", [((1, 32, 32), 0.25), ((3, 32, 32), 1.0), ((3, 96, 96), 0.5),
                                         ((1, 40, 36), 0.25)])
def test_flop_model_matches_pytorch_count(shape, width):
    model = exits.ExitNet(exits.balexnet(10, width), shape)
    counted = np.array(exits.torch_flops(model))
    estimate = exit_flops(model.spec, shape)
    assert np.all(np.abs(counted / estimate - 1) < 0.05), (counted, estimate)
    assert np.all(np.diff(counted) > 0)


def test_exit_decisions_match_a_loop():
    rng = np.random.default_rng(3)
    ent = rng.exponential(1.0, size=(3, 500))
    for t in ([0.2, 0.5], [0.0, 1.0], [5.0, 0.0]):
        expect = [next((m for m in range(2) if ent[m, i] < t[m]), 2) for i in range(500)]
        assert exits.exit_decisions(ent, t).tolist() == expect


def test_cascade_agrees_with_the_batched_decisions():
    torch.manual_seed(0)
    model = exits.ExitNet(exits.balexnet(10, 0.25), (1, 32, 32)).eval()
    x = torch.rand(20, 1, 32, 32)
    with torch.no_grad():
        ent = np.stack([exits.entropy(o).numpy() for o in model(x)])
        t = list(np.quantile(ent[:2], 0.4, axis=1))
        where = exits.exit_decisions(ent, t)
        assert [model.cascade(x[i:i + 1], t)[0] for i in range(20)] == where.tolist()


def test_training_loss_falls(profile):
    hist = profile[0]["training"]["history"]
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_exit_fractions_follow_the_thresholds(profile):
    rows = profile[0]["settings"]
    for row in rows:
        assert sum(row["exit_fractions"]) == pytest.approx(1.0)
        assert row["latency_ms"] > 0 and row["est_latency_ms"] > 0
    assert rows[0]["exit_fractions"] == [0.0, 0.0, 1.0]                  # entropy is never below 0
    assert rows[-1]["exit_fractions"] == [1.0, 0.0, 0.0]                 # every entropy is below 100 nats
    assert rows[1]["exit_fractions"][0] == rows[2]["exit_fractions"][0]   # same first threshold
    assert rows[2]["exit_fractions"][1] >= rows[1]["exit_fractions"][1]   # larger second threshold
    assert rows[0]["accuracy"] == pytest.approx(profile[0]["no_exit"]["accuracy"])
    assert rows[-1]["accuracy"] == pytest.approx(profile[0]["exit_accuracy_all"][0])
    f = profile[0]["flops"]
    assert f["max_rel_diff"] < 0.05 and f["cascade"][-1] > f["model"][-1]


def test_profile_loads_into_the_offloading_generator(profile):
    prof, out = profile
    learned = load_exit_profile(str(out))
    assert learned.exit_rates == tuple(prof["settings"][2]["exit_fractions"])
    default = semalloc.generate("offloading", seed=0)
    inst = semalloc.generate("offloading", seed=0, profile=str(out))
    assert not np.allclose(inst.tasks.recognition_flop, default.tasks.recognition_flop)
    side = np.sqrt(inst.tasks.bits / 3).round().astype(int)
    expect = [exit_flops(learned.network, (3, s, s))[m] for s, m in zip(side, inst.tasks.exit)]
    assert np.allclose(inst.tasks.recognition_flop, expect)
    assert set(inst.tasks.exit.tolist()) <= {m for m, r in enumerate(learned.exit_rates) if r > 0}
    assert semalloc.solve(inst, "fa").status in ("optimal", "feasible", "infeasible")   # evaluate accepts it
    with pytest.raises(semalloc.InputError, match="exit_rates"):
        semalloc.generate("offloading", profile=str(out), exit_rates=[0.2, 0.3, 0.5])
    with pytest.raises(semalloc.InputError, match="side"):
        semalloc.generate("offloading", profile=str(out), side=4)
