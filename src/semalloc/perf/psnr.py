"""PSNR of a deep JSCC image link as a function of compression rate and SNR.

Li et al. (Sec. VII-B, eq. 57) model the PSNR of a trained deep JSCC as

    P(rho, S) = a * ln(c_rho * rho + c_s * S + b),

with ``rho`` the compression rate and ``S`` the channel SNR. Here ``S`` enters
in dB (the SNRs of the JSCC measurements, 4, 10 and 13 dB in Sec. VII-G, and
the normalisation of Fig. 2 are in dB), clipped at ``snr_db_max``, the top of
the measured SNR range: a trained JSCC does not improve without bound as the
channel gets better, and the fit is not valid beyond its data. The model is
concave and non-decreasing in ``rho`` and in the linear SNR (Condition 1).

The printed fit (eq. 58) contradicts the paper's own numbers (docs/models.md,
"training: PSNR calibration"): :func:`calibrated` builds the default profile
``cifar10-calibrated`` from the two Sec. VII-G points and eq. (58)'s
curvature and rho sensitivity. :func:`fit_psnr` fits measured points by
least squares; :func:`load_profile` reads a built-in name or a JSON file (a
profile written by ``semalloc learn jscc`` loads the same way).

Examples
--------
>>> import numpy as np
>>> from semalloc.perf.psnr import load_profile
>>> m = load_profile("cifar10-calibrated")
>>> np.round(m.psnr(0.1, 10 ** (np.array([4.0, 13.0]) / 10)), 2)      # Sec. VII-G
array([25.7 , 26.79])
>>> round(float(m.psnr(0.3, 1e6)), 2)                                  # ceiling: S clipped at 20 dB
31.5
>>> s = m.snr_needed(28.0, 0.2)
>>> round(float(m.psnr(0.2, s)), 9)
28.0
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import least_squares

from ..errors import InputError
from ..schema import read_json_object

__all__ = ["PsnrModel", "fit_psnr", "calibrated", "load_profile", "PROFILES", "PAPER_POINTS"]

#: The paper's two measured operating points (Sec. VII-G): (rho, SNR dB, PSNR dB).
PAPER_POINTS = ((0.1, 4.0, 25.70), (0.1, 13.0, 26.79))


@dataclass(frozen=True)
class PsnrModel:
    """``P(rho, S) = a ln(c_rho rho + c_s min(S_dB, snr_db_max) + b)`` in dB (eq. 57)."""

    a: float
    b: float
    c_rho: float
    c_s: float
    snr_db_max: float

    def _inner(self, rho: ArrayLike, snr: ArrayLike) -> np.ndarray:
        with np.errstate(divide="ignore"):
            s_db = np.minimum(10.0 * np.log10(np.asarray(snr, dtype=float)), self.snr_db_max)
        return self.c_rho * np.asarray(rho, dtype=float) + self.c_s * s_db + self.b

    def psnr(self, rho: ArrayLike, snr: ArrayLike) -> np.ndarray:
        """PSNR in dB at compression rate ``rho`` and linear SNR ``snr``; -inf outside the model's domain."""
        inner = self._inner(rho, snr)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inner > 0, self.a * np.log(np.maximum(inner, 1e-300)), -np.inf)

    def gradient(self, rho: ArrayLike, snr: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(dP/drho, dP/dS)`` at compression rate ``rho`` and linear SNR ``snr`` (dP/dS = 0 above the cap)."""
        snr = np.asarray(snr, dtype=float)
        inner = self._inner(rho, snr)
        with np.errstate(divide="ignore"):
            below = 10.0 * np.log10(snr) < self.snr_db_max
        d_snr = np.where(below, self.a * self.c_s * 10.0 / (inner * snr * np.log(10.0)), 0.0)
        return self.a * self.c_rho / inner, d_snr

    def ceiling(self, rho: ArrayLike) -> np.ndarray:
        """Highest PSNR reachable at ``rho`` (any SNR at or above ``snr_db_max``)."""
        return self.psnr(rho, 10.0 ** (self.snr_db_max / 10.0))

    def rho_needed(self, psnr_min: ArrayLike, snr: ArrayLike) -> np.ndarray:
        """The rho with ``P(rho, snr) = psnr_min`` (rho-bar of eq. 20); may fall outside [rho_min, rho_max]."""
        with np.errstate(divide="ignore"):
            s_db = np.minimum(10.0 * np.log10(np.asarray(snr, dtype=float)), self.snr_db_max)
        return (np.exp(np.asarray(psnr_min, dtype=float) / self.a) - self.b - self.c_s * s_db) / self.c_rho

    def snr_needed(self, psnr_min: ArrayLike, rho: ArrayLike) -> np.ndarray:
        """Least linear SNR with ``P(rho, S) >= psnr_min`` (S_min of eq. 33b); inf if above the ceiling."""
        s_db = (np.exp(np.asarray(psnr_min, dtype=float) / self.a) - self.b
                - self.c_rho * np.asarray(rho, dtype=float)) / self.c_s
        ok = s_db <= self.snr_db_max * (1 + 1e-12) + 1e-12            # at the cap up to rounding
        return np.where(ok, 10.0 ** (np.minimum(s_db, self.snr_db_max) / 10.0), np.inf)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_psnr(rho: ArrayLike, snr_db: ArrayLike, psnr: ArrayLike, snr_db_max: float | None = None,
             x0: PsnrModel | None = None) -> tuple[PsnrModel, float]:
    """Least-squares fit of eq. (57) to measured points; returns ``(model, rmse_db)``.

    ``a``, ``c_rho`` and ``c_s`` are kept non-negative (Condition 1); ``b``
    is free. ``snr_db_max`` defaults to the largest measured SNR.

    Examples
    --------
    >>> import numpy as np
    >>> true = PsnrModel(a=15.0, b=2.0, c_rho=6.0, c_s=0.05, snr_db_max=20.0)
    >>> rho, snr = np.meshgrid([0.1, 0.2, 0.3], [0.0, 5.0, 10.0, 20.0])
    >>> y = true.psnr(rho.ravel(), 10 ** (snr.ravel() / 10))
    >>> fit, rmse = fit_psnr(rho.ravel(), snr.ravel(), y)
    >>> np.allclose([fit.a, fit.b, fit.c_rho, fit.c_s], [15.0, 2.0, 6.0, 0.05], rtol=1e-5), rmse < 1e-6
    (True, True)
    """
    rho, snr_db, psnr = (np.asarray(v, dtype=float).ravel() for v in (rho, snr_db, psnr))
    if not (len(rho) == len(snr_db) == len(psnr)) or len(rho) < 4:
        raise InputError("points", f"need at least 4 (rho, snr_db, psnr) points of equal length, got {len(rho)}")
    cap = float(np.max(snr_db) if snr_db_max is None else snr_db_max)
    s = np.minimum(snr_db, cap)
    start = x0 or calibrated()
    p0 = np.array([start.a, start.b, start.c_rho, start.c_s])

    def resid(x):
        inner = x[2] * rho + x[3] * s + x[1]
        return x[0] * np.log(np.maximum(inner, 1e-9)) - psnr

    sol = least_squares(resid, p0, bounds=([1e-9, -np.inf, 0.0, 0.0], np.inf), x_scale="jac",
                        xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    a, b, c_rho, c_s = (float(v) for v in sol.x)
    return PsnrModel(a, b, c_rho, c_s, cap), float(np.sqrt(np.mean(sol.fun ** 2)))


#: eq. (58) as printed: 18.67 ln(3.35 x + 5.11), x = 1.52 rho + 0.03 S (S in dB).
_EQ58 = PsnrModel(a=18.67, b=5.11, c_rho=3.35 * 1.52, c_s=3.35 * 0.03, snr_db_max=20.0)


def calibrated(points=PAPER_POINTS, a: float = _EQ58.a, c_rho: float = _EQ58.c_rho,
               snr_db_max: float = 20.0) -> PsnrModel:
    """The profile through two points of equal rho, with eq. (58)'s ``a`` and ``c_rho``.

    The two Sec. VII-G points share rho = 0.1, so they fix how the PSNR moves
    with SNR (``c_s``) and the offset ``b`` once the curvature ``a`` is fixed;
    they say nothing about rho, whose sensitivity ``c_rho`` is eq. (58)'s.
    """
    (r1, s1, p1), (r2, s2, p2) = points
    if r1 != r2 or s1 == s2:
        raise InputError("points", "need two points of equal rho and different SNR")
    i1, i2 = np.exp(p1 / a), np.exp(p2 / a)
    c_s = (i2 - i1) / (s2 - s1)
    return PsnrModel(a=a, b=float(i1 - c_rho * r1 - c_s * s1), c_rho=c_rho, c_s=float(c_s), snr_db_max=snr_db_max)


#: Built-in profiles by name.
PROFILES: dict[str, PsnrModel] = {"cifar10-calibrated": calibrated(), "paper-eq58": _EQ58}
_PARAMS = ("a", "b", "c_rho", "c_s")


def _from_json(path: Path) -> PsnrModel:
    where = str(path)
    raw = read_json_object(path, where, "PSNR profile")
    points = raw.get("points")
    if points is not None:
        arr = np.asarray(points, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.isfinite(arr).all():
            raise InputError(f"{where}: points", "must be a list of finite [rho, snr_db, psnr_db] triples")
    if all(k in raw for k in _PARAMS):
        vals = {}
        for k in (*_PARAMS, "snr_db_max"):
            v = raw.get(k, None if k != "snr_db_max" else
                        (float(np.max(arr[:, 1])) if points is not None else PROFILES["cifar10-calibrated"].snr_db_max))
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise InputError(f"{where}: {k}", f"must be a finite number, got {v!r}")
            vals[k] = float(v)
        for k in ("a", "c_rho", "c_s"):
            if vals[k] < 0 or (k == "a" and vals[k] == 0):
                raise InputError(f"{where}: {k}", f"must be {'>' if k == 'a' else '>='} 0, got {vals[k]}")
        return PsnrModel(**vals)
    if points is None:
        raise InputError(where, f"a PSNR profile needs {', '.join(_PARAMS)} or measured `points`")
    return fit_psnr(arr[:, 0], arr[:, 1], arr[:, 2], raw.get("snr_db_max"))[0]


def load_profile(name_or_path: str) -> PsnrModel:
    """A built-in profile by name, or a JSON file: ``{a, b, c_rho, c_s[, snr_db_max]}``
    and/or ``points`` (``[[rho, snr_db, psnr_db], ...]``, fitted when the
    parameters are absent); other keys (dataset, rmse, seed...) are ignored."""
    if name_or_path in PROFILES:
        return PROFILES[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError("psnr_profile", f"unknown profile {name_or_path!r}: not a built-in "
                         f"({', '.join(PROFILES)}) nor a file")
    return _from_json(path)
