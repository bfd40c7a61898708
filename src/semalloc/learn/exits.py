"""Early-exit inference (Zheng et al., Sec. IV-A): a B-AlexNet-style network
with two side exits (BranchyNet), entropy thresholds, joint training, measured
exit fractions, accuracy, CPU latency and FLOPs (Table II), profiled into the
``offloading`` generator.

The network is written once as FLOP-model data (:mod:`semalloc.perf.flops`:
:class:`~semalloc.perf.flops.Conv`, :class:`~semalloc.perf.flops.Dense`,
:class:`~semalloc.perf.flops.Exit`) by :func:`balexnet`, and :class:`ExitNet`
builds the torch modules from that description, so the FLOP model's count
(eq. 4) and PyTorch's own count (``FlopCounterMode``) are of the same network.
Trunk: AlexNet's five convolutions (5x5, 5x5, 3x3, 3x3, 3x3; 3x3/2 max pooling
after the 1st, 2nd and 5th) and three dense layers; exit 1 after the first
convolution (2 convolutions + 1 dense layer), exit 2 after the second
(1 convolution + 2 dense layers), as Sec. IV-A describes. A sample leaves at
the first side exit whose softmax entropy is below its threshold.
Modelling decisions: docs/models-learn.md.

Examples
--------
>>> from semalloc.learn.exits import balexnet, parse_thresholds
>>> net = balexnet(classes=10, width=0.25)
>>> net.exit_points, [e.after for e in net.exits]
(3, [1, 2])
>>> parse_thresholds(["0.0001,0.001", "0.0001,0.01"])
[[0.0001, 0.001], [0.0001, 0.01]]
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..perf.flops import Conv, Dense, Exit, Network, exit_flops, flops, network_to_dict, output_shape
from .common import (
    Module,
    batches,
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

__all__ = ["EXITS_DEFAULTS", "balexnet", "ExitNet", "entropy", "parse_thresholds", "exit_decisions", "train_exits",
           "load_exits", "torch_flops", "measure_latency", "profile_exits"]

#: Training and measurement settings; the thresholds are Table II's three settings.
EXITS_DEFAULTS = {"epochs": 30, "quick_epochs": 8, "batch_size": 64, "lr": 2e-3, "width": 1.0, "quick_width": 0.25,
                  "size": 32, "latency_samples": 500, "quick_latency_samples": 100,
                  "thresholds": [[1e-4, 1e-3], [1e-4, 5e-3], [1e-4, 1e-2]]}


def balexnet(classes: int = 10, width: float = 1.0) -> Network:
    """B-AlexNet (BranchyNet's CIFAR-10 variant) as FLOP-model data; ``width`` scales every layer."""
    def f(n):
        return max(1, int(round(n * width)))
    pool = {"pool": 3, "pool_stride": 2}
    trunk = (Conv(f(32), 5, padding=2, **pool), Conv(f(64), 5, padding=2, **pool), Conv(f(96), 3, padding=1),
             Conv(f(96), 3, padding=1), Conv(f(64), 3, padding=1, **pool), Dense(f(256)), Dense(f(128)),
             Dense(classes))
    exit1 = Exit(1, (Conv(f(64), 3, padding=1, **pool), Conv(f(32), 3, padding=1, **pool), Dense(classes)))
    exit2 = Exit(2, (Conv(f(32), 3, padding=1, **pool), Dense(f(128)), Dense(classes)))
    return Network(trunk, (exit1, exit2))


def _modules(layers, shape, final: bool):
    """Torch modules for FLOP-model ``layers`` on input ``shape``; ReLU after every
    layer but the last of a path ending in logits (``final``)."""
    out = []
    for i, layer in enumerate(layers):
        last = final and i == len(layers) - 1
        if isinstance(layer, Conv):
            out += [nn.Conv2d(shape[0], layer.filters, layer.kernel, layer.stride, layer.padding), nn.ReLU()]
            if layer.pool > 1:
                out.append(nn.MaxPool2d(layer.pool, layer.pool_stride or layer.pool))
        else:
            if len(shape) > 1:
                out.append(nn.Flatten())
            out.append(nn.Linear(int(np.prod(shape)), layer.units))
            if not last:
                out.append(nn.ReLU())
        shape = output_shape([layer], shape)
    return nn.Sequential(*out), tuple(int(v) for v in shape)


class ExitNet(Module):
    """The torch network of a FLOP-model :class:`~semalloc.perf.flops.Network` on
    ``shape`` inputs: trunk segments between the branch points, and the side exits."""

    def __init__(self, spec: Network, shape):
        super().__init__()
        self.spec, self.shape = spec, tuple(int(v) for v in shape)
        cuts = [e.after for e in spec.exits] + [len(spec.trunk)]
        segs, branches, s, done = [], [], self.shape, 0
        for j, cut in enumerate(cuts):
            seg, s = _modules(spec.trunk[done:cut], s, final=j == len(cuts) - 1)
            segs.append(seg)
            if j < len(spec.exits):
                branches.append(_modules(spec.exits[j].layers, s, final=True)[0])
            done = cut
        self.segments, self.branches = nn.ModuleList(segs), nn.ModuleList(branches)

    def forward(self, x):
        """Logits of every exit, in order (the last is the trunk's)."""
        out = []
        for j, seg in enumerate(self.segments):
            x = seg(x)
            out.append(self.branches[j](x) if j < len(self.branches) else x)
        return out

    def path(self, x, m: int):
        """Logits of exit ``m`` computing only its path (eq. 4): the trunk to the
        branch point, then the branch."""
        for j in range(min(m, len(self.branches)) + 1):
            x = self.segments[j](x)
        return self.branches[m](x) if m < len(self.branches) else x

    def cascade(self, x, thresholds):
        """Early-exit inference of one input: ``(exit index, logits)``."""
        for j, seg in enumerate(self.segments):
            x = seg(x)
            if j < len(self.branches):
                logits = self.branches[j](x)
                if entropy(logits).item() < thresholds[j]:
                    return j, logits
        return len(self.segments) - 1, x


def entropy(logits):
    """Entropy (nats) of the softmax of each row: ``-sum p ln p``."""
    logp = torch.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(1)


def parse_thresholds(values, exits: int = 2) -> list[list[float]]:
    """Threshold settings from ``--thresholds`` values, each ``t1,t2`` (one per side exit)."""
    out = []
    for v in values:
        try:
            t = [float(x) for x in str(v).split(",") if x.strip()]
        except ValueError:
            raise InputError("thresholds", f"{v!r} is not a comma-separated list of numbers") from None
        if len(t) != exits or not all(np.isfinite(x) and x >= 0 for x in t):
            raise InputError("thresholds", f"{v!r}: give {exits} non-negative entropy thresholds (t1,t2) per setting")
        out.append(t)
    if not out:
        raise InputError("thresholds", "give at least one threshold setting")
    return out


def exit_decisions(entropies: np.ndarray, thresholds) -> np.ndarray:
    """Exit index of each sample: the first side exit ``m`` with entropy below
    ``thresholds[m]``, else the last exit. ``entropies``: ``(exits, N)``."""
    below = np.vstack([entropies[:-1] < np.asarray(thresholds, dtype=float)[:, None],
                       np.ones((1, entropies.shape[1]), dtype=bool)])
    return np.argmax(below, axis=0)


def _given(data: dict | None) -> dict:
    """The data options that were given (None means "the default")."""
    return {k: v for k, v in (data or {}).items() if v is not None}


def train_exits(dataset: str = "digits", *, quick: bool = False, epochs: int | None = None, seed: int = 0,
                lr: float = EXITS_DEFAULTS["lr"], batch_size: int = EXITS_DEFAULTS["batch_size"],
                width: float | None = None, device: str = "cpu", checkpoint: str | Path | None = None,
                progress: bool = True, data: dict | None = None):
    """Joint training (the sum of the exits' cross-entropies, BranchyNet); returns
    ``(model, info)`` with the per-epoch loss and per-exit training accuracy."""
    require_torch()
    seed_all(seed)
    dev = pick_device(device)
    epochs = int(epochs if epochs is not None else EXITS_DEFAULTS["quick_epochs" if quick else "epochs"])
    width = float(width if width is not None else EXITS_DEFAULTS["quick_width" if quick else "width"])
    data = {"size": EXITS_DEFAULTS["size"], **_given(data)}
    x_tr, y_tr, _, _ = (t.to(dev) for t in load_dataset(dataset, seed, **data))
    classes = int(y_tr.max().item()) + 1
    model = ExitNet(balexnet(classes, width), tuple(x_tr.shape[1:])).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    history = []
    with progress_bar(epochs * math.ceil(len(x_tr) / batch_size), "B-AlexNet", progress) as advance:
        for epoch in range(epochs):
            model.train()
            loss_sum, correct = 0.0, np.zeros(model.spec.exit_points)
            for idx in batches(len(x_tr), batch_size, gen):
                outs = model(x_tr[idx])
                loss = sum(nn.functional.cross_entropy(o, y_tr[idx]) for o in outs)
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(idx) / len(x_tr)
                correct += [(o.argmax(1) == y_tr[idx]).sum().item() for o in outs]
                advance(loss=loss.item(), acc=(outs[-1].argmax(1) == y_tr[idx]).float().mean().item())
            history.append({"epoch": epoch, "loss": loss_sum, "acc": (correct / len(x_tr)).tolist()})
    info = {"dataset": dataset, "seed": int(seed), "epochs": epochs, "lr": float(lr), "batch_size": int(batch_size),
            "width": width, "device": str(dev), "history": history}
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, {"shape": list(model.shape), "classes": classes, "width": width},
                        {k: v for k, v in info.items() if k != "history"}, "exits")
    return model.eval(), info


