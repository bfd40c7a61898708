"""Accuracy of a task from its computation workload ``c`` (CPU cycles spent on
semantic extraction) and communication workload ``d`` (bits sent), after
He et al., Sec. V.

``A_c = max(0, eta1 * ln(min(c, C) / C) + eta2)`` (fit to model-size/accuracy
curves), ``A_d = beta1 * (1 - min(d, D) / D) ** beta2 + beta3`` (fit to
compression curves), ``A = A_c * A_d / beta3``; ``A = 0`` when ``c = 0`` or
``d = 0`` (nothing extracted or nothing delivered).

Examples
--------
>>> from semalloc.perf import accuracy_cd, utility_of_accuracy
>>> p = dict(eta1=0.06, eta2=0.92, cycles_max=8e6, beta1=-0.7, beta2=15.0, beta3=0.93, bits_max=2e5)
>>> round(float(accuracy_cd(8e6, 2e5, **p)), 6)       # full model, all features: eta2
0.92
>>> round(float(accuracy_cd(4e6, 5e4, **p)), 4)
0.8696
>>> float(utility_of_accuracy(0.75, "inverse_error"))
4.0
"""
from __future__ import annotations

import numpy as np

__all__ = ["accuracy_cd", "utility_of_accuracy", "UTILITIES"]

#: ``accuracy``: u = A (concave, He et al. Alg. 1); ``inverse_error``:
#: u = 1 / (1 - A) (general, Alg. 2). Both give 0 when A = 0.
UTILITIES = ("accuracy", "inverse_error")


def accuracy_cd(c, d, eta1, eta2, cycles_max, beta1, beta2, beta3, bits_max):
    """Result accuracy ``A(c, d)``; all arguments broadcast."""
    c, d = np.asarray(c, dtype=float), np.asarray(d, dtype=float)
    ratio = np.minimum(c, cycles_max) / cycles_max
    with np.errstate(divide="ignore"):
        a_c = np.where(c > 0, np.maximum(0.0, eta1 * np.log(np.where(c > 0, ratio, 1.0)) + eta2), 0.0)
    a_d = np.where(d > 0, beta1 * (1.0 - np.minimum(d, bits_max) / bits_max) ** beta2 + beta3, 0.0)
    return a_c * a_d / beta3


def utility_of_accuracy(acc, utility: str):
    """``u(A)``: ``A`` or ``1 / (1 - A)``, and 0 for ``A = 0`` in both."""
    acc = np.asarray(acc, dtype=float)
    if utility == "accuracy":
        return acc
    return np.where(acc > 0, 1.0 / (1.0 - np.minimum(acc, 1 - 1e-12)), 0.0)
