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

from typing import Callable

import numpy as np

from .draws import check_seed, per_item
from .schema import Field
from .units import db_to_linear

__all__ = [
    "uniform_square",
    "uniform_disk",
    "distances_m",
    "path_loss_db",
    "shadowing_db",
    "channel_gain",
    "MIN_DISTANCE_M",
    "LAYOUTS", "PATH_LOSS", "SCENARIO_DEFAULTS", "SCENARIO_SCHEMA", "MODELS_38901",
    "los_probability", "path_loss_38901", "hex_sites", "in_hex_cell", "sector_gain_db",
    "scenario", "read_positions", "layout", "link_gains", "redraw_record", "redraw",
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


# --------------------------------------------------------------------------- scenarios
# Layouts and path-loss models the generators share (docs/models.md, "Scenarios").

#: Layouts of BSs and users: the paper's ``uniform`` one, a ``hex`` grid of sites,
#: or ``positions`` read from a CSV file.
LAYOUTS = ("uniform", "hex", "positions")
#: Path-loss models: ``paper`` (each paper's own) and 3GPP TR 38.901 Table 7.4.1-1.
PATH_LOSS = ("paper", "38.901-uma", "38.901-umi", "38.901-rma")
#: Generator settings of a scenario and their defaults; ``None`` is the model's
#: default (TR 38.901 Table 7.4.1-1 notes; ISD from TR 38.901 Table 7.2-1).
SCENARIO_DEFAULTS = {"layout": "uniform", "path_loss": "paper", "carrier_hz": None, "isd_m": None,
                     "sectors": 1, "bs_height_m": None, "ue_height_m": None, "positions": None}
#: The same for a problem with one BS at the origin (no hex grid: no ISD, no sectors).
ONE_BS_DEFAULTS = {k: v for k, v in SCENARIO_DEFAULTS.items() if k not in ("isd_m", "sectors")}
#: Per 38.901 model: BS height (m), UE height (m), inter-site distance (m),
#: shadow-fading sigma (dB) LOS before / after the breakpoint, NLOS, carrier range (Hz).
MODELS_38901 = {
    "38.901-uma": dict(h_bs=25.0, h_ue=1.5, isd=500.0, sf_los=(4.0, 4.0), sf_nlos=6.0, fc=(0.5e9, 100e9)),
    "38.901-umi": dict(h_bs=10.0, h_ue=1.5, isd=200.0, sf_los=(4.0, 4.0), sf_nlos=7.82, fc=(0.5e9, 100e9)),
    "38.901-rma": dict(h_bs=35.0, h_ue=1.5, isd=1732.0, sf_los=(4.0, 6.0), sf_nlos=8.0, fc=(0.5e9, 30e9)),
}
#: Speed of light as TR 38.901 takes it (notes of Table 7.4.1-1).
C_M_S = 3.0e8
#: RMa defaults: average building height h and street width W (Table 7.4.1-1).
RMA_H_M, RMA_W_M = 5.0, 20.0
#: Sector antenna, TR 38.901 Table 7.3-1 (horizontal cut): 65 deg beamwidth, 30 dB
#: front-to-back, 8 dBi element gain; boresights of the 3 sectors of a site.
SECTOR_BEAMWIDTH_DEG, SECTOR_FRONT_BACK_DB, SECTOR_GAIN_DBI = 65.0, 30.0, 8.0
SECTOR_BORESIGHT_DEG = (30.0, 150.0, 270.0)


def los_probability(model: str, d2d_m: np.ndarray) -> np.ndarray:
    """Outdoor LOS probability of TR 38.901 Table 7.4.2-1 at 2D distance ``d2d_m``.

    RMa: 1 for d <= 10 m, else ``exp(-(d - 10)/1000)``; UMi: 1 for d <= 18 m, else
    ``18/d + exp(-d/36)(1 - 18/d)``; UMa: the same with 63 m, for UE heights
    <= 13 m (``C'(h_UT) = 0``, the only heights allowed here).

    >>> [round(float(los_probability(m, np.array(100.0))), 4) for m in ("38.901-uma", "38.901-umi", "38.901-rma")]
    [0.3477, 0.231, 0.9139]
    """
    d = np.asarray(d2d_m, dtype=float)
    if model == "38.901-rma":
        return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    scale = 63.0 if model == "38.901-uma" else 36.0
    dd = np.maximum(d, 18.0)
    return np.where(d <= 18.0, 1.0, 18.0 / dd + np.exp(-dd / scale) * (1.0 - 18.0 / dd))


def path_loss_38901(model: str, d2d_m: np.ndarray, los: np.ndarray, carrier_hz: float,
                    h_bs: float, h_ue: float) -> tuple[np.ndarray, np.ndarray]:
    """Path loss (dB) and shadow-fading sigma (dB) of TR 38.901 Table 7.4.1-1.

    ``d2d_m`` is clipped below at :data:`MIN_DISTANCE_M` (the tables start at
    10 m); ``d3D = sqrt(d2D^2 + (h_BS - h_UT)^2)``; ``fc`` in the formulas is in GHz.

    * UMa LOS: ``PL1 = 28 + 22 lg d3D + 20 lg fc`` for d2D <= d'BP, else
      ``PL2 = 28 + 40 lg d3D + 20 lg fc - 9 lg(d'BP^2 + (hBS - hUT)^2)``; sigma 4.
      NLOS: ``max(PL_LOS, 13.54 + 39.08 lg d3D + 20 lg fc - 0.6 (hUT - 1.5))``; sigma 6.
    * UMi street canyon LOS: ``32.4 + 21 lg d3D + 20 lg fc`` / ``32.4 + 40 lg d3D + 20 lg fc
      - 9.5 lg(d'BP^2 + (hBS - hUT)^2)``; sigma 4. NLOS: ``max(PL_LOS, 35.3 lg d3D + 22.4
      + 21.3 lg fc - 0.3 (hUT - 1.5))``; sigma 7.82.
    * ``d'BP = 4 h'BS h'UT fc[Hz] / c`` with ``h' = h - hE``, ``hE = 1 m``.
    * RMa LOS: ``PL1 = 20 lg(40 pi d3D fc / 3) + min(0.03 h^1.72, 10) lg d3D - min(0.044 h^1.72, 14.77)
      + 0.002 lg(h) d3D`` (sigma 4) for d2D <= dBP, else ``PL2 = PL1(dBP) + 40 lg(d3D / dBP)`` (sigma 6),
      ``dBP = 2 pi hBS hUT fc[Hz] / c``, h = 5 m, W = 20 m. NLOS: ``max(PL_LOS, 161.04 - 7.1 lg W
      + 7.5 lg h - (24.37 - 3.7 (h/hBS)^2) lg hBS + (43.42 - 3.1 lg hBS)(lg d3D - 3) + 20 lg fc
      - (3.2 (lg(11.75 hUT))^2 - 4.97))``; sigma 8.

    ``PL1(dBP)`` of RMa is PL1 with ``d3D = dBP`` (the formula's argument read
    literally; docs/models.md, "Scenarios").

    >>> pl, sf = path_loss_38901("38.901-umi", np.array([100.0]), np.array([True]), 3.5e9, 10.0, 1.5)
    >>> round(float(pl[0]), 2), float(sf[0])
    (85.31, 4.0)
    """
    d2d = np.maximum(np.asarray(d2d_m, dtype=float), MIN_DISTANCE_M)
    los = np.broadcast_to(np.asarray(los, dtype=bool), d2d.shape)
    dh = h_bs - h_ue
    d3d = np.sqrt(d2d**2 + dh**2)
    fc = carrier_hz / 1e9
    lg = np.log10
    m = MODELS_38901[model]
    if model == "38.901-rma":
        h, w = RMA_H_M, RMA_W_M
        d_bp = 2.0 * np.pi * h_bs * h_ue * carrier_hz / C_M_S
        pl1 = lambda d: (20 * lg(40 * np.pi * d * fc / 3) + min(0.03 * h**1.72, 10.0) * lg(d)
                         - min(0.044 * h**1.72, 14.77) + 0.002 * lg(h) * d)
        before = d2d <= d_bp
        pl_los = np.where(before, pl1(d3d), pl1(d_bp) + 40 * lg(d3d / d_bp))
        sf_los = np.where(before, m["sf_los"][0], m["sf_los"][1])
        pl_n = (161.04 - 7.1 * lg(w) + 7.5 * lg(h) - (24.37 - 3.7 * (h / h_bs) ** 2) * lg(h_bs)
                + (43.42 - 3.1 * lg(h_bs)) * (lg(d3d) - 3) + 20 * lg(fc) - (3.2 * lg(11.75 * h_ue) ** 2 - 4.97))
    else:
        d_bp = 4.0 * (h_bs - 1.0) * (h_ue - 1.0) * carrier_hz / C_M_S          # hE = 1 m
        a, b, c = (28.0, 22.0, 9.0) if model == "38.901-uma" else (32.4, 21.0, 9.5)
        pl_los = np.where(d2d <= d_bp, a + b * lg(d3d) + 20 * lg(fc),
                          a + 40 * lg(d3d) + 20 * lg(fc) - c * lg(d_bp**2 + dh**2))
        sf_los = np.full(d2d.shape, m["sf_los"][0])
        pl_n = (13.54 + 39.08 * lg(d3d) + 20 * lg(fc) - 0.6 * (h_ue - 1.5) if model == "38.901-uma"
                else 35.3 * lg(d3d) + 22.4 + 21.3 * lg(fc) - 0.3 * (h_ue - 1.5))
    pl = np.where(los, pl_los, np.maximum(pl_los, pl_n))
    return pl, np.where(los, sf_los, m["sf_nlos"])


def hex_sites(n: int, isd_m: float) -> np.ndarray:
    """The first ``n`` sites of a hexagonal grid with inter-site distance ``isd_m``,
    ring by ring around the origin (1 + 6 + 12 + ...); shape ``(n, 2)``.

    >>> np.round(hex_sites(3, 500.0), 1).tolist()
    [[0.0, 0.0], [500.0, 0.0], [250.0, 433.0]]
    """
    axial = [(0, 0)]
    steps = ((-1, 1), (-1, 0), (0, -1), (1, -1), (1, 0), (0, 1))
    ring = 1
    while len(axial) < n:
        q, r = ring, 0
        for dq, dr in steps:
            for _ in range(ring):
                axial.append((q, r))
                q, r = q + dq, r + dr
        ring += 1
    qr = np.asarray(axial[:n], dtype=float).reshape(-1, 2)
    return isd_m * np.stack([qr[:, 0] + qr[:, 1] / 2, qr[:, 1] * np.sqrt(3) / 2], axis=1)


def in_hex_cell(rng: np.random.Generator, sites: np.ndarray, isd_m: float) -> np.ndarray:
    """One point uniform over the union of the sites' hexagonal cells (a site
    drawn uniformly, then a point uniform in its cell, by rejection); shape ``(2,)``."""
    site = sites[rng.integers(len(sites))]
    normals = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2], [-0.5, np.sqrt(3) / 2]])
    while True:
        p = rng.uniform([-isd_m / 2, -isd_m / np.sqrt(3)], [isd_m / 2, isd_m / np.sqrt(3)])
        if np.all(np.abs(normals @ p) <= isd_m / 2):
            return site + p


