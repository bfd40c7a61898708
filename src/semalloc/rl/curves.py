"""Training curves of sbq agents: read the CSVs ``semalloc rl train`` writes, draw figure ``sbq-training``.

A curve file has the columns ``steps,seconds,mean_reward`` (one row per
rollout of 256 steps) and, beside it, the ``.json`` record of its run (agent,
seed, general). Curves of one agent kind trained with several seeds are one
line: the mean over seeds of each seed's moving average, with a 95 %
t-interval over seeds (the seeds' spread, not the within-run noise); against
wall-clock time, each seed's time at that step is averaged too.

``reproduce sbq --figure 3`` draws the curves that ship with the package
(:data:`SHIPPED_CURVES`: the hybrid agent with ``drl``'s recipe, PPO with the
reward's pathwise gradient, the hybrid agent with PPO alone, DQN and TD3, trained
per scenario at the default scenario, three seeds each, 30 720 steps; ``make
curves`` retrains them), so no agent is trained by ``make run``.

Examples
--------
>>> import os, tempfile
>>> from semalloc.rl.curves import read_curve, curve_groups
>>> d = tempfile.mkdtemp()
>>> for s in (0, 1):
...     p = os.path.join(d, f"a-s{s}.csv")
...     with open(p, "w") as f:
...         _ = f.write("steps,seconds,mean_reward\\n" + "".join(f"{256 * i},{i},{i + s}\\n" for i in range(1, 6)))
>>> groups = curve_groups([os.path.join(d, "a-s0.csv"), os.path.join(d, "a-s1.csv")], window=2)
>>> [(g.label, g.seeds, round(float(g.mean[-1]), 2)) for g in groups]
[('a', 2, 5.0)]
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["read_curve", "curve_groups", "draw_curves", "figure3", "SHIPPED_CURVES", "Group"]

#: The curves ``reproduce sbq --figure 3`` draws (``make curves`` writes them).
SHIPPED_CURVES = Path(__file__).parent / "data" / "curves"
#: Display names of the agent kinds.
_NAMES = {"dqn": "DQN (discrete only)", "ddpg": "DDPG (continuous only)", "td3": "TD3 (continuous only)",
          "sac": "SAC (continuous only)"}
#: The hybrid agent's name by its recipe: without / with the reward's pathwise gradient (``--pathwise``).
_HYBRID = {False: "hybrid, PPO alone", True: "hybrid, PPO + pathwise gradient (drl's recipe)"}


def read_curve(path) -> tuple[np.ndarray, str]:
    """``(data (n, 3), label)`` of one curve file; the label from its ``.json`` record if there is one."""
    path = Path(path)
    try:
        with warnings.catch_warnings():                  # an empty file is refused below, without numpy's warning
            warnings.simplefilter("ignore")
            data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError):
        raise InputError("csv", f"{path}: not a training curve (steps,seconds,mean_reward)", "sbq") from None
    if data.shape[0] == 0 or data.shape[1] != 3 or not np.all(np.isfinite(data)):
        raise InputError("csv", f"{path}: not a training curve (steps,seconds,mean_reward)", "sbq")
    label = path.stem.split("-s")[0]
    side = path.with_suffix(".json")
    if side.is_file():
        try:
            rec = json.loads(side.read_text())
        except ValueError:
            raise InputError("csv", f"{side}: unreadable record", "sbq") from None
        kind = rec.get("agent", label)
        name = _NAMES.get(kind, kind) if kind != "hybrid" else _HYBRID[float(rec.get("pathwise", 0)) > 0]
        label = f"{name}{', general' if rec.get('general') else ''}" + \
                (f", {rec['perception']} reward" if rec.get("perception", "sbq") != "sbq" else "")
    return data, label


@dataclass(frozen=True)
class Group:
    """One line of the figure: the curves of one label, on the steps all its seeds reached."""

    label: str
    seeds: int
    steps: np.ndarray
    seconds: np.ndarray          # mean over seeds of the wall-clock time at each step
    mean: np.ndarray             # mean over seeds of the moving average
    half: np.ndarray             # half-width of the 95 % t-interval over seeds (NaN with one seed)


def curve_groups(paths, window: int = 20) -> list[Group]:
    """The curves of ``paths`` grouped by label (:func:`read_curve`), each seed smoothed by a
    ``window``-rollout moving average and put on the shortest seed's steps."""
    from scipy import stats

    by_label: dict[str, list[np.ndarray]] = {}
    for p in paths:
        data, label = read_curve(p)
        by_label.setdefault(label, []).append(data)
    groups = []
    for label, runs in by_label.items():
        steps = min((r[:, 0] for r in runs), key=len)
        w = max(1, min(int(window), len(steps)))
        smooth = np.array([np.convolve(np.interp(steps, r[:, 0], r[:, 2]), np.ones(w) / w, mode="valid")
                           for r in runs])
        secs = np.array([np.interp(steps, r[:, 0], r[:, 1]) for r in runs])[:, w - 1:]
        n = len(runs)
        half = (stats.t.ppf(0.975, n - 1) * smooth.std(axis=0, ddof=1) / np.sqrt(n) if n > 1
                else np.full(smooth.shape[1], np.nan))
        groups.append(Group(label, n, steps[w - 1:], secs.mean(axis=0), smooth.mean(axis=0), half))
    return groups


