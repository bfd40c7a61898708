"""TCM, the traditional baseline of Liu et al. Fig. 3 ("the image is encoded
by JPEG and transmitted"), and Fig. 3 itself: classification accuracy
against the channel SNR for ASC at compression 0 %, 65 % and 80 % and TCM.

TCM (decisions in docs/models.md, compression section):

- the image is JPEG-encoded (Pillow) and sent over the *same number of
  channel uses* ``n`` as ASC at 0 % (one real symbol per feature, ``K``),
  with an ideal capacity-achieving code: ``n/2 log2(1 + SNR)`` bits arrive
  without error (the real AWGN channel's capacity per real symbol);
- the bits counted are the JPEG entropy-coded scan (start-of-scan to
  end-of-image): headers and Huffman/quantisation tables are fixed for a
  quality and known at the receiver, so they are not sent;
- each image is sent at the highest quality of :data:`QUALITIES` whose scan
  fits (a per-image choice, the strongest reading of the baseline);
- the receiver decodes it and classifies it with a classifier trained on
  clean images (the ASC network's architecture with a noiseless channel and
  every feature sent, :func:`train_clean_classifier`);
- **cliff**: when not even the lowest quality fits, nothing decodable
  arrives and the receiver classifies an all-zero image (one fixed guess,
  about 1/10 accuracy on ten balanced classes).

Examples
--------
>>> float(capacity_bits(0.0, 64))          # 64 real symbols at 0 dB: 1/2 bit each
32.0
>>> import numpy as np
>>> bits, decoded = jpeg_scan(np.zeros((2, 1, 8, 8), dtype=np.uint8), quality=50)
>>> bits.tolist(), decoded.shape
([16, 16], (2, 1, 8, 8))
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from .common import batches, load_dataset, require_torch, seed_all, torch

__all__ = ["QUALITIES", "FIG3_RATIOS", "capacity_bits", "jpeg_scan", "train_clean_classifier", "tcm_accuracy",
           "figure3"]

#: JPEG qualities TCM chooses from (Pillow's 1..95).
QUALITIES = (1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
#: ASC compression ratios drawn in Fig. 3.
FIG3_RATIOS = (0.0, 0.65, 0.8)


def capacity_bits(snr_db, channel_uses: int):
    """Bits an ideal code carries over ``channel_uses`` real AWGN symbols: ``n/2 log2(1 + SNR)``."""
    return channel_uses * 0.5 * np.log2(1.0 + 10.0 ** (np.asarray(snr_db, dtype=float) / 10.0))


def jpeg_scan(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """JPEG-encode ``(N, C, H, W)`` uint8 images (C = 1 grey or 3 RGB) at ``quality``;
    returns the bits of each entropy-coded scan (after the start-of-scan
    header, before the end-of-image marker) and the decoded images (uint8)."""
    from PIL import Image

    mode = {1: "L", 3: "RGB"}.get(images.shape[1])
    if mode is None:
        raise InputError("images", f"JPEG needs 1 or 3 channels, got {images.shape[1]}")
    bits, out = np.zeros(len(images), dtype=np.int64), np.zeros_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img[0] if mode == "L" else img.transpose(1, 2, 0), mode).save(buf, "JPEG", quality=int(quality))
        raw = buf.getvalue()
        sos = raw.index(b"\xff\xda")
        header = int.from_bytes(raw[sos + 2:sos + 4], "big")
        bits[i] = 8 * (len(raw) - (sos + 2 + header) - 2)            # scan bytes, without EOI
        dec = np.asarray(Image.open(io.BytesIO(raw)))
        out[i] = dec[None] if mode == "L" else dec.transpose(2, 0, 1)
    return bits, out


def train_clean_classifier(x, y, *, epochs: int, seed: int = 0, lr: float = 0.01, batch_size: int = 32):
    """TCM's classifier: the ASC network (:class:`~semalloc.learn.asc.ASCNet`) trained
    by cross-entropy on clean images with a noiseless channel and every feature sent."""
    from .asc import ASC_DEFAULTS, ASCNet

    require_torch()
    seed_all(seed)
    model = ASCNet(ASC_DEFAULTS["features"], ASC_DEFAULTS["width"], channels=x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    for _ in range(epochs):
        model.train()
        for idx in batches(len(x), batch_size, gen):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx], float("inf"))[0], y[idx]).backward()
            opt.step()
    return model.eval()


def tcm_accuracy(classifier, images, labels, snr_db, channel_uses: int, qualities=QUALITIES) -> dict:
    """TCM at each SNR of ``snr_db``: accuracy, the fraction of images that fit at
    some quality (the rest fall off the cliff) and the mean quality of those
    that fit. ``images`` are floats in [0, 1], ``(N, C, H, W)``."""
    u8 = np.round(images.cpu().numpy() * 255.0).clip(0, 255).astype(np.uint8)
    sizes, preds = [], []
    with torch.no_grad():
        for q in qualities:
            bits, dec = jpeg_scan(u8, q)
            sizes.append(bits)
            preds.append(classifier(torch.from_numpy(dec.astype(np.float32) / 255.0), float("inf"))[0].argmax(1))
        blank = classifier(torch.zeros_like(images[:1]), float("inf"))[0].argmax(1)
    sizes, preds = np.array(sizes), torch.stack(preds).numpy()                    # (Q, N)
    y, q = labels.numpy(), np.asarray(qualities)
    acc, fit, quality = [], [], []
    for s in np.atleast_1d(snr_db):
        ok = sizes <= capacity_bits(s, channel_uses)
        best = np.where(ok.any(0), len(q) - 1 - np.argmax(ok[::-1], axis=0), -1)  # highest quality that fits
        pred = np.where(best >= 0, preds[np.maximum(best, 0), np.arange(len(y))], int(blank))
        acc.append(float((pred == y).mean()))
        fit.append(float((best >= 0).mean()))
        quality.append(float(q[best[best >= 0]].mean()) if (best >= 0).any() else float("nan"))
    return {"accuracy": acc, "fit": fit, "quality": quality}


def figure3(out: str | Path, quick: bool = False, progress: bool = True, dataset: str = "digits", seed: int = 0,
            epochs: int | None = None, data: dict | None = None):
    """Fig. 3: train ASC (:func:`~semalloc.learn.asc.train_asc`) and TCM's clean
    classifier on ``dataset``, measure accuracy against the SNR for ASC at
    :data:`FIG3_RATIOS` (Grad-CAM drop order) and TCM at the same channel
    uses as ASC at 0 %; write ``compression-fig3[-quick].png`` and ``.json``
    under ``out``. ``epochs`` overrides the training epochs of both networks
    (default: :data:`~semalloc.learn.asc.ASC_DEFAULTS`, 8 with ``quick``, 50
    without); ``data`` holds :func:`~semalloc.learn.common.load_dataset`
    keywords (``data_dir``, ``size``, ``limit``). Returns ``(image, title, summary)`` (summary rows as
    :func:`semalloc.experiments.analysis.summarise`'s)."""
    from ..caches import pyplot
    plt = pyplot()

    from .asc import ASC_DEFAULTS, accuracy_curve, drop_order, train_asc

    require_torch()
    t0 = time.perf_counter()
    snrs = np.arange(-10.0, 25.1, 5.0 if quick else 2.5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # these networks are tiny: one thread took 1/10 of the CPU time of two (measured)
    try:
        model, info = train_asc(dataset, quick=quick, epochs=epochs, seed=seed, progress=progress, data=data)
        x_tr, y_tr, x_te, y_te = load_dataset(dataset, seed, **(data or {}))
        clf = train_clean_classifier(x_tr, y_tr, epochs=info["epochs"], seed=seed)
        order = drop_order("importance", model, x_tr, y_tr, seed)
        repeats = ASC_DEFAULTS["quick_repeats" if quick else "repeats"]
        asc = {o: [float(accuracy_curve(model, x_te, y_te, order, s, [o], repeats, seed + i)[0])
                   for i, s in enumerate(snrs)] for o in FIG3_RATIOS}
        K = model.config["features"]
        tcm = tcm_accuracy(clf, x_te, y_te, snrs, channel_uses=K)
    finally:
        torch.set_num_threads(threads)
    elapsed = time.perf_counter() - t0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"compression-fig3{'-quick' if quick else ''}"
    record = {"dataset": dataset, "seed": seed, "quick": quick, "snr_db": snrs.tolist(), "channel_uses": K,
              "asc": {f"{o:g}": v for o, v in asc.items()}, "tcm": tcm, "train_snr_db": info["train_snr_db"],
              "epochs": info["epochs"], "seconds": elapsed}
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1))
    title = f"Liu et al., Fig. 3: accuracy vs. channel SNR, ASC and TCM ({dataset}, {K} channel uses)"
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.4, 3.9))
    for (o, v), c in zip(asc.items(), ("tab:red", "tab:orange", "tab:purple")):
        a.plot(snrs, v, marker="o", ms=3.5, color=c, label=f"ASC={100 * o:.0f}%")
    a.plot(snrs, tcm["accuracy"], marker="s", ms=3.5, color="tab:blue", label="TCM (JPEG at capacity)")
    a.set(xlabel="channel SNR (dB)", ylabel="classification accuracy", ylim=(0, 1.02))
    b.plot(snrs, tcm["fit"], marker="s", ms=3.5, color="tab:blue", label="images whose JPEG scan fits")
    b.set(xlabel="channel SNR (dB)", ylabel="TCM: fraction of images delivered", ylim=(0, 1.02))
    bq = b.twinx()
    bq.plot(snrs, tcm["quality"], ls="--", color="tab:gray", label="mean JPEG quality sent")
    bq.set_ylabel("JPEG quality")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    b.legend(fontsize=8, loc="upper left")
    bq.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    image = stem.with_suffix(".png")
    fig.savefig(image, dpi=130)
    plt.close(fig)
    curves = {**{f"ASC={100 * o:.0f}%": v for o, v in asc.items()}, "TCM": tcm["accuracy"]}
    summary = [{"point": {"snr_db": float(s)}, "algorithm": name, "measure": "accuracy", "n": 1, "feasible": 1,
                "infeasible": 0, "failed": 0, "mean": v[i],
                "ci95": float("nan"), "min": v[i], "max": v[i], "gap": float("nan"), "time_s": elapsed}
               for i, s in enumerate(snrs) for name, v in curves.items()]
    return image, title, summary
