"""Adaptable semantic compression (Liu et al., Sec. III), scaled to 8x8 digits,
profiled into ``eta(o)`` (:mod:`semalloc.perf.eta`).

Transmitter: a semantic encoder ``S_alpha`` (eq. 1: conv, two residual blocks,
global pooling; Table III with the widths scaled to 8x8 images) gives ``K``
feature maps ``A^k``, pooled to ``K`` scalar features; ASC (eqs. 2-3) drops the
features whose Grad-CAM importance (eq. 19) is below the threshold
``omega_0`` that leaves a fraction ``o`` of them unsent; each sent feature is
one real channel symbol, power-normalised to average energy 1 per symbol, and
crosses an AWGN channel of the given SNR. Receiver: a dense channel decoder
and the dense classifier of Table III (widths scaled). Training minimises
eq. (18), ``L_T - kappa I_up(X; Y)``, with the CLUB upper bound of eq. (16)
(Cheng et al.'s variational ``q_theta(y|x)``), in the paper's two phases.

``profile_asc`` measures accuracy against ``o`` at each SNR for three drop
orders (Grad-CAM importance, activation magnitude, random), fits ``eta(o)``
with both fitters of :mod:`semalloc.perf.eta` and returns (and writes) a
profile JSON that ``semalloc.generate("compression", profile=path)`` loads.
Modelling decisions: docs/models-learn.md.

Examples
--------
>>> from semalloc.learn.asc import ASC_DEFAULTS
>>> ASC_DEFAULTS["kappa"], ASC_DEFAULTS["batch_size"]     # Table II
(0.001, 32)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..perf.eta import EtaProfile, fit_gradient_descent, fit_robust, rmse
from .common import (
    Module,
    batches,
    check_snrs,
    kept_count,
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

__all__ = ["ASC_DEFAULTS", "ASCNet", "CLUB", "awgn", "power_normalise", "gradcam_weights", "importance",
           "drop_order", "accuracy_curve", "train_asc", "load_asc", "fit_eta", "profile_asc", "ORDERS"]

#: Table II hyper-parameters (Adam, lr 0.01, batch 32, 50 epochs, kappa 1e-3) and the scaled widths.
ASC_DEFAULTS = {"epochs": 50, "quick_epochs": 8, "batch_size": 32, "lr": 0.01, "kappa": 1e-3,
                "features": 64, "width": 16, "mi_hidden": 64, "repeats": 4, "quick_repeats": 2}

#: drop orders compared by :func:`profile_asc`, the paper's first.
ORDERS = ("importance", "importance-signed", "taylor", "magnitude", "random")


def power_normalise(p):
    """Scale each sample to average symbol energy 1 over its ``K`` features."""
    return p / p.pow(2).mean(dim=1, keepdim=True).clamp_min(1e-12).sqrt()


def awgn(x, snr_db, mask=None, generator=None):
    """The AWGN channel layer: ``y = x + n``, ``n ~ N(0, 10^(-SNR/10))`` per symbol
    (``x`` has unit average symbol energy, so the SNR is ``E_s / N_0``).

    ``snr_db`` is a number (``inf``: noiseless) or one value per sample;
    features with ``mask == 0`` are not sent and arrive as 0 (no noise).
    """
    snr = torch.as_tensor(snr_db, dtype=x.dtype, device=x.device)
    sigma = torch.pow(10.0, -snr / 20.0).reshape(-1, 1) if snr.ndim else torch.pow(10.0, -snr / 20.0)
    y = x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return y if mask is None else y * mask


class ResidualBlock(Module):
    """Two 3x3 convolutions with batch norm and a (projected) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, a):
        return torch.relu(self.body(a) + self.skip(a))


