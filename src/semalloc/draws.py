"""Generator settings drawn per item: a number used as is, or a ``[low, high]``
range drawn uniformly (every problem's ``generate`` uses these).

Examples
--------
>>> import numpy as np
>>> from semalloc.draws import draw_setting
>>> draw_setting(np.random.default_rng(0), "energy_j", 2e-3, 3, "multicell")
array([0.002, 0.002, 0.002])
>>> draw_setting(np.random.default_rng(0), "priority", [1, 3], 4, "offloading", integer=True)
array([3., 2., 2., 1.])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["draw_setting"]


def draw_setting(rng: np.random.Generator, name: str, spec: Any, size: int, problem: str,
                 integer: bool = False) -> np.ndarray:
    """``size`` values of setting ``name``: ``spec`` repeated, or uniform on ``spec = [lo, hi]``
    (integers ``lo..hi`` with ``integer``). Anything else raises :class:`InputError` naming ``name``."""
    bad = InputError(name, f"must be a number or a [low, high] pair, got {spec!r}", problem)
    try:
        if np.ndim(spec) == 0:
            return np.full(size, float(spec))
        if len(spec) != 2:
            raise bad
        lo, hi = float(spec[0]), float(spec[1])
    except (TypeError, ValueError):
        raise bad from None
    if hi < lo:
        raise InputError(name, f"range [{lo}, {hi}] has high < low", problem)
    return rng.integers(int(lo), int(hi) + 1, size=size).astype(float) if integer else rng.uniform(lo, hi, size=size)
