"""Unit conversions used across semalloc (all models work in SI units).

Examples
--------
>>> from semalloc.units import db_to_linear, dbm_to_w, w_to_dbm
>>> float(db_to_linear(10.0))
10.0
>>> float(dbm_to_w(30.0))
1.0
>>> round(float(w_to_dbm(0.2)), 2)
23.01
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["db_to_linear", "linear_to_db", "dbm_to_w", "w_to_dbm", "SAFETY", "LN2"]

#: Share of a budget (power, bandwidth, CPU, time or energy) an algorithm leaves
#: unused, so that floating-point rounding never makes ``evaluate`` see it
#: exceeded: allocations fill ``(1 - SAFETY)`` of it. One value for every
#: problem; compression's ``FILL_MARGIN`` and training's ``SNR_MARGIN`` keep
#: their own, and say why.
SAFETY = 1e-12

#: ``ln 2``: a rate ``B log2(1 + S)`` is ``B ln(1 + S) / LN2`` (bit/s).
LN2 = np.log(2.0)


def db_to_linear(db: ArrayLike) -> np.ndarray:
    """Power ratio in dB to a linear ratio: ``10 ** (db / 10)``."""
    return np.power(10.0, np.asarray(db, dtype=float) / 10.0)


def linear_to_db(x: ArrayLike) -> np.ndarray:
    """Linear power ratio to dB: ``10 log10(x)``."""
    return 10.0 * np.log10(np.asarray(x, dtype=float))


def dbm_to_w(dbm: ArrayLike) -> np.ndarray:
    """Power in dBm to watts."""
    return db_to_linear(np.asarray(dbm, dtype=float) - 30.0)


def w_to_dbm(w: ArrayLike) -> np.ndarray:
    """Power in watts to dBm."""
    return linear_to_db(w) + 30.0