class ASCNet(Module):
    """Semantic encoder -> (ASC mask) -> AWGN -> receiver; ``features`` = K."""

    def __init__(self, features: int = 64, width: int = 16, classes: int = 10, channels: int = 1):
        super().__init__()
        self.config = {"features": int(features), "width": int(width), "classes": int(classes),
                       "channels": int(channels)}
        self.encoder = nn.Sequential(                                   # Table III, 8x8 -> 4x4 -> 2x2
            nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            ResidualBlock(width, 2 * width, 2), ResidualBlock(2 * width, features, 2))
        self.receiver = nn.Sequential(                                  # channel dense + Table III receiver
            nn.Linear(features, features), nn.Linear(features, 4 * width), nn.ReLU(),
            nn.Linear(4 * width, 2 * width), nn.ReLU(), nn.Linear(2 * width, classes))

    def feature_maps(self, images):
        """``A = S_alpha(I)`` (eq. 1): ``(N, K, 2, 2)`` feature maps."""
        return self.encoder(images)

    @staticmethod
    def transmit(maps):
        """Global pooling and power normalisation: the ``K`` channel symbols."""
        return power_normalise(maps.mean(dim=(2, 3)))

    def forward(self, images, snr_db, mask=None, generator=None):
        """Logits, sent symbols ``X`` and received symbols ``Y``."""
        x = self.transmit(self.feature_maps(images))
        y = awgn(x, snr_db, mask, generator)
        return self.receiver(y), x, y


