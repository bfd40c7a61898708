"""The learned deep JSCC transmitter (issue 9): architecture, training, PSNR profile -> training generator."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import semalloc  # noqa: E402
from semalloc.learn import jscc  # noqa: E402
from semalloc.perf.psnr import load_profile  # noqa: E402

TINY = {"limit": 160}


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("jscc")
    prof = jscc.profile_jscc("synthetic", (0.1, 0.3), (0.0, 20.0), epochs=3, width=4, seed=0, progress=False,
                             checkpoint=d / "j.pt", out=d / "j.json", data=TINY)
    return prof, d


def test_encoder_sends_k_unit_energy_symbols():
    net = jscc.JSCCNet((3, 8, 8), [0.1, 0.25], [0.0, 10.0], width=4)
    z = net.encode(torch.rand(5, 3, 8, 8))
    ks = [jscc.symbols(0.1, (3, 8, 8)), jscc.symbols(0.25, (3, 8, 8))]
    for g, k in enumerate(ks):
        assert bool((z[:, g, k:] == 0).all())                                # unsent symbols
        assert torch.allclose(z[:, g, :k].pow(2).mean(1), torch.ones(5), atol=1e-5)   # power normalisation
    assert net(torch.rand(5, 3, 8, 8)).shape == (5, 2, 3, 8, 8)


def test_latent_keeps_enough_spatial_positions():
    for shape, side in (((1, 8, 8), 4), ((3, 32, 32), 8)):                  # one stride-2 layer below 32, two from 32
        net = jscc.JSCCNet(shape, [0.1, 0.3], [0.0, 10.0], width=2)
        z = net.encode(torch.rand(2, *shape))
        assert net.latent[1:] == (side, side) and z.shape[2] >= jscc.symbols(0.3, shape), (shape, net.latent)
        assert net(torch.rand(2, *shape)).shape == (2, 2, *shape)
    with pytest.raises(semalloc.InputError, match="size"):
        jscc.JSCCNet((1, 9, 9), [0.1], [0.0])


def test_networks_trained_together_do_not_share_gradients():
    net = jscc.JSCCNet((1, 8, 8), [0.1, 0.3], [5.0, 5.0], width=3)
    net(torch.rand(4, 1, 8, 8))[:, 0].sum().backward()                         # network 0's output only
    for name, p in net.named_parameters():
        half = p.shape[0] // 2
        assert p.grad[half:].abs().max() == 0, name
        if p.ndim > 1:                                                       # conv weights (a PReLU may see
            assert p.grad[:half].abs().max() > 0, name                        # only positive inputs)


def test_channel_noise_matches_the_snr():
    net = jscc.JSCCNet((1, 8, 8), [1.0], [3.0], width=2).eval()
    z = net.encode(torch.rand(400, 1, 8, 8))
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(0)) * net.sigma
    measured = 10 * np.log10(z.pow(2).mean().item() / noise.pow(2).mean().item())
    assert abs(measured - 3.0) < 0.2


def test_training_loss_falls(profile):
    hist = profile[0]["training"]["history"]
    assert all(last < first for first, last in zip(hist[0]["loss"], hist[-1]["loss"]))


def test_profile_loads_into_the_training_generator(profile):
    prof, d = profile
    model = load_profile(str(d / "j.json"))
    assert np.isclose(model.a, prof["a"]) and model.snr_db_max == 20.0
    fitted = model.psnr(np.array([p[0] for p in prof["points"]]), 10 ** (np.array([p[1] for p in prof["points"]]) / 10))
    assert np.sqrt(np.mean((fitted - [p[2] for p in prof["points"]]) ** 2)) == pytest.approx(prof["rmse"], abs=1e-9)
    default = semalloc.generate("training", seed=0)
    inst = semalloc.generate("training", seed=0, psnr_profile=str(d / "j.json"), psnr_min_db=10.0)
    assert inst.psnr["a"] == pytest.approx(prof["a"]) and inst.psnr["a"] != default.psnr["a"]
    data = json.loads((d / "j.json").read_text())
    assert len(data["points"]) == 4 and "torch" in data["versions"] and data["dataset"] == "synthetic"


def test_checkpoint_reloads_the_same_networks(profile, tmp_path):
    prof, d = profile
    again = jscc.profile_jscc("synthetic", (0.1, 0.3), (0.0, 20.0), width=4, seed=0, progress=False,
                              checkpoint=d / "j.pt", data=TINY)
    assert again["points"] == prof["points"] and again["training"]["history"] == []
    with pytest.raises(semalloc.InputError, match="checkpoint"):
        jscc.profile_jscc("synthetic", (0.1, 0.2), (0.0, 20.0), width=4, progress=False, checkpoint=d / "j.pt",
                          data=TINY)


def _table(prof, rhos, snrs):
    return np.array([[prof["psnr_db"][f"{r:g}"][f"{s:g}"] for s in snrs] for r in rhos])


def _mean_image_psnr():
    from semalloc.learn.common import load_dataset
    x_tr, _, x_te, _ = load_dataset("digits", 0)
    return float(jscc.psnr_db(x_te, x_tr.mean(0)[None, None].expand(len(x_te), 1, -1, -1, -1)).mean())


def test_digits_psnr_rises_with_rho_and_snr_short_training():
    """A 2x2 grid, 3 epochs (~5-10 s CPU): the corners of the quick grid are far apart (measured margins >= 1.1
    dB over seeds 0-3), and the networks clearly beat the mean image (about 11.4 dB; measured >= 4.8 dB above)."""
    torch.set_num_threads(1)
    prof = jscc.profile_jscc("digits", (0.1, 0.3), (4.0, 13.0), quick=True, epochs=3, progress=False)
    table = _table(prof, (0.1, 0.3), (4.0, 13.0))
    assert (np.diff(table, axis=0) > 0).all() and (np.diff(table, axis=1) > 0).all(), table
    assert table[-1, -1] > _mean_image_psnr() + 4.0, table


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_digits_quick_psnr_rises_with_rho_and_snr(seed):
    """The issue's check, `semalloc learn jscc --dataset digits --quick` (~65 s CPU per seed)."""
    torch.set_num_threads(1)
    rhos, snrs = (0.1, 0.2, 0.3), (4.0, 10.0, 13.0)
    table = _table(jscc.profile_jscc("digits", rhos, snrs, quick=True, seed=seed, progress=False), rhos, snrs)
    assert (np.diff(table, axis=0) > 0).all() and (np.diff(table, axis=1) > 0).all(), table
    assert table[-1, -1] > _mean_image_psnr() + 7.5, table
