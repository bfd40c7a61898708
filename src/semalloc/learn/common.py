"""Shared pieces of the learned models: the optional torch import, seeding,
devices, the digits data set, checkpoints and the progress bar.

Torch is imported once here, guarded, so that every module of
:mod:`semalloc.learn` imports (and its docstring examples run) without it;
the functions that need it call :func:`require_torch`, which names the extra.

Examples
--------
>>> kept_count(0.0, 64), kept_count(0.5, 64), kept_count(1.0, 64)
(64, 32, 0)
"""
from __future__ import annotations

import math
import platform
import warnings
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError

try:  # optional extra: semalloc[learn]
    import torch
    from torch import nn
    Module = nn.Module
except ImportError:  # pragma: no cover - exercised only without torch
    torch = nn = None
    Module = object

__all__ = ["torch", "nn", "Module", "require_torch", "kept_count", "seed_all", "pick_device", "load_dataset",
           "save_checkpoint", "load_checkpoint", "progress_bar", "versions", "DATASETS"]

#: data sets the learners accept (``digits``: scikit-learn's bundled 8x8 handwritten digits).
DATASETS = ("digits",)


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
    """``device`` if usable; ``cuda`` falls back to the CPU with a warning when absent."""
    require_torch()
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        warnings.warn("CUDA is not available; training on the CPU", stacklevel=2)
        return torch.device("cpu")
    return torch.device(device)


def load_dataset(name: str, seed: int = 0, test_fraction: float = 0.25):
    """``(x_train, y_train, x_test, y_test)`` float/long tensors, images in [0, 1].

    ``digits``: the 1797 8x8 grey images of scikit-learn, split stratified
    (seeded) into train and test. Nothing is downloaded.
    """
    require_torch()
    if name not in DATASETS:
        raise InputError("dataset", f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.images / 16.0).astype("float32")[:, None]
    xa, xb, ya, yb = train_test_split(x, d.target, test_size=test_fraction, random_state=seed, stratify=d.target)
    return torch.from_numpy(xa), torch.from_numpy(ya).long(), torch.from_numpy(xb), torch.from_numpy(yb).long()


def save_checkpoint(path: str | Path, model, config: dict, extra: dict | None = None) -> None:
    """Write the weights, the constructor ``config`` and ``extra`` tensors/numbers
    with :func:`torch.save`, in a form ``torch.load(weights_only=True)`` reads."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    require_torch().save({"state_dict": model.state_dict(), "config": dict(config), "extra": dict(extra or {})},
                         str(path))


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint safely (``weights_only=True``: no code is unpickled)."""
    if not Path(path).is_file():
        raise InputError("checkpoint", f"checkpoint file {str(path)!r} not found")
    return require_torch().load(str(path), map_location=map_location, weights_only=True)


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
    out = {"semalloc": __version__, "python": platform.python_version()}
    if torch is not None:
        out["torch"] = torch.__version__
    return out
