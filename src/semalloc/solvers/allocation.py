"""Allocate ``capacity`` identical integer units (resource blocks, subcarriers)
among users whose utility of ``z`` units is a table ``values[i, z]``.

Examples
--------
>>> import numpy as np
>>> from semalloc.solvers.allocation import greedy_allocate, dp_allocate, even_allocate
>>> v = np.array([[0, 5, 8, 9, 9], [0, 4, 7, 9, 10]], dtype=float)   # concave rows
>>> greedy_allocate(v, 4), dp_allocate(v, 4)[0]
(array([2, 2]), array([2, 2]))
>>> even_allocate(3, 7)
array([3, 2, 2])
"""
from __future__ import annotations

import numpy as np

__all__ = ["greedy_allocate", "dp_allocate", "dp_value_function", "dp_leave_one_out", "maxplus_add",
           "even_allocate",
           "table_value"]


def table_value(values: np.ndarray, z: np.ndarray) -> float:
    """Sum of ``values[i, z[i]]``."""
    return float(values[np.arange(len(z)), z].sum()) if len(z) else 0.0


def greedy_allocate(values: np.ndarray, capacity: int) -> np.ndarray:
    """Greedy marginal allocation (He et al., Algorithm 1).

    ``capacity`` times, give one unit to the user with the largest next
    increment ``values[i, z_i + 1] - values[i, z_i]`` (ties: lowest index).
    Optimal when every row is concave; a heuristic otherwise. All units are
    handed out, as in the paper, until every user is at its table's end.
    O(capacity * n) with one numpy argmax per unit.
    """
    n, width = values.shape
    z = np.zeros(n, dtype=np.int64)
    if n == 0 or width < 2:
        return z
    inc = values[:, 1] - values[:, 0]
    for _ in range(int(capacity)):
        i = int(np.argmax(inc))
        if inc[i] == -np.inf:
            break
        z[i] += 1
        inc[i] = values[i, z[i] + 1] - values[i, z[i]] if z[i] + 1 < width else -np.inf
    return z


def _shift_index(K: int):
    k, zz = np.meshgrid(np.arange(K + 1), np.arange(K + 1), indexing="ij")
    return np.where(zz <= k, k - zz, -1)


def maxplus_add(V: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add one user to a value function: ``V'(k) = max_{z <= k} V(k - z) + row[z]``.

    ``V`` has length ``K + 1`` (best value with at most ``k`` units); ``row``
    is the new user's table (extended flat if shorter). Returns ``(V', z*)``.
    This is the recursion (18) of He et al.'s Algorithm 2.
    """
    K = len(V) - 1
    r = np.asarray(row, dtype=float)[np.minimum(np.arange(K + 1), len(row) - 1)]
    idx = _shift_index(K)
    cand = np.where(idx >= 0, V[np.maximum(idx, 0)] + r[None, :], -np.inf)
    z = np.argmax(cand, axis=1)
    return cand[np.arange(K + 1), z], z


def dp_value_function(values: np.ndarray, capacity: int) -> np.ndarray:
    """Best total value with at most ``k`` units, ``k = 0..capacity`` (length capacity + 1)."""
    V = np.zeros(int(capacity) + 1)
    for row in values:
        V = maxplus_add(V, row)[0]
    return V


def dp_leave_one_out(values: np.ndarray, capacity: int) -> np.ndarray:
    """Value function of all users but ``i``, for every ``i``: shape (n, capacity + 1).

    Prefix and suffix value functions joined by one max-plus step each:
    ``3 n`` steps instead of ``n^2``.
    """
    n, K = len(values), int(capacity)
    prefix, suffix = [np.zeros(K + 1)], [np.zeros(K + 1)]
    for j in range(n):
        prefix.append(maxplus_add(prefix[-1], values[j])[0])
        suffix.append(maxplus_add(suffix[-1], values[n - 1 - j])[0])
    out = np.empty((n, K + 1))
    for i in range(n):
        out[i] = maxplus_add(prefix[i], suffix[n - 1 - i])[0]
    return out


def dp_allocate(values: np.ndarray, capacity: int) -> tuple[np.ndarray, float]:
    """Exact allocation by dynamic programming (He et al., Algorithm 2, eq. 18).

    ``u(k, j) = max_z u(k - z, j - 1) + values[j, z]`` via :func:`maxplus_add`;
    O(n * capacity^2), vectorised over (k, z). Works for any tables.
    Returns ``(z, value)``.
    """
    n, width = values.shape
    K = int(capacity)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    V = np.zeros(K + 1)
    choice = np.zeros((n, K + 1), dtype=np.int64)
    for j in range(n):
        V, choice[j] = maxplus_add(V, values[j])
    z = np.zeros(n, dtype=np.int64)
    kk = K
    for j in range(n - 1, -1, -1):
        z[j] = choice[j, kk]
        kk -= z[j]
    return np.minimum(z, width - 1), float(V[K])


def even_allocate(n: int, capacity: int) -> np.ndarray:
    """Split ``capacity`` units evenly among ``n`` users; the remainder goes one
    each to the lowest-indexed users (the ARB baseline of He et al.)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    z = np.full(n, capacity // n, dtype=np.int64)
    z[: capacity % n] += 1
    return z
