"""Reproduce a paper's comparison figure: every algorithm over seeds.

Examples
--------
>>> from semalloc.experiments.reproduce import run_comparison
>>> rows = run_comparison("multicell", seeds=[0], algorithms=["prop", "nua"],
...                       settings={"utility": "accuracy", "devices": 6, "base_stations": 2})
>>> sorted(r["algorithm"] for r in rows)
['nua', 'prop']
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..solve import generate, get_problem, solve

__all__ = ["run_comparison", "summarise", "FIGURES", "plot_bars"]

#: Paper figures that ``semalloc reproduce`` knows: key -> figure -> spec.
FIGURES = {
    "multicell": {
        4: {"title": "He et al., Fig. 4: total utility of each algorithm (M = 5, N = 30)",
            "panels": [{"utility": "accuracy"}, {"utility": "inverse_error"}],
            "seeds": 10, "quick_seeds": 3,
            "algorithms": ["prop", "tc", "fsc", "arb", "nua", "fan", "best", "exact"]},
    },
}


def run_comparison(key: str, seeds: Iterable[int], algorithms: list[str], settings: dict,
                   progress: Callable[[], None] | None = None) -> list[dict]:
    """Solve ``generate(key, seed, **settings)`` with each algorithm, for each seed."""
    rows = []
    for seed in seeds:
        inst = generate(key, seed=seed, **settings)
        for name in algorithms:
            res = solve(inst, name)
            rows.append({"seed": seed, "algorithm": name, "status": res.status,
                         "objective": res.objective, "time_s": res.stats["time_s"]})
            if progress:
                progress()
    return rows


def summarise(rows: list[dict], algorithms: list[str]) -> list[dict]:
    """Mean and standard deviation of objective and time per algorithm, with the
    mean relative gap to ``exact`` when it ran."""
    out = []
    exact = {r["seed"]: r["objective"] for r in rows if r["algorithm"] == "exact"}
    for name in algorithms:
        mine = [r for r in rows if r["algorithm"] == name]
        obj = np.array([r["objective"] for r in mine])
        gaps = [1 - r["objective"] / exact[r["seed"]] for r in mine if exact.get(r["seed"], 0) > 0]
        out.append({"algorithm": name, "mean": float(np.mean(obj)), "std": float(np.std(obj)),
                    "gap": float(np.mean(gaps)) if gaps else float("nan"),
                    "time_s": float(np.mean([r["time_s"] for r in mine])), "runs": len(mine)})
    return out


def plot_bars(panels: list[tuple[str, list[dict]]], title: str, path: str | Path) -> Path:
    """One bar chart per panel (mean with std error bars); written as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (label, summary) in zip(axes[0], panels):
        names = [s["algorithm"] for s in summary]
        ax.bar(names, [s["mean"] for s in summary], yerr=[s["std"] for s in summary], capsize=3,
               color=["tab:red" if n in ("prop",) else "tab:green" if n in ("best", "exact") else "tab:gray"
                      for n in names])
        ax.set_title(label)
        ax.set_ylabel("total utility")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def known(key: str) -> dict:
    get_problem(key)
    return FIGURES.get(key, {})
