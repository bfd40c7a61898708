"""The training paper's (Li, Zhou, Zhao) Sec. VII claims, measured at its settings (N = 50,
Table II, the points of the shipped Figs. 3-8 specs, seeds 0-9): the numbers behind the claims
table, the order-at-the-same-start table, the printed loop per instance (claims 7, 11, 14), where
Fig. 5 settles (claim 12) and the Fig. 3(a) / Fig. 7 explanations in docs/models.md. Prints
markdown tables; about three minutes on one core.

Run: ``PYTHONPATH=src python benchmarks/training_claims.py [--seeds N]``.
"""
from __future__ import annotations

import sys

import numpy as np

import semalloc
from semalloc.experiments.reproduce import figures
from semalloc.experiments.spec import load_spec
from semalloc.problems.training.algorithms import _objective, average_point, optimise_pb
from semalloc.problems.training.evaluate import metrics

SEEDS = int(sys.argv[sys.argv.index("--seeds") + 1]) if "--seeds" in sys.argv else 10
PAPER = ["alternating", "alg3_printed", "random", "average", "pb_only", "fhr_only"]


def run(algo: str, inst_seed: int, point: dict, **options) -> dict:
    """One run's objective and evaluate's metrics, plus the upload and computation energies."""
    inst = semalloc.generate("training", seed=inst_seed, **point)
    r = semalloc.solve(inst, algo, **options)
    m = metrics(inst, r.variables)
    up = m.energy_device_j - inst.kappa * inst.cycles[0] * r.variables["cpu_hz"] ** 2
    return {"objective": r.objective, **r.stats["metrics"], "energy_upload_j": float(up.sum()),
            "energy_compute_j": float(m.total_energy_j - up.sum()), "rho_mean": float(np.mean(m.rho)),
            "upload_share_of_T": float((m.time_device_s - inst.cycles[0] / r.variables["cpu_hz"])[
                np.argmax(m.time_s)] / m.round_time_s)}


def means(point: dict, algos=PAPER) -> dict:
    """Mean over seeds of every measure, per algorithm."""
    out = {}
    for a in algos:
        rows = [run(a, s, point) for s in range(SEEDS)]
        out[a] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return out


def fmt(x: float) -> str:
    return f"{x:.3g}"


