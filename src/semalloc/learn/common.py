"""Shared pieces of the learned models: the optional torch import, seeding,
devices, the data sets, checkpoints and the progress bar.

Torch is imported once here, guarded, so that every module of
:mod:`semalloc.learn` imports (and its docstring examples run) without it;
the functions that need it call :func:`require_torch`, which names the extra.

Data sets (:func:`load_dataset`): ``digits`` (scikit-learn's bundled 8x8
handwritten digits), ``synthetic`` (ten noisy class templates made here, for
tests and ``--quick``), and ``cifar10`` / ``stl10`` read with numpy from
torchvision's on-disk format under ``data_dir`` (``cifar-10-batches-py/``,
``stl10_binary/``). Nothing is ever downloaded.

Examples
--------
>>> kept_count(0.0, 64), kept_count(0.5, 64), kept_count(1.0, 64)
(64, 32, 0)
>>> import numpy as np
>>> x, y = synthetic_arrays(20, size=8, channels=1, seed=0)
>>> x.shape, x.dtype, bool((x >= 0).all() and (x <= 1).all()), sorted(set(y.tolist())) == list(range(10))
((20, 1, 8, 8), dtype('float32'), True, True)
"""
from __future__ import annotations

import io
import math
import pickle
import platform
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import InputError

try:  # optional extra: semalloc[learn]
    import torch
    from torch import nn
    Module = nn.Module
except ImportError:  # pragma: no cover - exercised only without torch
    torch = nn = None
    Module = object

__all__ = ["torch", "nn", "Module", "require_torch", "kept_count", "seed_all", "pick_device", "load_dataset",
           "synthetic_arrays", "read_cifar10", "read_stl10", "save_checkpoint", "load_checkpoint", "progress_bar",
           "versions", "batches", "write_json", "check_snrs", "DATASETS"]

#: data sets the learners accept.
DATASETS = ("digits", "synthetic", "cifar10", "stl10")
_CIFAR_DIR, _STL_DIR = "cifar-10-batches-py", "stl10_binary"


def require_torch():
    """The ``torch`` module, or an ImportError that names the extra to install."""
    if torch is None:
        raise ImportError("semalloc.learn needs PyTorch: pip install 'semalloc[learn]'")
    return torch


def kept_count(o: float, K: int) -> int:
    """Features kept at compression ratio ``o`` (the fraction of the ``K`` features
    not sent), rounded to the nearest count."""
    return int(K - math.floor(float(o) * K + 0.5))


def seed_all(seed: int) -> None:
    """Seed torch (CPU and CUDA) and make its kernels deterministic."""
    require_torch().manual_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=True)


