"""Offloading (Zheng et al., Sec. IV): the numbers of the claims table of
docs/models.md, offloading "Claims", read from the stores of the shipped specs
(a script, not a test).

Gain of bcd over a baseline = mean over a figure's points where every run of
both is feasible of ``mean(bcd) / mean(baseline) - 1`` on the figure's y (Fig. 2:
M = 3; Fig. 4: F_k >= Table III's). "M effect" = the same for bcd at M = 3 over
bcd at M = 1.

Run: ``semalloc reproduce offloading --out out --workers 2`` (full seeds, ~4 min),
then ``PYTHONPATH=src .venv/bin/python benchmarks/offloading_claims.py out``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from semalloc.experiments.store import ResultsStore

TABLE_III_F = 2048 * 0.96e9
X = {3: "terminals", 4: "edge_cpu_hz", 5: "subcarrier_bandwidth_hz", 6: "compression"}


def load(out: Path, fig: int) -> dict:
    """{(M, x, algorithm): list of rows over seeds}."""
    with ResultsStore.open(next(out.glob(f"offloading-fig{fig}-*.db"))) as store:
        rows = store.rows()
    by: dict = {}
    for r in rows:
        p = r["point"]
        by.setdefault((p.get("exit_points", 3), p.get(X.get(fig), None), r["algorithm"]), []).append(r)
    for v in by.values():
        v.sort(key=lambda r: r["seed"])                         # paired comparisons zip over seeds
    return by


def mean(by: dict, m: int, x, a: str, y: str = "objective") -> float:
    """Mean of ``y`` over seeds; nan unless every run is feasible."""
    rows = by[(m, x, a)]
    if not all(r["feasible"] for r in rows):
        return float("nan")
    return float(np.mean([r["objective"] if y == "objective" else r["metrics"][y] for r in rows]))


def xs(by: dict, m: int) -> list:
    return sorted({x for (mm, x, _) in by if mm == m})


def gains(by: dict, base: str, ms=(3, 1), keep=lambda x: True, other: str = "bcd") -> np.ndarray:
    """``other / base - 1`` per point (M, x) with every run feasible."""
    g = [mean(by, m, x, other) / mean(by, m, x, base) - 1 for m in ms for x in xs(by, m) if keep(x)]
    return np.array([v for v in g if np.isfinite(v)])


def m_effect(by: dict, keep=lambda x: True) -> np.ndarray:
    g = [mean(by, 3, x, "bcd") / mean(by, 1, x, "bcd") - 1 for x in xs(by, 3) if keep(x)]
    return np.array([v for v in g if np.isfinite(v)])


def pct(v) -> str:
    return f"{100 * np.mean(v):+.1f} %"


def main(out: Path) -> None:
    f2 = load(out, 2)
    algos = ("bcd", "linear", "fa", "uc", "ftm")
    it = {a: [len(r["trace"]) - 1 for r in f2[(3, None, a)] + f2[(1, None, a)]] for a in algos}
    print("Fig. 2 iterations (mean / max): " + ", ".join(f"{a} {np.mean(v):.2f} / {max(v)}" for a, v in it.items()))
    print("Fig. 2 bcd over linear / fa / uc / ftm (M = 3): "
          + " / ".join(pct(gains(f2, a, ms=(3,))) for a in ("linear", "fa", "uc", "ftm")))
    print("Fig. 2 M effect (bcd): " + pct(m_effect(f2)))
    lin = []
    for fig in (3, 4, 5, 6):
        by = load(out, fig)
        keep = (lambda x: x >= TABLE_III_F * (1 - 1e-9)) if fig == 4 else (lambda x: True)
        base = ("linear", "fa", "uc", "ftm") if fig in (3, 4) else ("linear", "fa", "uc")
        g = {a: gains(by, a, keep=keep) for a in base}
        lin.append((fig, g["linear"]))
        me = m_effect(by, keep)
        print(f"\nFig. {fig}: bcd over {' / '.join(base)}: {' / '.join(pct(g[a]) for a in base)}; "
              f"M = 3 over M = 1 (bcd): {pct(me)} (per x: {', '.join(f'{100 * v:.1f}' for v in m_effect(by))} %)")
        y = "reward_per_terminal" if fig == 3 else "objective"
        for m in (3, 1):
            print(f"  M = {m}, x = {xs(by, m)}")
            for a in ("bcd",) + base:
                print(f"    {a:6s} " + " ".join(f"{mean(by, m, x, a, y):7.3f}" for x in xs(by, m)))
        if fig == 3:
            print("  bcd mean delay (ms, M = 3): " + " ".join(f"{1e3 * mean(by, 3, x, 'bcd', 'mean_delay_s'):.0f}"
                                                           for x in xs(by, 3)))
            for a in ("fa", "ftm"):
                pairs = [[(b["metrics"]["reward_per_terminal"] - r["metrics"]["reward_per_terminal"])
                          for b, r in zip(by[(3, x, "bcd")], by[(3, x, a)]) if r["feasible"] and b["feasible"]]
                         for x in xs(by, 3)]
                print(f"  bcd - {a} per terminal, paired over feasible seeds (M = 3): "
                      + " ".join(f"{np.mean(p):.3f} ({len(p)})" for p in pairs))
        if fig == 4:
            one = min(xs(by, 3), key=lambda x: abs(x - TABLE_III_F))
            print("  M = 3 - M = 1 at Table III's F_k: " + ", ".join(
                f"{a} {mean(by, 3, one, a) - mean(by, 1, one, a):.2f}" for a in ("bcd",) + base))
            print("  infeasible runs per (M, x, algorithm): " + ", ".join(
                f"{k}: {sum(not r['feasible'] for r in v)}/{len(v)}" for k, v in sorted(by.items(), key=str)
                if any(not r["feasible"] for r in v)))
        if fig == 5:
            for m in (3, 1):
                r = [mean(by, m, x, "bcd") for x in xs(by, m)]
                print(f"  M = {m}: last / first increment of bcd {(r[-1] - r[-2]) / (r[1] - r[0]):.2f}")
            for a in ("uc", "fa"):
                print(f"  {a} gap per B (%, M = 3): " + " ".join(
                    f"{100 * (mean(by, 3, x, 'bcd') / mean(by, 3, x, a) - 1):.2f}" for x in xs(by, 3)))
        if fig == 6:
            print("  bcd semantic share (%, M = 3, 1 MHz): " + " ".join(
                f"{100 * mean(by, 3, x, 'bcd', 'semantic_share'):.0f}" for x in xs(by, 3)))
    print("\nbcd over linear per figure (mean, %): " + ", ".join(f"Fig. {f} {100 * np.mean(v):+.2f}" for f, v in lin)
          + "; linear's largest lead at a point: "
          + f"{-100 * min(min(v) for _, v in lin):.2f} %")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out"))