def figure_tables() -> dict:
    """Per figure: its varied setting and, per point value, the means of every algorithm."""
    tables = {}
    for num, path in figures("training").items():
        spec = load_spec(path)
        (x,) = spec.points[0]
        tables[num] = (x, {p[x]: means(p) for p in spec.points})
        print(f"\n### Fig. {num}: means over seeds 0-{SEEDS - 1}, N = 50 unless varied\n")
        keys = ["objective", "round_time_s", "round_time_device_s", "round_time_bs_s", "energy_j",
                "energy_device_j", "energy_bs_j", "energy_upload_j", "energy_compute_j", "psnr_db_mean",
                "psnr_db_min", "psnr_db_max", "rho_mean", "upload_share_of_T"]
        print("| " + x + " | algorithm | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 2) + "|")
        for v, per in tables[num][1].items():
            for a, m in per.items():
                print(f"| {v:g} | {a} | " + " | ".join(fmt(m[k]) for k in keys) + " |")
    return tables


def same_start() -> None:
    """Both orders of Algorithm 3 from the same sol^(0): P3 first (printed, stop on the solution's
    move) and P4 first (ours, stop on the objective), at the points of Figs. 3 and 4."""
    print(f"\n### Algorithm 3's two orders from the same start (N = 50, seeds 0-{SEEDS - 1}, means)\n")
    print("| setting | start | P3 first (printed) | P4 first | P4 first lower on | fhr_only |")
    print("|---|---|---|---|---|---|")
    for point in ({"bandwidth_hz": 1e6}, {"bandwidth_hz": 20e6}, {"power_max_dbm": 4.0}, {"power_max_dbm": 12.0},
                  {"devices": 10}, {"w_time": 0.9}):
        for start in ("random", "average", "fastest"):
            pr, p4 = ([run(a, s, point, start=start, seed=s)["objective"] for s in range(SEEDS)]
                      for a in ("alg3_printed", "alternating"))
            fhr = np.mean([run("fhr_only", s, point)["objective"] for s in range(SEEDS)])
            lower = int(np.sum(np.array(p4) < np.array(pr)))
            print(f"| {point} | {start} | {fmt(np.mean(pr))} | {fmt(np.mean(p4))} | {lower}/{SEEDS} | {fmt(fhr)} |")


def pb_only_at_fhr_rho() -> None:
    """Fig. 3(a): pb_only's round time as it is (rho of the Average allocation, 0.2) and with rho
    set to fhr_only's (P3's, mostly rho_min), beside fhr_only's: does rho explain the gap?"""
    print(f"\n### Fig. 3(a): round time T (s) of pb_only with its rho and with fhr_only's (seeds 0-{SEEDS - 1})\n")
    print("| B_total | pb_only (rho 0.2) | pb_only at fhr_only's rho | fhr_only | mean rho of fhr_only |")
    print("|---|---|---|---|---|")
    for bw in (1e6, 5e6, 10e6, 15e6, 20e6):
        t_pb, t_cf, t_fhr, rhos = [], [], [], []
        for s in range(SEEDS):
            inst = semalloc.generate("training", seed=s, bandwidth_hz=bw)
            a, fhr = average_point(inst), semalloc.solve(inst, "fhr_only")
            t_pb.append(semalloc.solve(inst, "pb_only").stats["metrics"]["round_time_s"])
            t_fhr.append(fhr.stats["metrics"]["round_time_s"])
            rho = fhr.variables["rho"]
            rhos.append(rho.mean())
            out = optimise_pb(inst, a["cpu_hz"], a["bs_cpu_hz"], rho, _objective(inst, a) / inst.w_time)
            t_cf.append(out[2])
        print(f"| {bw / 1e6:g} MHz | {fmt(np.mean(t_pb))} | {fmt(np.mean(t_cf))} | {fmt(np.mean(t_fhr))} | "
              f"{fmt(np.mean(rhos))} |")


def printed_per_instance() -> None:
    """Claims 7, 11, 14: the printed loop against fhr_only (and pb_only) per instance, at every
    point of Figs. 3-5, over seeds 0 to 2 SEEDS - 1: is it below on the mean of the first SEEDS
    seeds, of all, and on how many instances; the range of the per-instance ratio."""
    n = 2 * SEEDS
    print(f"\n### Printed loop / baseline per instance (N = 50, seeds 0-{n - 1})\n")
    print(f"| figure | point | baseline | ratio of means, seeds 0-{SEEDS - 1} | ratio of means, 0-{n - 1} | "
          "printed lower on | per-instance ratio |")
    print("|---|---|---|---|---|---|---|")
    for num in (3, 4, 5):
        spec = load_spec(figures("training")[num])
        for point in spec.points:
            insts = [semalloc.generate("training", seed=s, **point) for s in range(n)]
            pr = np.array([semalloc.solve(i, "alg3_printed").objective for i in insts])
            for b in ("fhr_only", "pb_only"):
                o = np.array([semalloc.solve(i, b).objective for i in insts])
                r = pr / o
                print(f"| {num} | {point} | {b} | {pr[:SEEDS].mean() / o[:SEEDS].mean():.4f} | "
                      f"{pr.mean() / o.mean():.4f} | {int(np.sum(r < 1))}/{n} | {r.min():.3f}-{r.max():.3f} |")


def fig5_settling() -> None:
    """Claim 12: where f_max stops binding for alternating, and how much its T and E move per
    instance between 0.5 and 1 GHz (seeds 0 to 2 SEEDS - 1)."""
    n, speeds = 2 * SEEDS, (1e8, 5e8, 7.5e8, 1e9)
    print(f"\n### Fig. 5: alternating as f_max grows (N = 50, seeds 0-{n - 1})\n")
    t, e = np.zeros((len(speeds), n)), np.zeros((len(speeds), n))
    for i, f in enumerate(speeds):
        share, top = [], []
        for s in range(n):
            r = semalloc.solve(semalloc.generate("training", seed=s, cpu_max_hz=f), "alternating")
            cpu = r.variables["cpu_hz"]
            share.append(np.mean(cpu >= f * (1 - 1e-6)))
            top.append(cpu.max() / f)
            t[i, s], e[i, s] = r.stats["metrics"]["round_time_s"], r.stats["metrics"]["energy_j"]
        print(f"f_max {f / 1e9:g} GHz: devices at f_max {np.mean(share):.3f}, max f / f_max {max(top):.3f}, "
              f"mean T {t[i].mean():.4f} s, mean E {e[i].mean():.4f} J")
    dt, de = t[-1] / t[1] - 1, e[-1] / e[1] - 1
    print(f"0.5 -> 1 GHz per instance: T {dt.min():+.4f} to {dt.max():+.4f}, E {de.min():+.4f} to {de.max():+.4f}; "
          f"mean of seeds 0-1: T {t[-1, :2].mean() / t[1, :2].mean() - 1:+.4f}, E {e[-1, :2].mean() / e[1, :2].mean() - 1:+.4f}")


def alternating_per_instance() -> None:
    """The "Per instance" paragraph: alternating (and from the Average start) against the better
    of pb_only and fhr_only on each instance, and best against both, N = 6, 10, 50 x 1, 5, 20 MHz."""
    print(f"\n### alternating per instance against the better single-block baseline (seeds 0-{SEEDS - 1})\n")
    print("| N | B_total | alternating below both | max ratio | Average start: below both | max ratio | "
          "best below both | best above alternating |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (6, 10, 50):
        for bw in (1e6, 5e6, 20e6):
            insts = [semalloc.generate("training", seed=s, devices=n, bandwidth_hz=bw) for s in range(SEEDS)]
            base = np.array([min(semalloc.solve(i, b).objective for b in ("pb_only", "fhr_only")) for i in insts])
            alt, avg, best = (np.array([semalloc.solve(i, a, **o).objective for i in insts]) for a, o in
                              (("alternating", {}), ("alternating", {"start": "average"}), ("best", {})))
            print(f"| {n} | {bw / 1e6:g} MHz | {int(np.sum(alt < base))}/{SEEDS} | {np.max(alt / base):.3f} | "
                  f"{int(np.sum(avg < base))}/{SEEDS} | {np.max(avg / base):.3f} | {int(np.sum(best < base))}/{SEEDS} | "
                  f"{int(np.sum(best > alt * (1 + 1e-12)))}/{SEEDS} |")


if __name__ == "__main__":
    alternating_per_instance()
    printed_per_instance()
    fig5_settling()
    pb_only_at_fhr_rho()
    same_start()
    figure_tables()
