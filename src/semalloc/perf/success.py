"""Probability that a delay-bounded transmission succeeds (Liu et al., Lemma 1).

A user sends ``d0 (1 - o)`` bits over bandwidth ``B`` with power ``P`` within
``t0``; with channel gain ``h ~ N(0, delta^2)`` the transmission succeeds when
``|h| >= x delta`` with (eq. 8)

    x = N0 B (2^{d0 (1 - o) / (B t0)} - 1) / (delta P),

so ``P(t <= t0) = 2 Q(x) = erfc(x / sqrt(2))`` (exact) and, with the
approximation ``Q(x) ~ exp(-x^2 / 2) / 2`` used by CRRA (eq. 20),
``exp(-x^2 / 2)``; the approximation is an upper bound of the exact value
(Chernoff), equal at ``x = 0``.

Examples
--------
>>> import numpy as np
>>> from semalloc.perf.success import outage_argument, success_exact, success_approx
>>> x = outage_argument(0.8, 2e6, 0.1, data_bits=2e5, deadline_s=0.01, gain_std=2e-13, noise_psd=4e-21)
>>> round(float(x), 4)
1.2
>>> round(float(success_exact(x)), 4), round(float(success_approx(x)), 4)
(0.2301, 0.4868)
>>> float(success_exact(0.0)), float(success_approx(np.inf))
(1.0, 0.0)
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfc

__all__ = ["outage_argument", "success_exact", "success_approx", "success", "MODELS"]

#: Success-probability models: Lemma 1 exactly, or CRRA's approximation.
MODELS = ("exact", "approx")


def outage_argument(o, bandwidth_hz, power_w, data_bits, deadline_s, gain_std, noise_psd) -> np.ndarray:
    """``x`` of eq. (8); ``inf`` where ``B <= 0`` or ``P <= 0`` (nothing can be sent).

    ``B (2^{s/B} - 1)`` is computed as ``B expm1(s ln2 / B)`` (accurate for
    large ``B``); overflow gives ``inf`` (success 0). All arguments broadcast.
    """
    o, B, P = (np.asarray(v, dtype=float) for v in (o, bandwidth_hz, power_w))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        bits_per_s = np.asarray(data_bits, dtype=float) * (1.0 - o) / np.asarray(deadline_s, dtype=float)
        x = noise_psd * B * np.expm1(np.log(2.0) * bits_per_s / B) / (np.asarray(gain_std, dtype=float) * P)
    return np.where((B > 0) & (P > 0), np.nan_to_num(x, nan=np.inf, posinf=np.inf), np.inf)


def success_exact(x) -> np.ndarray:
    """Lemma 1: ``2 Q(x) = erfc(x / sqrt 2)``."""
    return erfc(np.asarray(x, dtype=float) / np.sqrt(2.0))


def success_approx(x) -> np.ndarray:
    """CRRA's approximation ``2 * exp(-x^2/2) / 2 = exp(-x^2 / 2)`` (eq. 20)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * x * x)


def success(x, model: str = "exact") -> np.ndarray:
    """``success_exact`` or ``success_approx`` by name (:data:`MODELS`)."""
    return success_exact(x) if model == "exact" else success_approx(x)