def pick_device(device: str) -> "torch.device":
    """The torch device for ``device``: ``auto`` is CUDA when available, else the
    CPU; ``cuda`` falls back to the CPU with a warning when CUDA is absent."""
    require_torch()
    device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn("CUDA is not available; training on the CPU", stacklevel=2)
        return torch.device("cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise InputError("device", f"unknown torch device {device!r} (auto, cpu, cuda, cuda:N)") from None


def check_snrs(snr_db, field: str = "snr") -> list[float]:
    """The SNRs as floats: at least one, finite, distinct, within [-50, 100] dB."""
    snrs = [float(s) for s in snr_db]
    if not snrs:
        raise InputError(field, "give at least one SNR in dB")
    bad = [s for s in snrs if not (np.isfinite(s) and -50.0 <= s <= 100.0)]
    if bad:
        raise InputError(field, f"{bad[0]!r} dB is not a finite SNR in [-50, 100] dB")
    if len(set(snrs)) != len(snrs):
        raise InputError(field, f"repeated SNR in {snrs}")
    return snrs


# --------------------------------------------------------------------------- data
def synthetic_arrays(n: int, size: int = 8, channels: int = 1, seed: int = 0, classes: int = 10):
    """``n`` images ``(n, channels, size, size)`` in [0, 1] and their labels.

    Each class is a fixed smooth template (the same for every ``seed``: a sum
    of three random Gaussian blobs); a sample is its class template times a
    random contrast in [0.7, 1], plus Gaussian noise of standard deviation 0.1.
    Labels cycle through the classes so every class is present.
    """
    g = np.arange(size) / max(size - 1, 1)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    tmpl_rng = np.random.default_rng(20240917)                          # the classes never depend on seed
    centres = tmpl_rng.uniform(0.15, 0.85, size=(classes, channels, 3, 2))
    templates = np.exp(-((xx - centres[..., 0, None, None]) ** 2 + (yy - centres[..., 1, None, None]) ** 2)
                       / (2 * 0.12 ** 2)).sum(axis=2)                    # (classes, channels, size, size)
    templates /= templates.max(axis=(1, 2, 3), keepdims=True)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    imgs = templates[labels] * rng.uniform(0.7, 1.0, size=(n, 1, 1, 1))
    imgs = np.clip(imgs + 0.1 * rng.standard_normal(imgs.shape), 0.0, 1.0)
    return imgs.astype("float32"), labels.astype("int64")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only dicts, lists, strings and numpy arrays (CIFAR-10's batches;
    numpy's pickles also name ``_codecs.encode`` for their raw bytes)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise InputError("data_dir", f"{what} not found at {str(path)!r} (torchvision's on-disk format; "
                         "nothing is downloaded)")
    return path


def read_cifar10(data_dir: str | Path):
    """``(x_train, y_train, x_test, y_test)`` uint8 ``(N, 3, 32, 32)`` / int64 from
    ``data_dir/cifar-10-batches-py/`` (the python-pickle batches, read with a
    restricted unpickler that only rebuilds numpy arrays)."""
    root = _need(Path(data_dir).expanduser() / _CIFAR_DIR, "CIFAR-10 directory")

    def batch(name):
        f = _need(root / name, "CIFAR-10 batch")
        try:
            d = _ArrayUnpickler(io.BytesIO(f.read_bytes()), encoding="bytes").load()
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            return x, np.asarray(d[b"labels"], dtype=np.int64)
        except (pickle.UnpicklingError, KeyError, ValueError, TypeError, EOFError) as err:
            raise InputError("data_dir", f"{str(f)!r} is not a CIFAR-10 python batch ({err})") from None

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_te, y_te = batch("test_batch")
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_te, y_te


def read_stl10(data_dir: str | Path):
    """``(x_train, y_train, x_test, y_test)`` uint8 ``(N, 3, 96, 96)`` / int64 (labels
    0-9) from ``data_dir/stl10_binary/{train,test}_{X,y}.bin`` (column-major images)."""
    root = _need(Path(data_dir).expanduser() / _STL_DIR, "STL-10 directory")
    out = []
    for split in ("train", "test"):
        raw = np.fromfile(_need(root / f"{split}_X.bin", "STL-10 file"), dtype=np.uint8)
        y = np.fromfile(_need(root / f"{split}_y.bin", "STL-10 file"), dtype=np.uint8).astype(np.int64) - 1
        if raw.size != len(y) * 3 * 96 * 96 or len(y) == 0 or y.min() < 0 or y.max() > 9:
            raise InputError("data_dir", f"{str(root)!r}: {split}_X.bin / {split}_y.bin are not STL-10 files")
        out += [raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2), y]
    return tuple(out)


def _subset(x, y, limit, rng):
    if limit is None or limit >= len(y):
        return x, y
    idx = np.sort(rng.permutation(len(y))[:int(limit)])
    return x[idx], y[idx]


