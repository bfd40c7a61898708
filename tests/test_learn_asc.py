"""The learned ASC transmitter (issue 9): training, channel, Grad-CAM, profile."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import semalloc  # noqa: E402
from semalloc.learn import asc  # noqa: E402
from semalloc.perf.eta import load_profile  # noqa: E402

SNRS = (-5.0, 0.0, 5.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("asc") / "asc.pt"
    model, info = asc.train_asc("digits", SNRS, quick=True, epochs=4, seed=0, checkpoint=ckpt, progress=False)
    return model, info, ckpt


@pytest.fixture(scope="module")
def profile(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("asc") / "asc.json"
    prof = asc.profile_asc("digits", SNRS, quick=True, seed=0, model=trained[0], out=out, progress=False)
    return prof, out


def test_training_loss_falls(trained):
    hist = trained[1]["history"]
    assert hist[-1]["loss"] < 0.5 * hist[1]["loss"]
    assert hist[-1]["acc"] > hist[1]["acc"]


@pytest.mark.parametrize("snr", [-5.0, 0.0, 13.0])
def test_awgn_layer_empirical_snr(snr):
    x = asc.power_normalise(torch.randn(4000, 64, generator=torch.Generator().manual_seed(1)) * 3.0)
    y = asc.awgn(x, snr, generator=torch.Generator().manual_seed(2))
    measured = 10 * np.log10(x.pow(2).mean().item() / (y - x).pow(2).mean().item())
    assert abs(measured - snr) < 0.2


def test_awgn_mask_sends_nothing_for_dropped_features():
    x = torch.ones(5, 4)
    y = asc.awgn(x, 0.0, torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.Generator().manual_seed(0))
    assert (y[:, 1] == 0).all() and (y[:, 3] == 0).all() and (y[:, 0] != 1).all()


def test_gradcam_matches_finite_differences():
    torch.manual_seed(0)
    net = asc.ASCNet(features=4, width=2).double().eval()
    maps = torch.rand(3, 4, 2, 2, dtype=torch.double) + 0.1
    c = torch.tensor([0, 3, 7])
    w = asc.gradcam_weights(net, maps, c)
    eps, fd = 1e-6, torch.zeros_like(w)
    for k in range(4):
        for i in range(2):
            for j in range(2):
                d = torch.zeros_like(maps)
                d[:, k, i, j] = eps
                yp = net.receiver(net.transmit(maps + d)).gather(1, c[:, None])[:, 0]
                ym = net.receiver(net.transmit(maps - d)).gather(1, c[:, None])[:, 0]
                fd[:, k] += (yp - ym) / (2 * eps) / 4                 # eq. (19): mean over W x H
    assert torch.allclose(w, fd, atol=1e-7, rtol=1e-5)


def test_profile_loads_into_compression_generator(profile):
    prof, out = profile
    loaded = load_profile(str(out))
    assert loaded.zeta == tuple(prof["zeta"]) and np.isfinite(loaded.rmse)
    default = semalloc.generate("compression", seed=0)
    inst = semalloc.generate("compression", seed=0, profile=str(out))
    assert inst.eta_profile.zeta != default.eta_profile.zeta
    o = np.linspace(0, 0.9, 10)
    assert not np.allclose(inst.eta_profile(o), default.eta_profile(o))
    data = json.loads(out.read_text())
    assert set(data["accuracy"]) == set(asc.ORDERS) and data["snr_db"] == list(SNRS)
    assert "torch" in data["versions"]


def test_accuracy_falls_as_compression_rises(profile):
    prof = profile[0]
    o = np.array(prof["o"])
    for kind in asc.ORDERS:
        mean = np.mean([prof["accuracy"][kind][k] for k in prof["accuracy"][kind]], axis=0)
        assert mean[o == 0][0] > mean[o >= 0.9].mean() + 0.3, kind
        rank_corr = np.corrcoef(np.argsort(np.argsort(o)), np.argsort(np.argsort(mean)))[0, 1]
        assert rank_corr < -0.8, kind


def test_checkpoint_round_trips_with_weights_only(trained):
    model, _, ckpt = trained
    raw = torch.load(str(ckpt), weights_only=True)
    assert set(raw) == {"state_dict", "config", "extra"}
    again, info = asc.load_asc(ckpt)
    images = torch.rand(6, 1, 8, 8)
    out_a = model(images, 0.0, generator=torch.Generator().manual_seed(3))[0]
    out_b = again(images, 0.0, generator=torch.Generator().manual_seed(3))[0]
    assert torch.equal(out_a, out_b) and info["seed"] == 0


def test_training_is_deterministic_for_a_seed():
    small = {"limit": 200}
    a, _ = asc.train_asc(quick=True, epochs=1, seed=5, progress=False, data=small)
    b, _ = asc.train_asc(quick=True, epochs=1, seed=5, progress=False, data=small)
    c, _ = asc.train_asc(quick=True, epochs=1, seed=6, progress=False, data=small)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_cli_loads_checkpoint_and_names_bad_input(trained, tmp_path):
    from typer.testing import CliRunner

    from semalloc.learn.cli import app
    out = tmp_path / "p.json"
    res = CliRunner().invoke(app, ["asc", "--snr", "-5", "0", "5", "--quick", "--no-progress", "--limit", "200",
                                   "--checkpoint", str(trained[2]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert load_profile(str(out)).name == "asc-digits-0db"
    bad = CliRunner().invoke(app, ["asc", "--dataset", "cifar", "-o", str(out)])
    assert bad.exit_code == 2 and "dataset" in bad.output
    bad = CliRunner().invoke(app, ["asc", "--snr", "x", "-o", str(out)])
    assert bad.exit_code == 2 and "snr" in bad.output
