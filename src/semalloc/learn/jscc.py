"""Deep joint source-channel coding (Li et al., Sec. VII-A; Bourtsoulatze et
al.'s architecture), profiled into ``P(rho, S)`` (eq. 57, :mod:`semalloc.perf.psnr`).

Encoder: five 5x5 convolutions (``w, 2w, 2w, 2w, c`` filters; the first of
stride 2, the second too for images of side 32 or more, :func:`downsampling`),
each followed by a PReLU, then power normalisation; AWGN channel
(:func:`semalloc.learn.asc.awgn`); decoder: five transposed convolutions
mirroring the encoder, PReLU between them and a sigmoid at the end; He
initialisation. The compression rate ``rho`` is the number of real channel
symbols over the number of real source values ``C H W`` (Li et al.: "the
ratio of the size of semantic information to that of the original data"): the
encoder emits ``c = ceil(k / (H W / d^2))`` maps of side ``H / d`` (``d`` the
downsampling) and the first ``k = round(rho C H W)`` values are sent. One
network is trained per ``(rho, SNR)`` pair (MSE loss, Adam), its PSNR
measured on the test split at its SNR, and eq. (57) is fitted to the points
with :func:`semalloc.perf.psnr.fit_psnr`. The profile JSON loads into the
``training`` generator as ``psnr_profile=path.json``.
Modelling decisions: docs/models-learn.md.

Examples
--------
>>> from semalloc.learn.jscc import symbols
>>> symbols(0.1, (3, 32, 32)), symbols(0.3, (1, 8, 8))     # k = round(rho C H W)
(307, 19)
>>> from semalloc.learn.jscc import downsampling
>>> downsampling(8, 8), downsampling(32, 32)        # latent side H/2 for digits, H/4 for CIFAR-10
(2, 4)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..perf.psnr import PsnrModel, fit_psnr
from .common import (
    Module,
    batches,
    check_snrs,
    load_checkpoint,
    load_dataset,
    nn,
    pick_device,
    progress_bar,
    require_torch,
    save_checkpoint,
    seed_all,
    torch,
    versions,
    write_json,
)

__all__ = ["JSCC_DEFAULTS", "JSCCNet", "symbols", "downsampling", "psnr_db", "train_jscc", "measure_psnr",
           "fit_points", "profile_jscc"]

#: Adam, filters 16/32 (Bourtsoulatze et al.); lr, batch, epochs and the quick width are ours (docs/models-learn.md).
JSCC_DEFAULTS = {"epochs": 60, "quick_epochs": 20, "batch_size": 32, "lr": 5e-3, "width": 16, "quick_width": 8,
                 "repeats": 4, "quick_repeats": 2}


def symbols(rho: float, shape) -> int:
    """``k = round(rho C H W)``, at least 1: real channel symbols per image."""
    return max(1, int(math.floor(float(rho) * int(np.prod(shape)) + 0.5)))


def downsampling(h: int, w: int) -> int:
    """Spatial downsampling of the encoder: 4 (two stride-2 layers, Bourtsoulatze
    et al.'s 8x8 latent of 32x32 CIFAR-10 images) for sides of at least 32, else 2
    (one stride-2 layer: an 8x8 digit keeps a 4x4 latent instead of 2x2)."""
    return 4 if min(int(h), int(w)) >= 32 else 2


def _check_rhos(rhos) -> list[float]:
    rhos = [float(r) for r in rhos]
    bad = [r for r in rhos if not (np.isfinite(r) and 0.0 < r <= 1.0)]
    if not rhos or bad:
        raise InputError("rho", f"compression rates must be in (0, 1], got {bad[0] if bad else 'none'}")
    if len(set(rhos)) != len(rhos):
        raise InputError("rho", f"repeated compression rate in {rhos}")
    return rhos


class JSCCNet(Module):
    """Deep JSCC networks, one per ``(rho, SNR)`` pair, run side by side.

    Network ``g`` has its own weights (grouped convolutions with ``groups=G``
    keep the ``G`` networks apart: no weight is shared, each gets only its
    own loss's gradient, and Adam is element-wise, so training them together
    on the same batches is training each alone, only faster on a CPU).
    Each: five 5x5 convolutions with PReLU, power normalisation of its ``k_g``
    sent symbols, AWGN at ``snr_db[g]``, five 5x5 transposed convolutions.
    The networks start from the same initial weights and see the same noise
    draws (scaled to their SNR): common random numbers, so that the measured
    differences come from ``rho`` and the SNR, not from the draws.
    """

    def __init__(self, shape=(1, 8, 8), rho=(0.2,), snr_db=(10.0,), width: int = JSCC_DEFAULTS["width"]):
        super().__init__()
        ch, h, w = (int(v) for v in shape)
        down = downsampling(h, w)
        if h % down or w % down:
            raise InputError("size", f"deep JSCC needs image sides divisible by {down}, got {h}x{w}")
        rho, snr_db = [float(r) for r in np.atleast_1d(rho)], [float(v) for v in np.atleast_1d(snr_db)]
        if len(rho) != len(snr_db):
            raise InputError("rho", f"one SNR per compression rate, got {len(rho)} and {len(snr_db)}")
        self.config = {"shape": [ch, h, w], "rho": rho, "snr_db": snr_db, "width": int(width)}
        G = self.G = len(rho)
        ks = [symbols(r, shape) for r in rho]
        side = (h // down, w // down)
        self.latent = (math.ceil(max(ks) / (side[0] * side[1])), *side)
        n_lat = int(np.prod(self.latent))
        self.register_buffer("mask", (torch.arange(n_lat)[None, :] < torch.tensor(ks)[:, None]).float())
        self.register_buffer("sigma", torch.pow(10.0, -torch.tensor(snr_db) / 20.0)[:, None])
        c, w2 = self.latent[0], 2 * width
        strides = (2, 2 if down == 4 else 1, 1, 1, 1)
        chans = (ch, width, w2, w2, w2, c)

        def conv(i, o, s):
            return [nn.Conv2d(G * i, G * o, 5, s, 2, groups=G), nn.PReLU(G * o)]

        def tconv(i, o, s, act=True):
            return [nn.ConvTranspose2d(G * i, G * o, 5, s, 2, output_padding=s - 1, groups=G),
                    nn.PReLU(G * o) if act else nn.Sigmoid()]

        self.encoder = nn.Sequential(*(m for j in range(5) for m in conv(chans[j], chans[j + 1], strides[j])))
        self.decoder = nn.Sequential(*(m for j in range(5) for m in tconv(chans[5 - j], chans[4 - j], strides[4 - j],
                                                                          act=j < 4)))
        gain = nn.init.calculate_gain("leaky_relu", 0.25)
        with torch.no_grad():
            for m in self.modules():                # He initialisation for PReLU(0.25): std gain / sqrt(inputs of a
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):     # unit), torch's default is ~2.4x smaller
                    inputs = (m.in_channels // G) * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.normal_(0.0, gain / math.sqrt(inputs))
                    m.bias.zero_()
            for p in self.parameters():             # common random numbers: every network starts from network 0's draw
                p.copy_(p.reshape(G, -1)[:1].expand(G, -1).reshape(p.shape))

    def encode(self, images):
        """``(N, G, n_latent)`` channel symbols: network ``g`` sends its first
        ``k_g``, power-normalised to average energy 1; the rest are 0 (unsent)."""
        z = self.encoder(images.repeat(1, self.G, 1, 1)).reshape(len(images), self.G, -1) * self.mask
        energy = z.pow(2).sum(2, keepdim=True) / self.mask.sum(1)[None, :, None]
        return z / energy.clamp_min(1e-12).sqrt()

    def decode(self, received):
        """``(N, G, C, H, W)`` images from ``(N, G, n_latent)`` received symbols."""
        out = self.decoder(received.reshape(len(received), self.G * self.latent[0], *self.latent[1:]))
        return out.reshape(len(received), self.G, *self.config["shape"])

    def forward(self, images, generator=None):
        """Reconstructions ``(N, G, C, H, W)`` of ``images`` after each network's channel."""
        z = self.encode(images)                     # one noise draw, scaled per network (common random numbers)
        noise = torch.randn((len(z), 1, z.shape[2]), generator=generator, device=z.device, dtype=z.dtype)
        return self.decode((z + self.sigma * noise) * self.mask)          # AWGN; unsent symbols carry nothing


def psnr_db(images, recon):
    """PSNR in dB (peak 1), ``10 lg(1 / MSE)``, of each image and network:
    ``images`` ``(N, C, H, W)``, ``recon`` ``(N, G, C, H, W)`` -> ``(N, G)``."""
    mse = (images[:, None] - recon).pow(2).flatten(2).mean(2).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)


