"""Semantic-bit quantization (SBQ) models: DeepSC sentence similarity, SQNR, logistic QoS.

The similarity table ``Xi(n, SNR)`` ships with the package
(``perf/data/deepsc-sentence-similarity.csv``, rows n = 1..20 symbols per
word, columns -10..20 dB; source line kept in the file). It is interpolated
linearly in dB and clamped outside the table (wang-sbq-drl notes).

Examples
--------
>>> import numpy as np
>>> from semalloc.perf.sbq import similarity, sqnr_db, logistic, SNR_DB
>>> float(similarity(4, 12.0))                 # a table point, reproduced exactly
0.941
>>> float(similarity(4, 12.5)) == (0.941 + 0.9521) / 2
True
>>> float(similarity(8, 99.0)) == float(similarity(8, 20.0))   # clamped
True
>>> round(float(sqnr_db(2)), 2)
13.8
>>> float(bits_similarity(4, 2)) == float(similarity(4, sqnr_db(2)))
True
>>> float(logistic(0.0, 3.0, 0.0))
0.5
"""
from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["TABLE", "SNR_DB", "N_MAX", "similarity", "bits_similarity", "sqnr_db", "logistic", "load_table"]

_FILE = "deepsc-sentence-similarity.csv"


def load_table() -> tuple[np.ndarray, np.ndarray]:
    """The shipped DeepSC table: ``(snr_db (31,), xi (20, 31))``, row ``i`` for ``n = i + 1``."""
    text = resources.files("semalloc.perf").joinpath("data", _FILE).read_text()
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    snr = np.array(rows[0][1:], dtype=float)
    body = np.array(rows[1:], dtype=float)
    if not np.array_equal(body[:, 0], np.arange(1, len(body) + 1)):
        raise ValueError(f"{_FILE}: rows must be n = 1..{len(body)}")
    return snr, body[:, 1:]


SNR_DB, TABLE = load_table()
#: Largest number of semantic symbols per word in the table.
N_MAX = TABLE.shape[0]


def similarity(n, snr_db) -> np.ndarray:
    """``Xi(n, SNR)``: DeepSC sentence similarity for ``n`` symbols per word at ``snr_db``.

    Linear in dB between table columns, clamped to the end columns; ``n`` an
    integer in 1..20 (broadcasts with ``snr_db``).
    """
    n, s = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(snr_db, dtype=float))
    x = np.clip(s, SNR_DB[0], SNR_DB[-1])
    j = np.clip(np.searchsorted(SNR_DB, x, side="right") - 1, 0, len(SNR_DB) - 2)
    t = (x - SNR_DB[j]) / (SNR_DB[j + 1] - SNR_DB[j])
    row = TABLE[n - 1]
    lo, hi = np.take_along_axis(row, j[..., None], -1)[..., 0], np.take_along_axis(row, j[..., None] + 1, -1)[..., 0]
    return np.where(t == 0.0, lo, lo + t * (hi - lo))


def sqnr_db(q) -> np.ndarray:
    """Quantization SNR of a uniform ``q``-bit quantizer: ``6.02 q + 1.76`` dB."""
    return 6.02 * np.asarray(q, dtype=float) + 1.76


#: ``bits_similarity``'s table: :func:`similarity` at ``sqnr_db(q)`` for n = 1..N_MAX (rows) and q = 0..Q_END
#: (columns), where ``sqnr_db(Q_END)`` is the first past the table's last column (larger q: the same, clamped).
_Q_END = int(np.ceil((SNR_DB[-1] - 1.76) / 6.02))
_BITS = similarity(np.arange(1, N_MAX + 1)[:, None], sqnr_db(np.arange(_Q_END + 1))[None, :])
_BITS.flags.writeable = False


def bits_similarity(n, q) -> np.ndarray:
    """``Xi(n, sqnr_db(q))``: the similarity ``q`` bits per symbol leave (a uniform quantizer's SQNR).

    The same values as :func:`similarity` (bit for bit), looked up in a table
    of every ``n`` and integer ``q >= 0`` made once, since a user's bits take a
    handful of values and the interpolation's cost per call dominated the
    model's evaluation (a quarter of ``best``'s time on sbq); other ``q``
    (fractional, negative) are interpolated as before.
    """
    q = np.asarray(q)
    if q.dtype.kind not in "iu" or (q.size and q.min() < 0):
        return similarity(n, sqnr_db(q))
    return _BITS[np.asarray(n) - 1, np.minimum(q, _Q_END)]


def logistic(x, a, c) -> np.ndarray:
    """``G(x; a, c) = 1 / (1 + exp(-a (x - c)))``, overflow-safe."""
    z = -np.asarray(a, dtype=float) * (np.asarray(x, dtype=float) - c)
    return 0.5 * (1.0 - np.tanh(0.5 * z))
