"""Task performance against the semantic compression ratio, ``eta(o)``
(Liu et al., Sec. III-D): ``eta(o) = z1 exp(z2 o) + z3 exp(z4 o)``.

Table IV's fitted parameters ship as named profiles ``<backbone>-<SNR>``:
``vgg-m5db``, ``vgg-0db``, ``vgg-5db``, ``resnet-m5db``, ``resnet-0db``,
``resnet-5db`` (``m5db`` is -5 dB); a profile can also be read from a JSON file
(``{"name", "zeta": [z1, z2, z3, z4], "rmse", "source"}``), the format
:func:`save_profile` writes, so a profile learned elsewhere loads exactly
like a built-in one (:func:`load_profile` takes either). Two fitters turn
measured ``(o, accuracy)`` points into a profile: :func:`fit_gradient_descent`
(the paper's Algorithm 1) and :func:`fit_robust` (scipy's robust least squares).

Examples
--------
>>> import numpy as np
>>> from semalloc.perf.eta import load_profile, eta, fit_robust
>>> p = load_profile("resnet-0db")
>>> p.zeta
(-2.893e-16, 35.68, 0.9482, -0.04151)
>>> np.round(eta([0.0, 0.8, 0.99], p.zeta), 4)
array([0.9482, 0.9165, 0.2761])
>>> o = np.linspace(0.0, 0.99, 60)
>>> fit = fit_robust(o, eta(o, p.zeta))
>>> fit.rmse < 1e-6
True
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from ..errors import InputError
from ..schema import read_json_object

__all__ = ["EtaProfile", "PROFILES", "eta", "eta_upper", "load_profile", "save_profile", "rmse",
           "fit_gradient_descent", "fit_robust"]


@dataclass(frozen=True)
class EtaProfile:
    """``eta(o) = z1 e^{z2 o} + z3 e^{z4 o}`` with ``zeta = (z1, z2, z3, z4)``."""

    name: str
    zeta: tuple[float, float, float, float]
    rmse: float = float("nan")
    source: str = ""

    def __call__(self, o) -> np.ndarray:
        return eta(o, self.zeta)

    def to_dict(self) -> dict:
        return {"name": self.name, "zeta": list(self.zeta), "rmse": self.rmse, "source": self.source}


def _table_iv(name, z1, z2, z3, z4, err, backbone, snr):
    return EtaProfile(name, (z1, z2, z3, z4), err, f"Liu et al., Table IV({backbone}), SNR {snr}")


#: Table IV of Liu et al.: VGG (a) and ResNet (b) backbones at SNR -5, 0, 5 dB.
PROFILES: dict[str, EtaProfile] = {p.name: p for p in (
    _table_iv("vgg-m5db", -9.503e-17, 36.77, 0.9044, -0.01869, 0.0449, "a", "-5 dB"),
    _table_iv("vgg-0db", -2.202e-16, 35.94, 0.9137, -0.02349, 0.0488, "a", "0 dB"),
    _table_iv("vgg-5db", -2.76e-18, 40.33, 0.9205, -0.02257, 0.0510, "a", "5 dB"),
    _table_iv("resnet-m5db", -6.205e-08, 16.45, 0.9228, -0.06917, 0.0272, "b", "-5 dB"),
    _table_iv("resnet-0db", -2.893e-16, 35.68, 0.9482, -0.04151, 0.0282, "b", "0 dB"),
    _table_iv("resnet-5db", -8.875e-16, 34.54, 0.9458, 0.007934, 0.0491, "b", "5 dB"),
)}


def _raw(o, zeta) -> np.ndarray:
    z1, z2, z3, z4 = (float(z) for z in zeta)
    o = np.asarray(o, dtype=float)
    with np.errstate(over="ignore"):
        return z1 * np.exp(z2 * o) + z3 * np.exp(z4 * o)


def eta(o, zeta) -> np.ndarray:
    """``eta(o)`` clipped to ``[0, 1]`` (a probability; Table IV's curves dip
    a little below 0 near ``o = 1``, docs/models.md, compression decisions)."""
    return np.clip(_raw(o, zeta), 0.0, 1.0)


def eta_upper(lo, hi, zeta) -> np.ndarray:
    """An upper bound of ``eta`` on each interval ``[lo, hi]``: each exponential
    term is monotone, so it is bounded by its larger end value."""
    z1, z2, z3, z4 = (float(z) for z in zeta)
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    with np.errstate(over="ignore"):
        t1 = np.maximum(z1 * np.exp(z2 * lo), z1 * np.exp(z2 * hi))
        t3 = np.maximum(z3 * np.exp(z4 * lo), z3 * np.exp(z4 * hi))
    return np.clip(t1 + t3, 0.0, 1.0)


def load_profile(name_or_path: str, field: str = "profile", problem: str | None = None) -> EtaProfile:
    """A built-in profile by name, or one read from a JSON file path.

    Raises :class:`InputError` naming ``field`` when the name is unknown or
    the file is not a valid profile.
    """
    key = str(name_or_path)
    if key in PROFILES:
        return PROFILES[key]
    path = Path(key)
    if not (key.endswith(".json") or path.is_file()):
        raise InputError(field, f"unknown profile {name_or_path!r}; built-in: {', '.join(PROFILES)}, "
                         "or a path to a JSON profile file", problem)
    data = read_json_object(path, field, "profile", problem)
    zeta = data.get("zeta")
    try:
        z = np.asarray(zeta, dtype=float)
    except (TypeError, ValueError):
        z = np.array([np.nan])
    if z.shape != (4,) or not np.isfinite(z).all():
        raise InputError(f"{field}: zeta", f"profile file {key!r} needs 'zeta': four finite numbers", problem)
    rmse_val = data.get("rmse", float("nan"))
    return EtaProfile(str(data.get("name", path.stem)), tuple(float(v) for v in z),
                      float(rmse_val) if isinstance(rmse_val, (int, float)) else float("nan"),
                      str(data.get("source", str(path))))


def save_profile(profile: EtaProfile, path: str | Path) -> None:
    """Write ``profile`` as the JSON that :func:`load_profile` reads."""
    Path(path).write_text(json.dumps(profile.to_dict(), indent=1) + "\n")


def rmse(o, acc, zeta) -> float:
    """Root-mean-square error of the (unclipped) model on points ``(o, acc)``."""
    return float(np.sqrt(np.mean((_raw(o, zeta) - np.asarray(acc, dtype=float)) ** 2)))


def fit_gradient_descent(o, acc, zeta0, step: float = 0.05, loss_tol: float = 1e-6,
                         max_iter: int = 100_000, name: str = "fitted-gd") -> tuple[EtaProfile, np.ndarray]:
    """Algorithm 1: gradient descent on ``L = sum (eta(o_d) - acc_d)^2 / (2 D)``.

    ``zeta := zeta - step * dL/dzeta`` until ``L <= loss_tol`` (the paper's
    threshold ``L_0``) or ``max_iter`` steps. Plain gradient descent needs a
    start near the answer when ``z2`` is large (Table IV's ``z2 ~ 36`` makes
    the loss very stiff); :func:`fit_robust` has no such need. Returns the
    profile and the loss after every step.
    """
    o, acc = np.asarray(o, dtype=float), np.asarray(acc, dtype=float)
    z = np.array(zeta0, dtype=float)
    D = len(o)
    losses = []
    for _ in range(int(max_iter)):
        e1, e2 = np.exp(z[1] * o), np.exp(z[3] * o)
        r = z[0] * e1 + z[2] * e2 - acc                               # line 4
        loss = float(r @ r) / (2 * D)                                  # line 6
        losses.append(loss)
        if loss <= loss_tol or not np.isfinite(loss):                  # line 9
            break
        grad = np.array([r @ e1, r @ (z[0] * o * e1), r @ e2, r @ (z[2] * o * e2)]) / D   # line 7
        z = z - step * grad                                            # line 8
    return EtaProfile(name, tuple(float(v) for v in z), rmse(o, acc, z), "Algorithm 1 (gradient descent)"), \
        np.array(losses)


def fit_robust(o, acc, name: str = "fitted", loss: str = "soft_l1") -> EtaProfile:
    """Robust nonlinear least squares (scipy ``least_squares``, ``soft_l1`` loss).

    The cliff term is fitted as ``s exp(a + z2 o)`` (``z1 = s e^a``, ``s = +-1``)
    so that Table IV's tiny ``z1`` (1e-16) is an ordinary number ``a ~ -36``;
    both signs and a few starts of ``z2`` are tried, the lowest cost wins.
    """
    o, acc = np.asarray(o, dtype=float), np.asarray(acc, dtype=float)
    f_scale = max(0.01, float(np.std(acc)) * 0.1)
    best = None
    for s in (-1.0, 1.0):
        for z2 in (5.0, 15.0, 35.0):
            a0 = np.log(max(1e-3, abs(float(acc.max() - acc.min())))) - z2 * float(o.max())

            def resid(t, s=s):
                with np.errstate(over="ignore"):
                    return s * np.exp(np.minimum(t[0] + t[1] * o, 700.0)) + t[2] * np.exp(t[3] * o) - acc

            with np.errstate(over="ignore", invalid="ignore"):          # a diverging trial step: its cost is inf
                fit = least_squares(resid, [a0, z2, float(acc.max()), 0.0], loss=loss, f_scale=f_scale,
                                    x_scale="jac", max_nfev=2000)
            if best is None or fit.cost < best[0].cost:
                best = (fit, s)
    fit, s = best
    zeta = (s * float(np.exp(fit.x[0])), float(fit.x[1]), float(fit.x[2]), float(fit.x[3]))
    return EtaProfile(name, zeta, rmse(o, acc, zeta), f"robust least squares ({loss})")