def load_dataset(name: str, seed: int = 0, test_fraction: float = 0.25, *, data_dir=None, size: int | None = None,
                 limit: int | None = None):
    """``(x_train, y_train, x_test, y_test)`` float/long tensors, images ``(N, C, H, W)`` in [0, 1].

    ``digits``: the 1797 8x8 grey images of scikit-learn, split stratified
    (seeded) into train and test; ``synthetic``: 1200 generated 8x8 images
    (:func:`synthetic_arrays`), split the same way; ``cifar10``/``stl10``: the
    official splits read from ``data_dir``. ``limit`` keeps at most that many
    images of each split (a seeded subset); ``size`` resizes (bilinear) to
    ``size x size``. Nothing is downloaded.
    """
    require_torch()
    if name not in DATASETS:
        raise InputError("dataset", f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    rng = np.random.default_rng(seed)
    if name in ("digits", "synthetic"):
        from sklearn.model_selection import train_test_split
        if name == "digits":
            from sklearn.datasets import load_digits
            d = load_digits()
            x, y = (d.images / 16.0).astype("float32")[:, None], d.target.astype("int64")
        else:
            x, y = synthetic_arrays(1200, seed=seed)
        xa, xb, ya, yb = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    else:
        if data_dir is None:
            raise InputError("data_dir", f"data set {name!r} needs --data-dir (torchvision's on-disk format)")
        xa, ya, xb, yb = (read_cifar10 if name == "cifar10" else read_stl10)(data_dir)
    (xa, ya), (xb, yb) = _subset(xa, ya, limit, rng), _subset(xb, yb, limit, rng)
    out = []
    for x, y in ((xa, ya), (xb, yb)):
        t = torch.from_numpy(np.ascontiguousarray(x)).float()
        t = t / 255.0 if x.dtype == np.uint8 else t
        if size is not None and tuple(t.shape[2:]) != (size, size):
            t = nn.functional.interpolate(t, size=(int(size), int(size)), mode="bilinear",
                                          align_corners=False).clamp(0.0, 1.0)
        out += [t.contiguous(), torch.from_numpy(np.asarray(y, dtype=np.int64))]
    return tuple(out)


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, model, config: dict, extra: dict | None = None, kind: str | None = None) -> None:
    """Write the weights (a state dict, or a dict of state dicts), the constructor
    ``config`` (with ``kind``) and ``extra`` numbers with :func:`torch.save`, in a
    form ``torch.load(weights_only=True)`` reads."""
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict() if hasattr(model, "state_dict") else model
    cfg = dict(config) if kind is None else {**config, "kind": kind}
    require_torch().save({"state_dict": state, "config": cfg, "extra": dict(extra or {})}, str(path))


def load_checkpoint(path: str | Path, map_location="cpu", kind: str | None = None) -> dict:
    """Read a checkpoint safely (``weights_only=True``: no code is unpickled).

    A missing file, a file torch cannot read safely, or a checkpoint that is
    not one of ours (of ``kind`` when given) is an :class:`InputError` naming
    ``checkpoint``.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError("checkpoint", f"checkpoint file {str(path)!r} not found")
    try:
        ckpt = require_torch().load(str(path), map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a foreign file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError("checkpoint", f"{str(path)!r} is not a semalloc checkpoint ({first})") from None
    if not (isinstance(ckpt, dict) and {"state_dict", "config", "extra"} <= set(ckpt)
            and isinstance(ckpt["config"], dict)):
        raise InputError("checkpoint", f"{str(path)!r} is not a semalloc checkpoint (no state_dict/config/extra)")
    if kind is not None and ckpt["config"].get("kind", "asc") != kind:
        raise InputError("checkpoint", f"{str(path)!r} holds a {ckpt['config'].get('kind', 'asc')!r} model, "
                         f"not {kind!r}")
    return ckpt


@contextmanager
def progress_bar(total: int, description: str, enabled: bool = True):
    """A rich progress bar; yields ``advance(**fields)`` that steps it and shows the fields."""
    if not enabled:
        yield lambda **fields: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), transient=False) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(**fields):
            bar.update(task, advance=1, info="  ".join(f"{k} {v:.4f}" for k, v in fields.items()))
        yield advance


def versions() -> dict:
    """Versions of the software that produced a profile."""
    from .. import __version__
    out = {"semalloc": __version__, "python": platform.python_version(), "numpy": np.__version__}
    if torch is not None:
        out["torch"] = torch.__version__
    return out


def batches(n: int, size: int, gen):
    """Index batches of a seeded permutation of ``range(n)``."""
    perm = torch.randperm(n, generator=gen)
    return [perm[i:i + size] for i in range(0, n, size)]


def write_json(profile: dict, out: str | Path | None) -> None:
    """Write ``profile`` as indented JSON to ``out`` (parents made) when given."""
    if out is not None:
        import json
        Path(out).expanduser().parent.mkdir(parents=True, exist_ok=True)
        Path(out).expanduser().write_text(json.dumps(profile, indent=1) + "\n")
