"""Common random numbers for the generators: one random stream per component
and item, and generator settings drawn per item (a number used as is, or a
``[low, high]`` range drawn uniformly).

Every random quantity of a generated instance comes from its own stream,
``SeedSequence(seed, spawn_key=(component, index))``: the positions of BS 3
depend only on the seed, the component name and the index 3, never on how
many devices, BSs or antennas were drawn before. So with the same seed an
instance with 20 devices contains the 10 devices of the instance with 10,
and a sweep over a count compares nested scenarios (docs/models.md,
"Common random numbers").

Examples
--------
>>> import numpy as np
>>> from semalloc.draws import draw_setting, per_item
>>> draw_setting(0, "energy_j", 2e-3, 3, "multicell")
array([0.002, 0.002, 0.002])
>>> few, more = draw_setting(0, "cpu_hz", [1, 2], 3, "x"), draw_setting(0, "cpu_hz", [1, 2], 5, "x")
>>> bool(np.array_equal(few, more[:3]))
True
>>> per_item(0, "position", 4, lambda g: g.uniform(0, 500, 2)).shape
(4, 2)
"""
from __future__ import annotations

import zlib
from typing import Any, Callable

import numpy as np

from .errors import InputError

__all__ = ["check_seed", "stream", "per_item", "uniforms", "draw_setting", "draw_choice"]


def check_seed(seed) -> int:
    """``seed`` as an ``int``; a Generator is a TypeError, anything but a non-negative integer an InputError."""
    if isinstance(seed, np.random.Generator):
        raise TypeError("semalloc.draws takes the instance's seed, not a Generator: every item draws "
                        "from its own stream (common random numbers, docs/models.md)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", f"must be a non-negative integer, got {seed!r}")
    return int(seed)


def stream(seed: int, component: str, index: int | tuple = ()) -> np.random.Generator:
    """The random stream of ``component`` (a name) and item ``index`` under ``seed``.

    It is ``SeedSequence(seed, spawn_key=(crc32(component), *index))``, i.e. a
    child of the seed's sequence that no other component or item shares.
    """
    seed = check_seed(seed)
    key = (zlib.crc32(component.encode()), *np.atleast_1d(np.asarray(index, dtype=np.int64)).tolist())
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def per_item(seed: int, component: str, n: int, draw: Callable[[np.random.Generator], Any]) -> np.ndarray:
    """``np.stack([draw(stream(seed, component, i)) for i in range(n)])``: item ``i``'s
    values come from its own stream, so they do not depend on ``n``."""
    return np.stack([np.asarray(draw(stream(seed, component, i)), dtype=float) for i in range(n)]) \
        if n else np.zeros(0)


def uniforms(seed: int, component: str, n: int) -> np.ndarray:
    """One U(0, 1) number per item, item ``i`` from its own stream."""
    return per_item(seed, component, n, lambda g: g.random())


def draw_setting(seed: int, name: str, spec: Any, size: int, problem: str,
                 integer: bool = False) -> np.ndarray:
    """``size`` values of setting ``name``: ``spec`` repeated, or uniform on ``spec = [lo, hi]``
    (integers ``lo..hi`` with ``integer``), item ``i`` from stream ``(seed, name, i)``.
    Anything else raises :class:`InputError` naming ``name``.

    The value is ``lo + (hi - lo) u_i`` with ``u_i`` fixed by the seed, so
    changing ``size`` or the range keeps every item's rank (common random numbers).
    """
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
    u = uniforms(seed, name, size)
    if integer:
        lo, hi = int(lo), int(hi)
        return np.minimum(lo + np.floor(u * (hi - lo + 1)), hi)
    return lo + (hi - lo) * u


def draw_choice(seed: int, name: str, choices: Any, size: int, p: Any = None) -> np.ndarray:
    """``size`` picks from ``choices`` (with probabilities ``p``, uniform by default),
    item ``i`` from stream ``(seed, name, i)`` by the inverse CDF of its uniform."""
    choices = np.atleast_1d(np.asarray(choices))
    p = np.full(len(choices), 1.0 / len(choices)) if p is None else np.asarray(p, dtype=float) / np.sum(p)
    idx = np.searchsorted(np.cumsum(p)[:-1], uniforms(seed, name, size), side="right")
    return choices[idx]