def load_exits(path: str | Path, device: str = "cpu"):
    """``(model, info)`` from a checkpoint of :func:`train_exits` (``weights_only=True``)."""
    dev = pick_device(device)
    ckpt = load_checkpoint(path, map_location=dev, kind="exits")
    cfg = ckpt["config"]
    model = ExitNet(balexnet(cfg["classes"], cfg["width"]), cfg["shape"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise InputError("checkpoint", f"{str(path)!r} does not match its B-AlexNet config ({err})") from None
    return model.to(dev).eval(), dict(ckpt["extra"])


def torch_flops(model: ExitNet) -> list[float]:
    """PyTorch's FLOP count (``FlopCounterMode``) of each exit's path on one input."""
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.zeros(1, *model.shape, device=next(model.parameters()).device)
    out = []
    for m in range(model.spec.exit_points):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model.path(x, m)
        out.append(float(counter.get_total_flops()))
    return out


def measure_latency(model: ExitNet, images, thresholds, samples: int) -> float:
    """Mean CPU-side wall time (ms) of early-exit inference of one image, over
    the first ``samples`` images (after a warm-up of 10)."""
    imgs = images[:samples]
    with torch.no_grad():
        for x in imgs[:10]:
            model.cascade(x[None], thresholds)
        t0 = time.perf_counter()
        for x in imgs:
            model.cascade(x[None], thresholds)
    return 1e3 * (time.perf_counter() - t0) / len(imgs)


def profile_exits(dataset: str = "digits", thresholds=None, *, quick: bool = False, seed: int = 0,
                  primary: int = 0, checkpoint: str | Path | None = None, out: str | Path | None = None,
                  device: str = "cpu", progress: bool = True, data: dict | None = None, **train_kw) -> dict:
    """Train (or load ``checkpoint`` if it exists), then for every threshold
    setting measure the exit fractions, accuracy, CPU latency and its FLOP-model
    estimate (Table II); count FLOPs per exit with PyTorch and with the FLOP
    model. The profile's ``network`` and ``exit_rates`` (setting ``primary``)
    are what the ``offloading`` generator reads as ``profile=path.json``.
    """
    require_torch()
    settings = [list(map(float, t)) for t in (thresholds or EXITS_DEFAULTS["thresholds"])]
    if not 0 <= primary < len(settings):
        raise InputError("primary", f"must index one of the {len(settings)} threshold settings, got {primary}")
    if checkpoint is not None and Path(checkpoint).expanduser().is_file():
        model, info = load_exits(checkpoint, device)
    else:
        model, info = train_exits(dataset, quick=quick, seed=seed, device=device, checkpoint=checkpoint,
                                  progress=progress, data=data, **train_kw)
    dev = next(model.parameters()).device
    data = {"size": model.shape[1], **_given(data)}
    _, _, x_te, y_te = (t.to(dev) for t in load_dataset(dataset, seed, **data))
    if tuple(x_te.shape[1:]) != model.shape:
        raise InputError("checkpoint", f"the network takes {model.shape} images, the data set gives "
                         f"{tuple(x_te.shape[1:])}")
    with torch.no_grad():
        outs = model(x_te)
    ent = np.stack([entropy(o).cpu().numpy() for o in outs])
    right = np.stack([(o.argmax(1) == y_te).cpu().numpy() for o in outs])
    M, n = right.shape
    model_flops = exit_flops(model.spec, model.shape)                               # eq. 4, one input
    counted = torch_flops(model)
    branch_cost = [float(flops(e.layers, output_shape(model.spec.trunk[:e.after], model.shape)))
                   for e in model.spec.exits]
    cascade_flops = model_flops + np.concatenate([[0.0], np.cumsum(branch_cost)])  # side exits passed are computed too
    samples = EXITS_DEFAULTS["quick_latency_samples" if quick else "latency_samples"]
    full_ms = measure_latency(model, x_te, [-1.0] * (M - 1), samples)               # no early exit: every branch run
    rows = []
    for t in settings:
        if len(t) != M - 1:
            raise InputError("thresholds", f"{t}: give {M - 1} thresholds per setting")
        where = exit_decisions(ent, t)
        frac = np.bincount(where, minlength=M) / n
        exp_cascade = float(frac @ cascade_flops)
        rows.append({"thresholds": t, "exit_fractions": frac.tolist(),
                     "accuracy": float(right[where, np.arange(n)].mean()),
                     "exit_accuracy": [float(right[m, where == m].mean()) if (where == m).any() else None
                                       for m in range(M)],
                     "latency_ms": measure_latency(model, x_te, t, samples),
                     "est_latency_ms": full_ms * exp_cascade / float(cascade_flops[-1]),
                     "flops_eq4": float(frac @ model_flops), "flops_cascade": exp_cascade})
    profile = {
        "name": f"exits-{dataset}", "kind": "exits", "network": network_to_dict(model.spec),
        "input_shape": list(model.shape), "exit_rates": rows[primary]["exit_fractions"], "primary": int(primary),
        "source": f"semalloc learn exits: {dataset}, seed {seed}, thresholds {settings[primary]}",
        "dataset": dataset, "seed": int(seed), "settings": rows,
        "no_exit": {"accuracy": float(right[-1].mean()), "latency_ms": full_ms},
        "exit_accuracy_all": right.mean(axis=1).tolist(),
        "flops": {"model": model_flops.tolist(), "torch": counted, "cascade": cascade_flops.tolist(),
                  "max_rel_diff": float(np.max(np.abs(np.array(counted) / model_flops - 1.0)))},
        "training": info, "versions": versions(),
    }
    write_json(profile, out)
    return profile
