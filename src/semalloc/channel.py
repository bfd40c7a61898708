"""Topology placement and large-scale channel models shared by every problem.

Stateless functions over numpy arrays, as in Sionna: a generator draws
positions, computes distances, and turns them into linear channel gains.

Examples
--------
>>> import numpy as np
>>> from semalloc.channel import uniform_square, distances_m, path_loss_db, channel_gain, shadowing_db
>>> rng = np.random.default_rng(0)
>>> bs, ue = uniform_square(rng, 5, 500.0), uniform_square(rng, 30, 500.0)
>>> d = distances_m(ue, bs)
>>> d.shape
(30, 5)
>>> g = channel_gain(d, shadowing_db(rng, d.shape, 6.0))
>>> bool(np.all((g > 0) & (g < 1)))
True
>>> round(float(path_loss_db(np.array(1000.0))), 1)   # 128.1 dB at 1 km
128.1
"""
from __future__ import annotations

import numpy as np

from .units import db_to_linear

__all__ = [
    "uniform_square",
    "uniform_disk",
    "distances_m",
    "path_loss_db",
    "shadowing_db",
    "channel_gain",
    "MIN_DISTANCE_M",
]

#: Distances are clipped below at this value before a path-loss model is
#: applied: the log-distance models are fitted for d >= tens of metres and
#: diverge at d -> 0 (docs/models.md, "Minimum distance").
MIN_DISTANCE_M = 10.0


def uniform_square(rng: np.random.Generator, n: int, side_m: float) -> np.ndarray:
    """``n`` points uniform in ``[0, side_m]^2``; shape ``(n, 2)``, metres."""
    return rng.uniform(0.0, side_m, size=(n, 2))


def uniform_disk(rng: np.random.Generator, n: int, radius_m: float,
                 center=(0.0, 0.0), min_radius_m: float = 0.0) -> np.ndarray:
    """``n`` points uniform (by area) in an annulus around ``center``; shape ``(n, 2)``."""
    r = np.sqrt(rng.uniform(min_radius_m**2, radius_m**2, size=n))
    phi = rng.uniform(0.0, 2 * np.pi, size=n)
    return np.asarray(center, dtype=float) + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)


def distances_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances between rows of ``a`` (n, 2) and ``b`` (m, 2): shape (n, m)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def path_loss_db(d_m: np.ndarray, intercept_db: float = 128.1, slope_db: float = 37.6,
                 min_distance_m: float = MIN_DISTANCE_M) -> np.ndarray:
    """Log-distance path loss ``intercept + slope * log10(d / 1 km)`` in dB.

    The defaults are the 3GPP urban macro model used by He et al. (Sec. V):
    ``128.1 + 37.6 log10(Dist)``, Dist in km.
    """
    d_km = np.maximum(np.asarray(d_m, dtype=float), min_distance_m) / 1000.0
    return intercept_db + slope_db * np.log10(d_km)


def shadowing_db(rng: np.random.Generator, shape, std_db: float) -> np.ndarray:
    """I.i.d. log-normal shadowing: zero-mean Gaussian in dB with std ``std_db``."""
    return rng.normal(0.0, std_db, size=shape) if std_db > 0 else np.zeros(shape)


def channel_gain(d_m: np.ndarray, shadow_db: np.ndarray | float = 0.0, **path_loss) -> np.ndarray:
    """Linear large-scale gain ``10 ** (-(PL(d) + X) / 10)`` for the shadowing ``X`` (dB) given.

    The shadowing is drawn by the caller (per link, from its own stream, see
    :mod:`semalloc.draws`) so that gains of existing links survive a change of counts.
    """
    return db_to_linear(-(path_loss_db(d_m, **path_loss) + shadow_db))