def sector_gain_db(ue_m: np.ndarray, bs_m: np.ndarray) -> np.ndarray:
    """Gain (dB) of BS ``m``'s sector antenna towards each user, shape ``(N, M)``:
    BS ``m`` is sector ``m % 3`` of its site, boresight :data:`SECTOR_BORESIGHT_DEG`,
    ``G = 8 - min(12 (phi/65)^2, 30)`` dB (TR 38.901 Table 7.3-1, horizontal cut only)."""
    v = np.asarray(ue_m, dtype=float)[:, None, :] - np.asarray(bs_m, dtype=float)[None, :, :]
    phi = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    bore = np.asarray(SECTOR_BORESIGHT_DEG)[np.arange(len(bs_m)) % 3]
    off = (phi - bore[None, :] + 180.0) % 360.0 - 180.0
    return SECTOR_GAIN_DBI - np.minimum(12.0 * (off / SECTOR_BEAMWIDTH_DEG) ** 2, SECTOR_FRONT_BACK_DB)


#: The ``scenario`` record of an instance: how its gains were drawn, so that
#: ``semalloc generate --from`` redraws them from (edited) positions.
SCENARIO_SCHEMA = {
    "seed": Field(kind="int", lo=0, doc="seed the gains were drawn with (each link from its own stream)"),
    "layout": Field(kind="str", choices=LAYOUTS, doc="how positions were drawn: uniform, hex or positions"),
    "path_loss": Field(kind="str", choices=PATH_LOSS, doc="path-loss model: paper or 38.901-uma/umi/rma"),
    "carrier_hz": Field(lo=0, unit="Hz", doc="carrier frequency of the path loss; 0 when the model has none"),
    "shadowing_db": Field(lo=0, unit="dB", doc="log-normal shadowing std of the paper model (38.901: its own)"),
    "bs_height_m": Field(lo=0, unit="m", doc="BS antenna height (38.901 models; 0 with paper)"),
    "ue_height_m": Field(lo=0, unit="m", doc="user antenna height (38.901 models; 0 with paper)"),
    "sectors": Field(kind="int", choices=(1, 3), doc="sectors per site: BS m is sector m % 3 of its site"),
    "isd_m": Field(lo=0, unit="m", doc="inter-site distance of the hex layout; 0 otherwise"),
    "min_distance_m": Field(lo=0, unit="m", doc="distance below which the paper path loss is clipped"),
}
_CHANNEL_SETTINGS = ("path_loss", "carrier_hz", "shadowing_db", "bs_height_m", "ue_height_m", "seed")


