"""The figure style of semalloc, in one place: how a generator setting is shown
on an axis (label, display unit, conversion from SI), how an algorithm is named
in a legend (the paper's label), and how its line is drawn (colour, marker,
line style, width, drawing order).

A spec's ``plot`` may override the axis (``xlabel``, ``xunit``) and the names
(``names: {code: label}``). An algorithm or a setting this module does not
know keeps its code name and SI value, so new algorithms and settings plot
without an entry here.

Examples
--------
>>> from semalloc.experiments.style import axis, display_name, line_styles
>>> a = axis("bandwidth_max_hz")
>>> a.label, a.convert([20e6]).tolist()
('maximum bandwidth $B_{max}$ (MHz)', [20.0])
>>> axis("power_max_w").convert([0.001, 1.0]).tolist()
[0.0, 30.0]
>>> axis("mystery_setting").label
'mystery_setting'
>>> display_name("crraus", "compression"), display_name("new_algo", "compression")
('CRRAUS', 'new_algo')
>>> s = line_styles(["crra", "fcr", "exact"], proposed="crra")
>>> s["crra"]["zorder"] > s["fcr"]["zorder"], s["exact"]["linestyle"]
(True, '--')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError

__all__ = ["Axis", "axis", "UNITS", "SETTINGS", "VALUES", "display_name", "NAMES", "line_styles", "measure_label",
           "BAR_HATCHES", "RC"]

#: Display units: name -> conversion from the SI value (numpy array in, array out).
UNITS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Hz": lambda v: v, "kHz": lambda v: v / 1e3, "MHz": lambda v: v / 1e6, "GHz": lambda v: v / 1e9,
    "THz": lambda v: v / 1e12,
    "s": lambda v: v, "ms": lambda v: v * 1e3, "us": lambda v: v * 1e6,
    "J": lambda v: v, "mJ": lambda v: v * 1e3,
    "W": lambda v: v, "mW": lambda v: v * 1e3, "dBm": lambda v: 10 * np.log10(v / 1e-3), "dBW": lambda v: 10 * np.log10(v),
    "m": lambda v: v, "km": lambda v: v / 1e3,
    "": lambda v: v,
}
#: Units that are already logarithmic: a log axis asked of them is drawn linear in the unit.
LOG_UNITS = ("dBm", "dBW", "dB")
#: SI unit of a setting, from the end of its name, when it has no entry in ``SETTINGS``.
_SUFFIX_UNIT = {"_dbm_hz": "dBm/Hz", "_dbm_per_hz": "dBm/Hz", "_bits": "bit", "_hz": "Hz", "_s": "s", "_j": "J", "_w": "W", "_m": "m", "_dbm": "dBm", "_db": "dB"}

#: Setting -> (label, display unit). The value is converted from its stored unit (SI from
#: the name's suffix, ``_hz``, ``_s``, ``_w``, ...; dBm for ``*_dbm``) to the display unit.
SETTINGS: dict[str, tuple[str, str]] = {
    "devices": ("number of devices", ""),
    "users": ("number of users", ""),
    "terminals": ("number of terminals", ""),
    "base_stations": ("number of BSs", ""),
    "exit_points": ("exit points M", ""),
    "fcr.ratio": ("fixed compression ratio $o$ (FCR)", ""),
    "deadline_s": ("deadline $T$", "ms"),
    "energy_j": ("energy budget $E$", "mJ"),
    "bandwidth_max_hz": ("maximum bandwidth $B_{max}$", "MHz"),
    "bandwidth_hz": ("total bandwidth $B_{total}$", "MHz"),
    "subcarrier_bandwidth_hz": ("subcarrier bandwidth $B$", "MHz"),
    "rb_bandwidth_hz": ("RB bandwidth", "kHz"),
    "edge_cpu_hz": ("edge computing capacity $F_k$", "GHz"),
    "cpu_max_hz": ("maximum device CPU frequency $f_{max}$", "GHz"),
    "bs_cpu_max_hz": ("maximum BS CPU frequency $h_{max}$", "GHz"),
    "power_max_w": ("maximum transmit power $P_{max}$", "dBm"),
    "power_max_dbm": ("maximum transmit power $p_{max}$", "dBm"),
    "power_w": ("transmit power", "dBm"),
    "w_time": ("time weight $w_1$", ""),
    "compression": ("compression ratio", ""),
    "psnr_min_db": ("required PSNR $P_{min}$", "dB"),
    "utility": ("utility", ""),
}
#: Setting -> {code value: how the paper names it}, for settings whose values are words (a panel's title).
VALUES: dict[str, dict[str, str]] = {
    "utility": {"accuracy": "concave, $u = A$", "inverse_error": "general, $u = 1/(1 - A)$"},   # He et al. Sec. V
}
#: Per problem, settings shown differently from ``SETTINGS`` (the paper's own unit).
PROBLEM_SETTINGS: dict[str, dict[str, tuple[str, str]]] = {
    "sbq": {"power_max_w": ("maximum transmit power $P_{max}$", "W")},
}


@dataclass(frozen=True)
class Axis:
    """How a setting is drawn on an axis: ``label`` (with the unit), the display
    ``unit``, whether it is already logarithmic, and ``convert`` (stored -> display)."""

    setting: str
    name: str
    unit: str
    stored: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def logarithmic(self) -> bool:
        """A dB unit: equal steps of the unit are equal ratios of the quantity."""
        return self.unit in LOG_UNITS

    def convert(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.unit == self.stored:
            return v
        if self.stored == "dBm":                          # a setting given in dBm
            v = 1e-3 * 10 ** (v / 10)
        return UNITS[self.unit](v)


def axis(setting: str, problem: str | None = None, label: str | None = None, unit: str | None = None) -> Axis:
    """The axis of ``setting`` (of ``problem``), with a spec's ``xlabel``/``xunit`` overrides.

    A unit must be one the setting's stored unit converts to (``power_max_w``
    in W, mW, dBm or dBW; ``deadline_s`` in s, ms or us); anything else is an
    :class:`InputError` naming ``plot.xunit``.
    """
    stored = next((u for suf, u in _SUFFIX_UNIT.items() if setting.endswith(suf)), "")
    name, shown = PROBLEM_SETTINGS.get(problem or "", {}).get(setting) or SETTINGS.get(setting, (setting, stored))
    shown = shown if unit is None else unit
    if shown != stored:
        family = {"Hz": ("Hz", "kHz", "MHz", "GHz", "THz"), "s": ("s", "ms", "us"), "J": ("J", "mJ"),
                  "W": ("W", "mW", "dBm", "dBW"), "dBm": ("W", "mW", "dBm", "dBW"), "m": ("m", "km")}
        if shown not in family.get(stored, ()):
            raise InputError("plot.xunit", f"{setting} (in {stored or 'no unit'}) cannot be shown in {shown!r}; "
                             f"units: {', '.join(family.get(stored, (stored,))) or 'none'}")
    return Axis(setting, label if label is not None else name, shown, stored)


#: Algorithm code -> the paper's label; per problem where a code means different things.
NAMES: dict[str, dict[str, str]] = {
    "multicell": {"prop": "Prop", "tc": "TC", "fsc": "FSC", "arb": "ARB", "nua": "NUA", "fan": "FAN"},
    "compression": {"crra": "CRRA", "crraus": "CRRAUS", "fcr": "FCR", "fra": "FRA", "msr": "MSR"},
    "training": {"alternating": "Proposed (Alg. 3)", "random": "Random allocation",
                 "average": "Average allocation", "pb_only": "Optimize p, B only",
                 "fhr_only": "Optimize f, h, ρ only"},
    "offloading": {"bcd": "Proposed (BCD)", "linear": "Linear", "fa": "FA", "uc": "UC", "ftm": "FTM"},
    "sbq": {"drl": "Hybrid DRL", "drl-sampled": "Hybrid DRL, 32 policy samples (ours)",
            "drl-local": "Hybrid DRL + local search (ours)", "mapping": "Mapping-guided", "mapping-drl": "Mapping-guided DRL",
            "dqn": "DQN (discretised action)", "td3": "TD3 (relaxed action)",
            "mapping-equal": "Mapping-guided, equal split", "fixed-bits": "Fixed bits",
            "equal": "Equal allocation", "random": "Random",
            "drl-zf": "Hybrid DRL, ZF-aware (ours)", "drl-zf-local": "ZF-aware + local search (ours)"},
    "": {"best": "best (ours)", "exact": "optimum (exact)"},
}


def display_name(code: str, problem: str | None = None, names: dict | None = None) -> str:
    """The legend label of algorithm ``code``: ``names`` (a spec's), else the paper's, else the code."""
    return (names or {}).get(code) or NAMES.get(problem or "", {}).get(code) or NAMES[""].get(code) or code


#: Markers and dash patterns, cycled so that (marker, linestyle) pairs stay distinct for 8 x 4 algorithms.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
_DASHES = ("-", "--", "-.", ":")
#: Line colours of the non-highlighted algorithms: tab10 without red (the proposed one) and green (``best``),
#: then four more, so that a problem's every algorithm has its own (sbq draws 11 besides those two).
_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray",
            "navy", "goldenrod", "teal", "magenta")


def line_styles(algorithms: list[str], proposed: str | None = None, problem: str | None = None) -> dict[str, dict]:
    """Matplotlib keyword arguments per algorithm: the proposed algorithm red, solid,
    thickest and on top of the others (small filled markers); ``best`` green; ``exact`` a thin dashed
    black reference drawn over every line, so that a line on the optimum (``best``'s, often) shows
    through its gaps instead of hiding it; the others distinct (marker, linestyle) pairs with larger hollow
    markers, so a black-and-white print reads and a line under the proposed one shows.

    ``problem``: an algorithm of :data:`NAMES` for it keeps its style in every figure of the problem
    (indexed by its place there, not in this figure), the others follow.

    >>> one = line_styles(["drl", "td3", "equal"], "drl", "sbq")
    >>> two = line_styles(["drl", "dqn", "td3", "equal"], "drl", "sbq")
    >>> one["td3"] == two["td3"] and one["equal"] == two["equal"]
    True
    """
    others = [a for a in algorithms if a not in (proposed, "best", "exact")]
    known = [a for a in NAMES.get(problem or "", {}) if a not in (proposed, "best", "exact")]
    out = {}
    for i, a in enumerate(known + [a for a in others if a not in known]):
        if a not in others:
            continue
        out[a] = {"color": _COLOURS[i % len(_COLOURS)], "marker": _MARKERS[(i + 1) % len(_MARKERS)],
                  "linestyle": _DASHES[(i + 1 + i // len(_MARKERS)) % len(_DASHES)], "linewidth": 1.3, "zorder": 3,
                  "markersize": 6.5, "markerfacecolor": "none", "markeredgewidth": 1.2}   # hollow: rings a
                                                                                        # line drawn over it
    if "best" in algorithms:
        out["best"] = {"color": "tab:green", "marker": "*", "linestyle": "-", "linewidth": 1.6, "zorder": 4,
                       "markersize": 7}
    if "exact" in algorithms:
        out["exact"] = {"color": "black", "marker": "", "linestyle": "--", "linewidth": 0.9, "zorder": 6}
    if proposed in algorithms:
        out[proposed] = {"color": "tab:red", "marker": "o", "linestyle": "-", "linewidth": 2.4, "zorder": 5,
                         "markersize": 4.5}
    return {a: {"markersize": 5, **out[a]} for a in algorithms}


#: Hatches of bars (the proposed algorithm's bars are plain), so bars read in black and white.
BAR_HATCHES = ("//", "..", "xx", "\\\\", "oo", "--", "++", "**")

#: Measure -> y-axis (or bar-group) label.
MEASURES = {"objective": "objective", "time_s": "solver time (s)", "round_time_s": "round time T (s)",
            "energy_j": "energy E (J)", "reward_per_terminal": "terminal average reward",
            "psnr_db_mean": "mean PSNR (dB)", "psnr_db_min": "least PSNR (dB)", "psnr_db_max": "largest PSNR (dB)"}


def measure_label(m: str) -> str:
    """The label of measure ``m``: ``utility_bs2`` -> ``BS 2``, ``utility_load_rank1``
    -> ``load rank 1`` (the most crowded BS), known ones by name, else ``m``.

    >>> measure_label("utility_bs2"), measure_label("utility_load_rank1"), measure_label("time_s")
    ('BS 2', 'load rank 1', 'solver time (s)')
    >>> measure_label("new_metric")
    'new_metric'
    """
    per_bs = re.fullmatch(r"utility_bs(\d+)", m)
    by_load = re.fullmatch(r"utility_load_rank(\d+)", m)
    return f"BS {per_bs.group(1)}" if per_bs else f"load rank {by_load.group(1)}" if by_load else MEASURES.get(m, m)


#: Matplotlib settings of every semalloc figure (used as ``plt.rc_context(RC)``).
RC = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
      "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
      "axes.spines.top": False, "axes.spines.right": False, "savefig.bbox": "tight"}