def train_jscc(x_train, rho, snr_db, *, epochs: int, seed: int = 0, lr: float = JSCC_DEFAULTS["lr"],
               batch_size: int = JSCC_DEFAULTS["batch_size"], width: int = JSCC_DEFAULTS["width"], advance=None):
    """Train the networks of the pairs ``(rho[g], snr_db[g])`` on their MSE (summed
    over ``g``: each network's gradient is its own); returns ``(model, history)``
    with each network's per-epoch loss (MSE) and training PSNR."""
    require_torch()
    seed_all(seed)
    model = JSCCNet(tuple(x_train.shape[1:]), rho, snr_db, width).to(x_train.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.Generator(device=x_train.device).manual_seed(int(seed) + 1)
    history = []
    for epoch in range(int(epochs)):
        model.train()
        tot_loss, tot_psnr = torch.zeros(model.G), torch.zeros(model.G)
        for idx in batches(len(x_train), batch_size, gen):
            x = x_train[idx]
            recon = model(x, noise)
            mse = (recon - x[:, None]).pow(2).flatten(2).mean(2).mean(0)          # (G,)
            opt.zero_grad()
            mse.sum().backward()
            opt.step()
            p = psnr_db(x, recon.detach()).mean(0).cpu()
            tot_loss += mse.detach().cpu() * len(idx) / len(x_train)
            tot_psnr += p * len(idx) / len(x_train)
            if advance is not None:
                advance(loss=mse.mean().item(), psnr=p.mean().item())
        history.append({"epoch": epoch, "loss": tot_loss.tolist(), "psnr": tot_psnr.tolist()})
    return model.eval(), history


def measure_psnr(model: JSCCNet, images, repeats: int = 2, seed: int = 0) -> np.ndarray:
    """Mean test PSNR (dB) of each network at its SNR, averaged over ``repeats``
    seeded noise draws, ``(G,)``."""
    model.eval()
    gen = torch.Generator(device=images.device).manual_seed(int(seed))
    with torch.no_grad():
        return np.mean([psnr_db(images, model(images, gen)).mean(0).cpu().numpy() for _ in range(repeats)], axis=0)


def fit_points(rho, snr_db, psnr) -> tuple[PsnrModel, float]:
    """Eq. (57) fitted to measured points, the best of a few starts (curvature
    ``a`` in 5, 10, 20, 40 dB with ``b`` put through the mean point, and the
    calibrated CIFAR-10 profile); returns ``(model, rmse_db)``."""
    rho, snr_db, psnr = (np.asarray(v, dtype=float) for v in (rho, snr_db, psnr))
    cap = float(snr_db.max())
    starts = [None]
    for a in (5.0, 10.0, 20.0, 40.0):
        c_rho, c_s = 5.0, 0.05
        b = math.exp(float(psnr.mean()) / a) - c_rho * float(rho.mean()) - c_s * float(np.minimum(snr_db, cap).mean())
        starts.append(PsnrModel(a, b, c_rho, c_s, cap))
    fits = []
    for x0 in starts:
        try:
            fits.append(fit_psnr(rho, snr_db, psnr, cap, x0))
        except (ValueError, FloatingPointError):
            continue
    return min(fits, key=lambda f: f[1] if np.isfinite(f[1]) else np.inf)


def profile_jscc(dataset: str = "digits", rho=(0.1, 0.2, 0.3), snr_db=(4.0, 10.0, 13.0), *, quick: bool = False,
                 seed: int = 0, epochs: int | None = None, lr: float = JSCC_DEFAULTS["lr"],
                 batch_size: int = JSCC_DEFAULTS["batch_size"], width: int | None = None,
                 checkpoint: str | Path | None = None, out: str | Path | None = None, device: str = "cpu",
                 progress: bool = True, data: dict | None = None) -> dict:
    """Train (or load from ``checkpoint``) one network per ``(rho, SNR)``, measure
    the test PSNR, fit eq. (57); returns (and writes to ``out``) the profile.

    The profile carries ``a, b, c_rho, c_s, snr_db_max`` (what
    :func:`semalloc.perf.psnr.load_profile` reads), ``rmse``, every measured
    ``points`` ``[rho, snr_db, psnr_db]``, the PSNR table, the training
    histories, the data set, seed and versions. ``checkpoint``: loaded if the
    file exists (it must hold the same grid), else written after training.
    """
    require_torch()
    rhos, snrs = _check_rhos(rho), check_snrs(snr_db)
    if len(rhos) * len(snrs) < 4:
        raise InputError("rho", f"eq. (57) has 4 parameters: give at least 4 (rho, SNR) pairs, got "
                         f"{len(rhos)} x {len(snrs)}")
    dev = pick_device(device)
    epochs = int(epochs if epochs is not None else JSCC_DEFAULTS["quick_epochs" if quick else "epochs"])
    width = int(width if width is not None else JSCC_DEFAULTS["quick_width" if quick else "width"])
    x_tr, _, x_te, _ = (t.to(dev) for t in load_dataset(dataset, seed, **(data or {})))
    pairs = [(r, s) for r in rhos for s in snrs]
    cfg = {"shape": list(x_tr.shape[1:]), "rho": [p[0] for p in pairs], "snr_db": [p[1] for p in pairs],
           "width": int(width)}
    if checkpoint is not None and Path(checkpoint).expanduser().is_file():
        ckpt = load_checkpoint(checkpoint, dev, kind="jscc")
        got = {k: ckpt["config"].get(k) for k in cfg}
        if got != cfg:
            raise InputError("checkpoint", f"{str(checkpoint)!r} holds networks for {got}, not {cfg}")
        model = JSCCNet(cfg["shape"], cfg["rho"], cfg["snr_db"], width).to(dev)
        model.load_state_dict(ckpt["state_dict"])
        history, info = [], dict(ckpt["extra"])
    else:
        steps = math.ceil(len(x_tr) / batch_size) * epochs
        with progress_bar(steps, f"deep JSCC x{len(pairs)}", progress) as advance:
            model, history = train_jscc(x_tr, cfg["rho"], cfg["snr_db"], epochs=epochs, seed=seed, lr=lr,
                                        batch_size=batch_size, width=width, advance=advance)
        info = {"dataset": dataset, "seed": int(seed), "epochs": epochs, "lr": float(lr),
                "batch_size": int(batch_size), "device": str(dev)}
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, cfg, info, "jscc")
    measured = measure_psnr(model, x_te, JSCC_DEFAULTS["quick_repeats" if quick else "repeats"], seed + 7)
    points = [[r, s, float(p)] for (r, s), p in zip(pairs, measured)]
    fit, rmse = fit_points(*np.array(points).T)
    shape = cfg["shape"]
    profile = {
        "name": f"jscc-{dataset}", "kind": "psnr", **fit.to_dict(), "rmse": rmse,
        "source": f"semalloc learn jscc: {dataset}, seed {seed}, least squares of eq. (57)",
        "dataset": dataset, "seed": int(seed), "image_shape": shape, "rho": rhos, "snr_db": snrs,
        "symbols": {f"{r:g}": symbols(r, shape) for r in rhos}, "points": points,
        "psnr_db": {f"{r:g}": {f"{s:g}": p for rr, s, p in points if rr == r} for r in rhos},
        "training": {**info, "width": int(width), "history": history},
        "versions": versions(),
    }
    write_json(profile, out)
    return profile