class CLUB(Module):
    """Variational ``q_theta(y | x) = N(mu(x), diag exp(logvar(x)))`` (Sec. III-B)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.logvar = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim), nn.Tanh())

    def log_likelihood(self, x, y):
        """``(1/L) sum_i log q_theta(y_i | x_i)`` up to a constant: ``-L_MI(theta)``."""
        mu, logvar = self.mu(x), self.logvar(x)
        return (-0.5 * ((y - mu) ** 2 / logvar.exp() + logvar)).sum(1).mean()

    def upper_bound(self, x, y):
        """``I_up(X; Y)`` of eq. (16) on a batch: the joint term minus the mean of
        ``log q(y_j | x_i)`` over all pairs (closed form, O(L K))."""
        mu, logvar = self.mu(x), self.logvar(x)
        joint = (y - mu) ** 2                                                   # pairs (i, i)
        pairs = (y ** 2).mean(0) - 2 * mu * y.mean(0) + mu ** 2                 # mean_j (y_j - mu_i)^2
        return (0.5 * (pairs - joint) / logvar.exp()).sum(1).mean()             # eq. (16)


def gradcam_weights(model: ASCNet, maps, classes):
    """``omega_k^c`` of eq. (19) per sample: the gradient of the logit ``y^c``
    (before softmax, noiseless channel) with respect to ``A^k_ij``, averaged
    over the ``W x H`` positions. Returns ``(N, K)``."""
    maps = maps.detach().requires_grad_(True)
    logits = model.receiver(model.transmit(maps))
    (grad,) = torch.autograd.grad(logits.gather(1, classes.reshape(-1, 1)).sum(), maps)
    return grad.mean(dim=(2, 3))                                                # eq. (19)


def importance(model: ASCNet, images, labels, kind: str = "importance", batch: int = 512):
    """The importance of each feature (the knowledge base of Sec. III-C), from
    the per-sample weights ``omega_k^c`` of eq. (19), ``c`` the true label.

    The transmitter does not know ``c``, so the weights are aggregated over
    the samples: ``importance`` = mean ``|omega_k^c|`` (the default: a
    feature that is strongly positive for one class and negative for another
    is important, and a signed mean would cancel it), ``importance-signed`` =
    mean ``omega_k^c`` (eq. 19 averaged literally), ``taylor`` = mean
    ``|omega_k^c a_k|`` with ``a_k`` the pooled activation (the first-order
    change of ``y^c`` when feature ``k`` is dropped).
    """
    model.eval()
    with torch.no_grad():
        maps = model.feature_maps(images)
    w = torch.cat([gradcam_weights(model, maps[i:i + batch], labels[i:i + batch])
                   for i in range(0, len(images), batch)])
    scores = {"importance": lambda: w.abs(), "importance-signed": lambda: w,
              "taylor": lambda: (w * maps.mean(dim=(2, 3))).abs()}
    if kind not in scores:
        raise InputError("order", f"unknown importance {kind!r}; choose from {', '.join(scores)}")
    return scores[kind]().mean(0)


def drop_order(kind: str, model: ASCNet, images, labels, seed: int = 0):
    """Feature indices in the order ASC drops them (least important first).

    An :func:`importance` kind: ascending weight, so the kept set is
    ``{k : omega_k >= omega_0}`` (eq. 3); ``magnitude``: ascending mean
    ``|x_k|``; ``random``: a seeded permutation.
    """
    K = model.config["features"]
    if kind == "magnitude":
        model.eval()
        with torch.no_grad():
            return torch.argsort(model.transmit(model.feature_maps(images)).abs().mean(0), stable=True)
    if kind == "random":
        return torch.randperm(K, generator=torch.Generator().manual_seed(int(seed)))
    if kind not in ORDERS:
        raise InputError("order", f"unknown drop order {kind!r}; choose from {', '.join(ORDERS)}")
    return torch.argsort(importance(model, images, labels, kind), stable=True)


def _mask(order, o: float, K: int, device):
    mask = torch.zeros(K, device=device)
    mask[order[K - kept_count(o, K):]] = 1.0                                    # eq. (3)
    return mask


def accuracy_curve(model: ASCNet, images, labels, order, snr_db: float, o_grid, repeats: int = 2,
                   seed: int = 0) -> np.ndarray:
    """Test accuracy at each compression ratio of ``o_grid`` (features dropped in
    ``order``), averaged over ``repeats`` seeded noise draws."""
    model.eval()
    K = model.config["features"]
    gen = torch.Generator(device=images.device).manual_seed(int(seed))
    with torch.no_grad():
        x = model.transmit(model.feature_maps(images))
        acc = [np.mean([(model.receiver(awgn(x, snr_db, _mask(order, o, K, x.device), gen)).argmax(1) == labels)
                        .float().mean().item() for _ in range(repeats)]) for o in o_grid]
    return np.array(acc)


def train_asc(dataset: str = "digits", snr_db=(-5.0, 0.0, 5.0), *, quick: bool = False, epochs: int | None = None,
              seed: int = 0, kappa: float = ASC_DEFAULTS["kappa"], lr: float = ASC_DEFAULTS["lr"],
              batch_size: int = ASC_DEFAULTS["batch_size"], features: int = ASC_DEFAULTS["features"],
              device: str = "cpu", checkpoint: str | Path | None = None, progress: bool = True,
              data: dict | None = None):
    """Train the ASC network on eq. (18); returns ``(model, info)``.

    Phase 1 fits ``q_theta`` alone (one epoch, maximum likelihood); phase 2
    trains the network on ``L_T - kappa I_up`` while ``q_theta`` keeps
    tracking ``p(y|x)``. Each sample sees an SNR drawn uniformly between the
    smallest and largest of ``snr_db``. ``info`` holds the per-epoch loss and
    training accuracy. With ``checkpoint``, the weights are saved there;
    ``data`` holds :func:`~semalloc.learn.common.load_dataset` keywords
    (``data_dir``, ``size``, ``limit``).
    """
    require_torch()
    seed_all(seed)
    dev = pick_device(device)
    epochs = int(epochs if epochs is not None else ASC_DEFAULTS["quick_epochs" if quick else "epochs"])
    snrs = check_snrs(snr_db)
    lo, hi = min(snrs), max(snrs)
    x_tr, y_tr, _, _ = (t.to(dev) for t in load_dataset(dataset, seed, **(data or {})))
    model = ASCNet(features, ASC_DEFAULTS["width"], channels=x_tr.shape[1]).to(dev)
    club = CLUB(features, ASC_DEFAULTS["mi_hidden"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    opt_q = torch.optim.Adam(club.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    steps = math.ceil(len(x_tr) / batch_size)
    history = []
    with progress_bar((epochs + 1) * steps, "ASC", progress) as advance:
        for epoch in range(epochs + 1):                       # epoch 0: phase 1, the MI model alone
            model.train()
            tot, seen = {"loss": 0.0, "acc": 0.0, "i_up": 0.0}, 0
            for idx in batches(len(x_tr), batch_size, gen):
                snr = lo + (hi - lo) * torch.rand(len(idx), generator=gen).to(dev)
                logits, x, y = model(x_tr[idx], snr)
                task = nn.functional.cross_entropy(logits, y_tr[idx])
                i_up = club.upper_bound(x, y)
                if epoch > 0:                                 # phase 2: eq. (18)
                    opt.zero_grad()
                    (task - kappa * i_up).backward()
                    opt.step()
                opt_q.zero_grad()
                (-club.log_likelihood(x.detach(), y.detach())).backward()
                opt_q.step()
                acc = (logits.argmax(1) == y_tr[idx]).float().mean().item()
                for k, v in (("loss", task.item() - kappa * i_up.item()), ("acc", acc), ("i_up", i_up.item())):
                    tot[k] += v * len(idx) / len(x_tr)
                seen += len(idx)
                advance(loss=tot["loss"] * len(x_tr) / seen, acc=tot["acc"] * len(x_tr) / seen)
            history.append({"epoch": epoch, **tot})
    model.eval()
    info = {"dataset": dataset, "seed": int(seed), "epochs": epochs, "kappa": float(kappa), "lr": float(lr),
            "batch_size": int(batch_size), "train_snr_db": [lo, hi], "history": history, "device": str(dev)}
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, model.config, {k: v for k, v in info.items() if k != "history"}, "asc")
    return model, info


def load_asc(path: str | Path, device: str = "cpu"):
    """``(model, info)`` from a checkpoint of :func:`train_asc` (read with ``weights_only=True``)."""
    dev = pick_device(device)
    ckpt = load_checkpoint(path, map_location=dev, kind="asc")
    cfg = ckpt["config"]
    model = ASCNet(cfg["features"], cfg["width"], cfg["classes"], cfg.get("channels", 1))
    model.load_state_dict(ckpt["state_dict"])
    return model.to(dev).eval(), dict(ckpt["extra"])


def fit_eta(o, acc, name: str = "fitted") -> EtaProfile:
    """``eta(o)`` fitted by variable projection, then polished; returns the best
    (least RMSE) of those fits and :func:`semalloc.perf.eta.fit_robust`, among
    the ones non-increasing on ``[0, max o]``. The polish also runs from the
    same starts within signs that make each term non-increasing (``z1 <= 0 <=
    z2``, ``z4 <= 0 <= z3``: Table IV's, a falling cliff and a slow decay), so
    such a fit always exists.

    For fixed exponents ``(z2, z4)`` the model is linear in ``(z1, z3)``, so
    every pair of a grid (``z2`` in [-5, 60], ``z4`` in [-3, 3]) gets its best
    ``(z1, z3)`` by linear least squares; the best few grid points start a
    nonlinear least-squares polish of all four parameters. The term with the
    larger exponent is returned first (``z2 >= z4``), as in Table IV.

    Examples
    --------
    >>> import numpy as np
    >>> from semalloc.perf.eta import eta
    >>> o = np.arange(64) / 64
    >>> fit = fit_eta(o, eta(o, (-0.02, 2.5, 0.93, -0.1)))
    >>> np.round(fit.zeta, 6).tolist(), fit.rmse < 1e-9
    ([-0.02, 2.5, 0.93, -0.1], True)
    """
    from scipy.optimize import least_squares

    o, acc = np.asarray(o, dtype=float), np.asarray(acc, dtype=float)
    z2, z4 = np.meshgrid(np.linspace(-5.0, 60.0, 131), np.linspace(-3.0, 3.0, 61), indexing="ij")
    z2, z4 = z2.ravel(), z4.ravel()
    with np.errstate(over="ignore"):
        e1, e2 = np.exp(np.minimum(z2[:, None] * o, 700.0)), np.exp(z4[:, None] * o)     # (grid, D)
    a11, a12, a22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    b1, b2 = e1 @ acc, e2 @ acc
    det = a11 * a22 - a12 ** 2
    ok = np.abs(det) > 1e-9 * a11 * a22
    with np.errstate(divide="ignore", invalid="ignore"):
        z1, z3 = (a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det
        cost = ((z1[:, None] * e1 + z3[:, None] * e2 - acc) ** 2).sum(1)
    cost = np.where(ok & np.isfinite(cost), cost, np.inf)
    cands = [fit_robust(o, acc, name=name)]

    def resid(z):
        with np.errstate(over="ignore"):
            return z[0] * np.exp(np.minimum(z[1] * o, 700.0)) + z[2] * np.exp(z[3] * o) - acc

    best = np.argsort(cost)[:5]
    starts = [(np.array([z1[i], z2[i], z3[i], z4[i]]), None) for i in best]
    # the same starts within signs that make each term non-increasing (z1 <= 0 <= z2, z4 <= 0 <= z3):
    # a non-increasing candidate always exists, even where the measured points rise (noise at small o)
    lo, hi = np.array([-np.inf, 0.0, 0.0, -np.inf]), np.array([0.0, np.inf, np.inf, 0.0])
    starts += [(np.clip(z, lo + 1e-9 * (lo == 0), hi - 1e-9 * (hi == 0)), (lo, hi)) for z, _ in starts]
    for z0, bounds in starts:
        with np.errstate(over="ignore", invalid="ignore"):              # a diverging trial step: its cost is inf
            sol = least_squares(resid, z0, x_scale="jac", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=5000,
                                **({"bounds": bounds} if bounds else {}))
        z = sol.x if sol.x[1] >= sol.x[3] else sol.x[[2, 3, 0, 1]]        # the steeper term first, as Table IV
        cand = EtaProfile(name, tuple(float(v) for v in z), rmse(o, acc, z),
                          "variable projection + least squares" + (" within non-increasing signs" if bounds else ""))
        if np.isfinite(cand.rmse):
            cands.append(cand)
    grid = np.linspace(0.0, float(o.max()), 200)
    mono = [c for c in cands if np.all(np.diff(c(grid)) <= 1e-12)]
    return min(mono or cands, key=lambda c: c.rmse)


def _fits(o, acc, snr: float, max_iter: int) -> dict:
    robust = fit_eta(o, acc, name=f"asc-{snr:g}db")
    start = (-0.01, 3.0, float(np.max(acc)), 0.0)       # a mild cliff: Table IV's z2 ~ 35 makes GD overflow
    gd, losses = fit_gradient_descent(o, acc, start, max_iter=max_iter, name=f"asc-{snr:g}db-gd")
    ok = bool(np.isfinite(gd.zeta).all() and np.isfinite(gd.rmse))
    return {"zeta": list(robust.zeta), "rmse": robust.rmse, "method": robust.source,
            "gd": {"zeta": list(gd.zeta) if ok else None, "rmse": gd.rmse if ok else None,
                   "start": list(start), "iterations": int(len(losses))}}


def profile_asc(dataset: str = "digits", snr_db=(-5.0, 0.0, 5.0), *, quick: bool = False, seed: int = 0,
                model=None, checkpoint: str | Path | None = None, out: str | Path | None = None,
                primary_snr_db: float | None = None, device: str = "cpu", progress: bool = True,
                data: dict | None = None, **train_kw) -> dict:
    """Train (or load ``checkpoint`` if it exists, or take ``model``), measure
    accuracy against ``o`` at each SNR for every drop order, fit ``eta(o)``.

    Returns the profile: ``zeta``/``rmse``/``name``/``source`` of the robust fit
    at ``primary_snr_db`` (default: the middle SNR) — the fields
    :func:`semalloc.perf.eta.load_profile` reads — plus every measured point,
    every fit (robust and Algorithm 1), the training record and versions.
    Written as JSON to ``out`` when given.
    """
    require_torch()
    snrs = check_snrs(snr_db)
    primary = float(sorted(snrs)[len(snrs) // 2] if primary_snr_db is None else primary_snr_db)
    if primary not in snrs:
        raise InputError("primary_snr_db", f"{primary:g} dB is not one of the SNRs {snrs}")
    if model is not None:
        info = {"dataset": dataset, "seed": int(seed)}
    elif checkpoint is not None and Path(checkpoint).is_file():
        model, info = load_asc(checkpoint, device)
    else:
        model, info = train_asc(dataset, snrs, quick=quick, seed=seed, device=device, checkpoint=checkpoint,
                                progress=progress, data=data, **train_kw)
    dev = next(model.parameters()).device
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in load_dataset(dataset, seed, **(data or {})))
    K = model.config["features"]
    o_grid = np.arange(K) / K
    repeats = ASC_DEFAULTS["quick_repeats" if quick else "repeats"]
    orders = {kind: drop_order(kind, model, x_tr, y_tr, seed) for kind in ORDERS}
    acc = {kind: {f"{s:g}": accuracy_curve(model, x_te, y_te, order, s, o_grid, repeats, seed + i).tolist()
                  for i, s in enumerate(snrs)} for kind, order in orders.items()}
    fits = {f"{s:g}": _fits(o_grid, np.array(acc["importance"][f"{s:g}"]), s, 5_000 if quick else 50_000)
            for s in snrs}
    top = fits[f"{primary:g}"]
    profile = {
        "name": f"asc-{dataset}-{primary:g}db", "zeta": top["zeta"], "rmse": top["rmse"],
        "source": f"semalloc learn asc: {dataset}, SNR {primary:g} dB, seed {seed}, {top['method']}",
        "kind": "eta", "dataset": dataset, "seed": int(seed), "snr_db": snrs, "primary_snr_db": primary,
        "features": K, "o": o_grid.tolist(), "accuracy": acc, "fits": fits,
        "importance_order": orders["importance"].tolist(),
        "training": {k: v for k, v in info.items()}, "versions": versions(),
    }
    write_json(profile, out)
    return profile