def draw_curves(paths, output, window: int = 20, title: str = "sbq: training curves",
                groups: list[Group] | None = None) -> Path:
    """Figure ``sbq-training``: mean reward per slot against steps and against wall-clock time
    (``groups``: :func:`curve_groups` of ``paths`` already read)."""
    from ..caches import pyplot
    from ..experiments.analysis import check_figure_path
    check_figure_path(output, "-o", "sbq")
    if int(window) < 1:
        raise InputError("--window", f"must be >= 1, got {window}", "sbq")
    plt = pyplot()

    from ..experiments.style import line_styles

    groups = groups if groups is not None else curve_groups(paths, window)
    styles = line_styles(["drl", "dqn", "td3"], "drl", "sbq")          # the colours of figures 1-2
    colour = {_HYBRID[True]: styles["drl"]["color"], _HYBRID[False]: "tab:blue",
              _NAMES["dqn"]: styles["dqn"]["color"], _NAMES["td3"]: styles["td3"]["color"]}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for g in groups:
        label = g.label + (f" ({g.seeds} seeds, 95 % CI)" if g.seeds > 1 else "")
        for ax, x in ((axes[0], g.steps), (axes[1], g.seconds / 60)):
            line, = ax.plot(x, g.mean, label=label, lw=2.2 if g.label.startswith(_HYBRID[True]) else 1.4,
                            color=colour.get(g.label))
            if g.seeds > 1:
                ax.fill_between(x, g.mean - g.half, g.mean + g.half, color=line.get_color(), alpha=0.2, lw=0)
    if all(np.all(g.mean >= 0) for g in groups):          # rewards >= 0: an interval below 0 is not drawn
        axes[0].set_ylim(bottom=0)
    axes[0].set_xlabel("environment steps (slots)")
    axes[1].set_xlabel("wall-clock training time (min)")
    axes[0].set_ylabel(f"mean reward per slot\n(moving average of {window} rollouts)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.03 + 0.045 * ((len(groups) + 1) // 2), 1, 1))   # room for the legend below
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=130)
    plt.close(fig)
    return output


def figure3(out, quick: bool = False, progress: bool = True):
    """``sbq-training`` from :data:`SHIPPED_CURVES` into ``out/sbq-training.png``: ``(image, title, summary)``,
    one summary row per agent: the mean reward per slot of the last 20 rollouts, with its 95 % interval
    over training seeds, and the mean wall-clock seconds of a run."""
    paths = sorted(SHIPPED_CURVES.glob("*.csv"))
    if not paths:
        raise InputError("--figure", f"no training curves in {SHIPPED_CURVES}; `make curves` writes them", "sbq")
    title = ("sbq-training: per-scenario agents at the default scenario (K = 6, Pmax = 1 W); "
             "wall-clock on a shared 2-core CPU")
    groups = curve_groups(paths)
    image = draw_curves(paths, Path(out) / "sbq-training.png", title=title, groups=groups)
    summary = [{"point": {"steps": int(g.steps[-1])}, "algorithm": g.label, "measure": "mean_reward",
                "n": g.seeds, "feasible": g.seeds, "infeasible": 0, "failed": 0, "mean": float(g.mean[-1]), "ci95": float(g.half[-1]), "min": float("nan"),
                "max": float("nan"), "gap": float("nan"), "time_s": float(g.seconds[-1])}
               for g in groups]
    return image, title, summary
