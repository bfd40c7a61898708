"""The multi-BS MEC offloading instance with semantic transmission and early
exit (Zheng et al., Sec. II) and its generator (Sec. IV-B, Tables III-IV).

Examples
--------
>>> from semalloc.problems.offloading.instance import OffloadingInstance, generate
>>> inst = generate(seed=1, terminals=6, base_stations=2, subcarriers=4)
>>> inst.U, inst.K, inst.N, inst.gain.shape
(6, 2, 4, (6, 2, 4))
>>> again = OffloadingInstance.from_dict(inst.to_dict())
>>> bool((again.gain == inst.gain).all())
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...channel import (
    SCENARIO_DEFAULTS,
    SCENARIO_SCHEMA,
    layout,
    link_gains,
    path_loss_db,
    redraw_record,
    scenario,
    uniform_square,
)
from ...draws import draw_choice, draw_setting
from ...errors import InputError
from ...perf.flops import Conv, Dense, Exit, Network, exit_flops, flops, load_exit_profile, output_shape
from ...schema import Field, SchemaInstance, Table, check_index
from ...solve import check_settings
from ...units import dbm_to_w

__all__ = ["OffloadingInstance", "generate", "redraw", "DEFAULTS", "SCHEMA", "networks"]

KEY = "offloading"

SCHEMA: dict = {
    "subcarrier_bandwidth_hz": Field(lo=0, strict=True, unit="Hz", doc="B, bandwidth of one subcarrier"),
    "noise_psd_w_hz": Field(lo=0, strict=True, unit="W/Hz", doc="N_0, noise power spectral density (eq. 1)"),
    "power_w": Field(lo=0, strict=True, unit="W", doc="P, transmit power of a terminal on one subcarrier"),
    "flop_per_cycle": Field(lo=0, strict=True, unit="FLOP/cycle", doc="Psi, floating-point operations per cycle"),
    "reward_c1": Field(lo=0, strict=True, doc="C_1 > 0 of the reward R = C_1 ln(1/(M_i t)) + C_2 (eq. 8)"),
    "reward_c2": Field(doc="C_2 of the reward (eq. 8)"),
    "base_stations": {
        "cpu_hz": Field(("K",), lo=0, strict=True, unit="cycles/s", doc="F_k, computing capacity of MEC server k"),
        "position_m": Field(("K", "2"), unit="m", doc="BS coordinates (the FA baseline's nearest BS)"),
    },
    "terminals": {
        "task": Field(("U",), "int", lo=0, doc="index i of terminal u's task (z_ui = 1)"),
        "cpu_hz": Field(("U",), lo=0, strict=True, unit="cycles/s", doc="f_u^L, local computing capacity"),
        "position_m": Field(("U", "2"), unit="m", doc="terminal coordinates"),
    },
    "tasks": {
        "bits": Field(("I",), lo=0, strict=True, unit="bits", doc="s_i, data size of the task (raw image)"),
        "compression": Field(("I",), lo=1, doc="epsilon_i >= 1, compression ratio of semantic transmission"),
        "deadline_s": Field(("I",), lo=0, strict=True, unit="s", doc="tau_i, delay limit (eq. 9h)"),
        "priority": Field(("I",), lo=0, strict=True, doc="M_i, task priority in the reward (eq. 8)"),
        "exit": Field(("I",), "int", lo=0, doc="m_i, index of the exit point where the task leaves (0 = first)"),
        "recognition_flop": Field(("I",), lo=0, strict=True, unit="FLOP",
                                  doc="c_i = F_R(s_i^R, m_i), recognition up to exit m_i (eq. 4)"),
        "extraction_flop": Field(("I",), lo=0, unit="FLOP", doc="F_E(s_i), semantic extraction at the terminal (eq. 5)"),
        "reconstruction_flop": Field(("I",), lo=0, unit="FLOP",
                                     doc="F_C(s_i^C), semantic reconstruction at the edge (eq. 6)"),
    },
    "gain": Field(("U", "K", "N"), lo=0, doc="g_uk^n, linear channel power gain terminal u -> BS k on subcarrier n"),
    "scenario": SCENARIO_SCHEMA,
}


class OffloadingInstance(SchemaInstance):
    """K BSs with MEC servers, N subcarriers per BS, U terminals, I task types."""

    problem = "offloading"
    SCHEMA = SCHEMA
    OPTIONAL = ("scenario",)

    @classmethod
    def check(cls, data: Table) -> None:
        check_index("terminals.task", data.terminals.task, len(data.tasks.bits), "tasks: the length of tasks.bits",
                    cls.problem)
        if data.gain.shape[2] < 1:
            raise InputError("gain", "needs at least one subcarrier (axis N)", cls.problem)

    @property
    def U(self) -> int:
        return len(self.terminals.task)

    @property
    def K(self) -> int:
        return len(self.base_stations.cpu_hz)

    @property
    def N(self) -> int:
        return self.gain.shape[2]

    def task(self, name: str) -> np.ndarray:
        """Per-terminal value of task parameter ``name``."""
        return self.tasks[name][self.terminals.task]

    @property
    def noise_w(self) -> float:
        """``B N_0``, noise power on one subcarrier (eq. 1)."""
        return self.subcarrier_bandwidth_hz * self.noise_psd_w_hz


#: Generator settings and their defaults (Zheng et al., Sec. IV-B, Tables III-IV).
#: A scalar is used as is; a ``[lo, hi]`` pair is drawn uniformly per item.
DEFAULTS: dict[str, Any] = {
    "terminals": 20, "base_stations": 4, "subcarriers": 32, "tasks": 15, "exit_points": 3,
    "area_m": 500.0, "carrier_hz": 2.4e9, "shadowing_db": 8.0,
    "subcarrier_bandwidth_hz": 1e6, "power_w": 0.1, "noise_dbm_hz": -174.0,
    "edge_cpu_hz": 2048 * 0.96e9, "local_cpu_hz": 256 * 0.96e9, "flop_per_cycle": 8.0,
    "side": [224, 448], "kernels": [3, 5], "compression": [1.0, 5.0], "deadline_s": [0.5, 1.0],
    "priority": [1, 3], "channels": 3, "filters": 96, "bits_per_element": 1.0,
    "recognition_layers": [3, 4, 5], "exit_rates": [0.1868, 0.2736, 0.5396],
    "extraction_layers": 4, "reconstruction_layers": 1, "classes": 10, "reconstruction_units": 16,
    "reward_c1": 1.0, "reward_c2": 0.0, "profile": None,
    **{k: v for k, v in SCENARIO_DEFAULTS.items() if k != "carrier_hz"},
}


def networks(kernel: int, s: dict) -> tuple[Network, tuple, tuple]:
    """The recognition network with ``s["exit_points"]`` exits (the last ones of
    ``recognition_layers``), the extraction layers and the reconstruction layers,
    all with ``filters`` filters of size ``kernel`` (Table IV)."""
    depths = list(s["recognition_layers"])[-int(s["exit_points"]):]
    conv = Conv(int(s["filters"]), int(kernel))
    head = (Dense(int(s["classes"])),)
    net = Network(trunk=(conv,) * depths[-1] + head, exits=tuple(Exit(d, head) for d in depths[:-1]))
    extraction = (conv,) * int(s["extraction_layers"])
    reconstruction = (conv,) * int(s["reconstruction_layers"]) + (Dense(int(s["reconstruction_units"])),)
    return net, extraction, reconstruction


def _check_settings(s: dict) -> None:
    """The rules between settings that ``check_settings`` cannot read from the table."""
    depths, rates = np.atleast_1d(s["recognition_layers"]), np.atleast_1d(s["exit_rates"])
    if len(depths) == 0 or np.any(np.diff(depths) <= 0) or depths[0] < 1:
        raise InputError("recognition_layers", f"must be increasing positive depths, got {s['recognition_layers']!r}",
                         "offloading")
    if s["exit_points"] > len(depths):
        raise InputError("exit_points", f"must be <= {len(depths)} (len(recognition_layers)), got {s['exit_points']}",
                         "offloading")
    if len(rates) != len(depths) or np.any(rates < 0) or rates.sum() <= 0:
        raise InputError("exit_rates", f"must be {len(depths)} non-negative rates, one per recognition depth",
                         "offloading")
    kernels = np.atleast_1d(s["kernels"])
    side = np.atleast_1d(s["side"])
    need = max(int(depths[-1]), int(s["extraction_layers"]) + int(s["reconstruction_layers"])) * (kernels.max() - 1) + 1
    if side.min() < need:
        raise InputError("side", f"images must be at least {need} pixels wide for the {depths[-1]}-layer networks",
                         "offloading")


def _learned(s: dict, overrides: dict):
    """The early-exit profile of ``semalloc learn exits`` given as ``profile``
    (its network replaces the recognition network, its measured exit fractions
    ``exit_rates``), or None; ``s`` is updated to match it."""
    if s["profile"] is None:
        return None
    clash = sorted({"exit_rates", "exit_points", "recognition_layers"} & set(overrides))
    if clash:
        raise InputError(clash[0], "is set by the learned profile; give one or the other", KEY)
    learned = load_exit_profile(str(s["profile"]), "profile", KEY)
    M = learned.network.exit_points
    s.update(exit_rates=list(learned.exit_rates), exit_points=M, recognition_layers=list(range(1, M + 1)))
    need = learned.min_side(int(s["channels"]))
    if np.min(s["side"]) < need:
        raise InputError("side", f"images must be at least {need} pixels wide for the profile's network", KEY)
    return learned


def generate(seed: int = 0, **overrides) -> OffloadingInstance:
    """Draw an instance of the paper's scenario; ``overrides`` change ``DEFAULTS``.

    BSs and terminals are uniform in an ``area_m`` square; gains follow
    ``42.6 + 26 lg(d/km) + 20 lg(F/MHz)`` dB path loss (eq. 27) with
    ``shadowing_db`` log-normal shadowing, the same on every subcarrier.
    Each task type draws a square image side, a filter size, a compression
    ratio, a deadline, an integer priority and an exit point (from
    ``exit_rates``; exits removed when ``exit_points`` is smaller pass their
    tasks to the next exit); its FLOPs come from :mod:`semalloc.perf.flops`
    on the networks of :func:`networks`. Each terminal draws a task type.
    """
    s = {**DEFAULTS, **check_settings(KEY, overrides)}
    learned = _learned(s, overrides)
    _check_settings(s)
    U, K, N, I, M = (int(s[k]) for k in ("terminals", "base_stations", "subcarriers", "tasks", "exit_points"))
    # common random numbers: each BS, terminal, link and task type draws from its
    # own streams, so a sweep over a count keeps the existing ones (docs/models.md)
    area = float(s["area_m"])
    scen = scenario(s, overrides, seed, KEY, one_bs=False, paper_carrier=True)
    bs_pos, ue_pos = layout(scen, s, K, U, lambda g: uniform_square(g, 1, area)[0], "terminal_position", KEY)
    gain = link_gains(scen, ue_pos, bs_pos, _paper_db(scen))
    side = draw_setting(seed, "side", s["side"], I, KEY, integer=True).astype(int)
    kernel = draw_choice(seed, "kernel", np.asarray(s["kernels"], dtype=int), I)
    rates = np.asarray(s["exit_rates"], dtype=float)
    folded = np.concatenate([[rates[: len(rates) - M + 1].sum()], rates[len(rates) - M + 1:]])
    exit_ = draw_choice(seed, "exit", np.arange(M), I, p=folded)
    c = int(s["channels"])
    rec, ext, con = np.zeros(I), np.zeros(I), np.zeros(I)
    for k in np.unique(kernel):
        net, extraction, reconstruction = networks(k, s)
        net = net if learned is None else learned.network
        idx = np.nonzero(kernel == k)[0]
        shape = (c, side[idx], side[idx])
        rec[idx] = exit_flops(net, shape)[exit_[idx], np.arange(len(idx))]          # eq. 4
        ext[idx] = flops(extraction, shape)                                          # eq. 5
        con[idx] = flops(reconstruction, output_shape(extraction, shape))            # eq. 6
    raw = {
        "problem": "offloading",
        "subcarrier_bandwidth_hz": s["subcarrier_bandwidth_hz"],
        "noise_psd_w_hz": float(dbm_to_w(s["noise_dbm_hz"])), "power_w": s["power_w"],
        "flop_per_cycle": s["flop_per_cycle"], "reward_c1": s["reward_c1"], "reward_c2": s["reward_c2"],
        "base_stations": {"cpu_hz": draw_setting(seed, "edge_cpu_hz", s["edge_cpu_hz"], K, KEY), "position_m": bs_pos},
        "terminals": {"task": draw_choice(seed, "task", np.arange(I), U),
                      "cpu_hz": draw_setting(seed, "local_cpu_hz", s["local_cpu_hz"], U, KEY),
                      "position_m": ue_pos},
        "tasks": {"bits": c * side.astype(float) ** 2 * float(s["bits_per_element"]),
                  "compression": draw_setting(seed, "compression", s["compression"], I, KEY),
                  "deadline_s": draw_setting(seed, "deadline_s", s["deadline_s"], I, KEY),
                  "priority": draw_setting(seed, "priority", s["priority"], I, KEY, integer=True),
                  "exit": exit_, "recognition_flop": rec, "extraction_flop": ext, "reconstruction_flop": con},
        "gain": np.repeat(gain[:, :, None], N, axis=2),
        "scenario": scen,
    }
    return OffloadingInstance.from_dict(raw)


def _paper_db(rec: dict):
    """Zheng et al., eq. (27): ``42.6 + 26 lg(d/km) + 20 lg(F/MHz)`` dB at the record's carrier."""
    return lambda d: path_loss_db(d, intercept_db=42.6 + 20.0 * np.log10(rec["carrier_hz"] / 1e6), slope_db=26.0)


def redraw(inst: OffloadingInstance, **overrides) -> OffloadingInstance:
    """``inst`` with its gains drawn again from its own (possibly edited) positions,
    by its ``scenario`` record updated by the channel settings ``overrides``."""
    rec = redraw_record(inst, overrides, KEY, DEFAULTS, one_bs=False, paper_carrier=True)
    gain = link_gains(rec, inst.terminals.position_m, inst.base_stations.position_m, _paper_db(rec))
    return OffloadingInstance.from_dict({**inst.to_dict(), "gain": np.repeat(gain[:, :, None], inst.N, axis=2),
                                        "scenario": rec})