def scenario(s: dict, given, seed: int, problem: str, one_bs: bool, paper_carrier: bool = False,
             min_distance_m: float = MIN_DISTANCE_M) -> dict:
    """Check the scenario settings of generator settings ``s`` (``given``: the names
    set explicitly) and return the instance's ``scenario`` record. ``one_bs``: the
    problem has one BS at the origin (no hex grid); ``paper_carrier``: its paper
    path loss uses ``carrier_hz``. Anything inconsistent is an :class:`InputError`."""
    from .errors import InputError

    def need(ok, name, why):
        if not ok:
            raise InputError(name, why, problem)
    seed = check_seed(seed)
    if one_bs:                                 # its generator has no hex settings (ONE_BS_DEFAULTS)
        s = {"isd_m": None, "sectors": 1, **s}
    layout, model, sectors = s["layout"], s["path_loss"], s["sectors"]
    need(layout in LAYOUTS, "layout", f"must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    need(model in PATH_LOSS, "path_loss", f"must be one of {', '.join(PATH_LOSS)}, got {model!r}")
    need(not (one_bs and layout == "hex"), "layout",
         f"hex needs several BSs; {problem} has one BS at the origin (use uniform or positions)")
    need(sectors in (1, 3), "sectors", f"must be 1 or 3, got {sectors!r}")
    need(sectors == 1 or layout == "hex", "sectors", "3 sectors need layout=hex")
    need(s["isd_m"] is None or layout == "hex", "isd_m", "is the hex layout's; set layout=hex")
    need((s["positions"] is None) == (layout != "positions"), "positions",
         "a CSV file is needed with layout=positions, and only then")
    if model == "paper":
        unused = {"bs_height_m", "ue_height_m"} | (set() if paper_carrier else {"carrier_hz"})
        bad = sorted(unused & set(given))
        need(not bad, bad[0] if bad else "", f"the paper's path loss of {problem} does not use it; "
             "set path_loss=38.901-uma/umi/rma")
        carrier, h_bs, h_ue = (float(s["carrier_hz"]) if paper_carrier else 0.0), 0.0, 0.0
    else:
        m = MODELS_38901[model]
        need("shadowing_db" not in given, "shadowing_db", f"{model} draws the standard's shadowing "
             "(sigma per LOS/NLOS); shadowing_db is the paper model's")
        carrier = 3.5e9 if s["carrier_hz"] is None else float(s["carrier_hz"])
        need(m["fc"][0] <= carrier <= m["fc"][1], "carrier_hz",
             f"{model} holds for {m['fc'][0] / 1e9:g}-{m['fc'][1] / 1e9:g} GHz, got {carrier:g} Hz")
        h_bs = m["h_bs"] if s["bs_height_m"] is None else float(s["bs_height_m"])
        h_ue = m["h_ue"] if s["ue_height_m"] is None else float(s["ue_height_m"])
        need(h_bs > 1.0, "bs_height_m", f"must be > 1 m, got {h_bs:g}")
        hi = 10.0 if model == "38.901-rma" else 13.0
        need(1.0 < h_ue <= hi, "ue_height_m", f"must be in (1, {hi:g}] m for {model}, got {h_ue:g}"
             + (" (above 13 m the standard's random hE and C'(hUT) are not modelled)" if hi == 13.0 else ""))
    isd = 0.0
    if layout == "hex":
        isd = (MODELS_38901[model]["isd"] if model != "paper" else 500.0) if s["isd_m"] is None else float(s["isd_m"])
        need(isd > 0, "isd_m", f"must be > 0, got {isd:g}")
    return {"seed": seed, "layout": layout, "path_loss": model, "carrier_hz": carrier,
            "shadowing_db": float(s["shadowing_db"]) if model == "paper" else 0.0,
            "bs_height_m": h_bs, "ue_height_m": h_ue, "sectors": int(sectors), "isd_m": isd,
            "min_distance_m": float(min_distance_m)}


def read_positions(path, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """BS and user positions from a CSV file with a header ``kind,x_m,y_m`` and
    rows whose kind is ``bs`` or ``user``: ``(bs (M, 2), users (N, 2))``."""
    import csv

    from .errors import InputError
    try:
        with open(str(path), newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError("positions", f"cannot read CSV file {str(path)!r} ({e})", problem) from None
    out = {"bs": [], "user": []}
    for i, r in enumerate(rows):
        try:
            out[r["kind"].strip()].append((float(r["x_m"]), float(r["y_m"])))
        except (KeyError, AttributeError, TypeError, ValueError):
            raise InputError("positions", f"row {i + 2} of {str(path)!r}: need kind (bs or user), x_m, y_m numbers",
                             problem) from None
    pos = {k: np.asarray(v, dtype=float).reshape(-1, 2) for k, v in out.items()}
    if not np.isfinite(np.concatenate([pos["bs"], pos["user"]])).all():
        raise InputError("positions", f"{str(path)!r} holds a non-finite coordinate", problem)
    return pos["bs"], pos["user"]


def layout(rec: dict, s: dict, n_bs: int, n_ue: int, uniform: Callable, ue_component: str, problem: str,
           bs_component: str | None = "bs_position") -> tuple[np.ndarray, np.ndarray]:
    """BS and user positions of scenario ``rec``: ``uniform`` draws one point from a
    stream (the paper's layout, BS ``m`` from stream ``bs_component`` and user ``n``
    from ``ue_component``, as before scenarios existed); ``hex`` puts the sites on the
    grid and each user uniformly in a cell; ``positions`` reads ``s["positions"]``
    (users the CSV lacks are drawn uniformly). ``bs_component`` None: one BS at the origin."""
    from .errors import InputError
    seed = rec["seed"]
    ue_draw = uniform
    if bs_component is None:
        bs = np.zeros((1, 2))
    elif rec["layout"] == "hex":
        if n_bs % rec["sectors"]:
            raise InputError("base_stations", f"must be a multiple of 3 with 3 sectors, got {n_bs}", problem)
        sites = hex_sites(n_bs // rec["sectors"], rec["isd_m"])
        bs = np.repeat(sites, rec["sectors"], axis=0)
        ue_draw = lambda g: in_hex_cell(g, sites, rec["isd_m"])
    else:
        bs = per_item(seed, bs_component, n_bs, lambda g: uniform(g)).reshape(n_bs, 2)
    if rec["layout"] == "positions":
        csv_bs, csv_ue = read_positions(s["positions"], problem)
        if bs_component is None and len(csv_bs):
            raise InputError("positions", f"{problem} has one BS at the origin: give only user rows", problem)
        if bs_component is not None:
            if len(csv_bs) != n_bs:
                raise InputError("positions", f"has {len(csv_bs)} bs rows but the instance has {n_bs} BSs "
                                 "(set the count to match)", problem)
            bs = csv_bs
        if len(csv_ue):
            if len(csv_ue) != n_ue:
                raise InputError("positions", f"has {len(csv_ue)} user rows but the instance has {n_ue} users "
                                 "(set the count to match)", problem)
            return bs, csv_ue
    return bs, per_item(seed, ue_component, n_ue, lambda g: ue_draw(g)).reshape(n_ue, 2)


def link_gains(rec: dict, ue_m: np.ndarray, bs_m: np.ndarray, paper_db: Callable) -> np.ndarray:
    """Linear large-scale gains user n -> BS m, shape ``(N, M)``, of scenario ``rec``.

    ``paper``: ``paper_db(d)`` with N(0, shadowing_db^2) shadowing; 38.901: LOS drawn
    with :func:`los_probability`, :func:`path_loss_38901` and its sigma. User ``n``'s
    shadowing (standard normals scaled by sigma) and LOS uniforms come from its own
    streams ``shadowing`` and ``los`` (common random numbers), so an untouched link
    keeps its gain when another BS or user moves. With 3 sectors the
    :func:`sector_gain_db` is added.
    """
    seed, model = rec["seed"], rec["path_loss"]
    d = distances_m(ue_m, bs_m)
    N, M = d.shape
    if model == "paper":
        shadow = per_item(seed, "shadowing", N, lambda g: shadowing_db(g, M, rec["shadowing_db"])).reshape(N, M)
        pl = paper_db(d)
    else:
        z = per_item(seed, "shadowing", N, lambda g: g.standard_normal(M)).reshape(N, M)
        los = per_item(seed, "los", N, lambda g: g.random(M)).reshape(N, M) < los_probability(model, d)
        pl, sigma = path_loss_38901(model, d, los, rec["carrier_hz"], rec["bs_height_m"], rec["ue_height_m"])
        shadow = sigma * z
    if rec["sectors"] == 3:
        pl = pl - sector_gain_db(ue_m, bs_m)
    return db_to_linear(-(pl + shadow))


def redraw_record(inst, overrides: dict, problem: str, defaults: dict, one_bs: bool,
                  paper_carrier: bool = False) -> dict:
    """The ``scenario`` record that redraws the gains of ``inst`` from its own
    positions: its record updated by ``overrides`` (channel settings among the
    generator's ``defaults`` only: the layout, positions and counts are the
    instance's), checked like a generator's."""
    from .errors import InputError
    rec = inst.data.get("scenario")
    if rec is None:
        raise InputError("scenario", "the instance does not record how its gains were drawn (a file made "
                         "before scenarios or by hand); generate it again", problem)
    allowed = [k for k in _CHANNEL_SETTINGS if k in defaults or k == "seed"]
    bad = sorted(set(overrides) - set(allowed))
    if bad:
        raise InputError(bad[0], f"a redraw keeps the instance and its positions; it changes only "
                         f"{', '.join(allowed)}", problem)
    same = overrides.get("path_loss", rec["path_loss"]) == rec["path_loss"]
    s = {**SCENARIO_DEFAULTS, "layout": "hex" if rec["sectors"] == 3 else "uniform", "path_loss": rec["path_loss"],
         "sectors": rec["sectors"], "shadowing_db": rec["shadowing_db"],
         **({"carrier_hz": rec["carrier_hz"] or None, "bs_height_m": rec["bs_height_m"] or None,
             "ue_height_m": rec["ue_height_m"] or None} if same else {}),
         **{k: v for k, v in overrides.items() if k != "seed"}}
    if paper_carrier and s["carrier_hz"] is None:
        s["carrier_hz"] = rec["carrier_hz"]
    new = scenario(s, set(overrides), overrides.get("seed", rec["seed"]), problem, one_bs, paper_carrier,
                   rec["min_distance_m"])
    return {**new, "layout": rec["layout"], "isd_m": rec["isd_m"]}


def redraw(inst, **overrides):
    """``inst`` with its gains drawn again from its own positions (``semalloc generate --from``):
    the ``redraw`` function of the instance's problem module, see :func:`redraw_record`.

    Examples
    --------
    >>> from semalloc import generate
    >>> inst = generate("multicell", seed=1, devices=4, base_stations=2)
    >>> moved = inst.to_dict(); moved["base_stations"]["position_m"][1] = [0.0, 0.0]
    >>> new = redraw(type(inst).from_dict(moved))
    >>> bool((new.gain[:, 0] == inst.gain[:, 0]).all()), bool((new.gain[:, 1] != inst.gain[:, 1]).all())
    (True, True)
    """
    import sys

    from .errors import InputError
    fn = getattr(sys.modules[type(inst).__module__], "redraw", None)
    if fn is None:
        raise InputError("--from", f"problem {inst.problem!r} cannot redraw its gains (its module has no redraw)",
                         inst.problem)
    return fn(inst, **overrides)
