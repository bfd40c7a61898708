"""Why UC (an even edge-CPU split) is almost as good as BCD's KKT split
(Zheng et al., Sec. IV-C; docs/models.md, offloading "Why UC is close to BCD").

The reward of a terminal is ``-C_1 ln(M_i t_u)`` with ``t_u = alpha_u + beta_u / f_u``
(``alpha``: transmission + local delay, ``beta``: edge cycles), i.e.

    -ln(alpha_u + beta_u / f_u) = ln f_u - ln beta_u - ln(1 + alpha_u f_u / beta_u).

Without the last term (``alpha -> 0``) the sum over a server's terminals is
maximised by the even split *whatever* ``beta`` is (``sum ln f_u`` under
``sum f_u = F_k``), so UC is optimal there. The last term depends only on the
ratio ``t_comm / t_comp = alpha f / beta`` of each terminal. This script takes
BCD's own allocation (x, rho, e) on the default scenario, multiplies every
``alpha_u`` by ``s`` and compares the reward of problem 26a's KKT split with
the even split on the *same* (x, rho, e): the gap vanishes at ``s = 0``, is
small at the paper's ``s = 1`` and peaks where ``t_comm ~ t_comp`` with spread
ratios. It also prints the full-run gap (``uc`` vs ``bcd``, each with its own
matchings), the delay shares of BCD's output and, for Fig. 4, bcd's reward and
median delays per edge capacity F_k.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/offloading_uc.py [--seeds 6]`` (~30 s).
"""
from __future__ import annotations

import argparse

import numpy as np

import semalloc
from semalloc.problems.offloading.algorithms import bcd, start
from semalloc.problems.offloading.evaluate import delays, parse_variables
from semalloc.problems.offloading.model import Model

SCALES = (0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
#: Multiples of Table III's F_k of Fig. 4's axis (offloading-fig4.yaml).
EDGE = (1 / 16, 1 / 4, 1.0, 4.0, 16.0, 64.0)


def split_gap(m: Model, st, scale: float) -> tuple[float, float, float]:
    """``(reward with the KKT split - reward with the even split, median t_comm / t_comp
    under the KKT split, reward with the KKT split)`` on ``st``'s (x, rho, e), every
    ``alpha_u`` (transmission and local delay) multiplied by ``scale``."""
    bits, local = m.bits, m.local
    m.bits, m.local = bits * scale, local * scale
    try:
        rate = m.rates(st.occ)
        kkt = m.cpu_split(rate, st.e, st.bs)                                     # problem 26a
        even = m.cpu_split(rate, st.e, st.bs, uniform=True)                      # UC
        r_kkt, r_even = (float(m.reward_of(m.cost(rate, st.e, f))) for f in (kkt, even))
        u = np.arange(m.U)
        ratio = (m.bits[st.e, u] / rate + m.local[st.e, u]) / (m.cycles[st.e, u] / kkt)
    finally:
        m.bits, m.local = bits, local
    return r_kkt - r_even, float(np.median(ratio)), r_kkt


def edge_table(seeds) -> None:
    """Fig. 4: bcd's reward and median delays per multiple of Table III's F_k (M = 3)."""
    print("\n| F_k / Table III | bcd feasible | bcd reward (feasible runs) | median t_comm (ms) | median t_comp (ms) |"
          "\n|---|---|---|---|---|")
    for mult in EDGE:
        rows = []
        for seed in seeds:
            inst = semalloc.generate("offloading", seed=seed, edge_cpu_hz=2048 * 0.96e9 * mult)
            v = semalloc.solve(inst, "bcd", seed=seed).variables
            ev = semalloc.evaluate(inst, v)
            t_comm, t_comp = delays(inst, parse_variables(inst, v))
            rows.append((ev.feasible, ev.objective, np.median(t_comm), np.median(t_comp)))
        ok, obj, tc, tp = (np.array(c) for c in zip(*rows))
        print(f"| {mult:g} | {int(ok.sum())}/{len(ok)} | {obj[ok].mean() if ok.any() else float('nan'):.2f} | "
              f"{1e3 * tc.mean():.1f} | {1e3 * tp.mean():.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    seeds = range(args.seeds)
    gaps = {s: [] for s in SCALES}
    ratios = {s: [] for s in SCALES}
    shares, full, linear = [], [], []
    for seed in seeds:
        inst = semalloc.generate("offloading", seed=seed)
        m = Model(inst)
        st, _ = bcd(m, start(m, seed))
        for s in SCALES:
            g, ratio, _ = split_gap(m, st, s)
            gaps[s].append(g)
            ratios[s].append(ratio)
        rate = m.rates(st.occ)
        u = np.arange(m.U)
        t_comm = m.bits[st.e, u] / rate
        t_comp = m.cycles[st.e, u] / st.f + m.local[st.e, u]
        shares.append((np.median(t_comm), np.median(t_comp), np.median(t_comp / (t_comm + t_comp))))
        # contrast: a sum-of-delays objective, where the optimal split is f ~ sqrt(beta) per server
        beta, served = m.cycles[st.e, u], st.bs >= 0
        root = np.sqrt(beta) * served
        f_sqrt = inst.base_stations.cpu_hz[st.bs] * root / np.bincount(st.bs[served], root[served], m.K)[st.bs]
        f_even = m.cpu_split(rate, st.e, st.bs, uniform=True)
        linear.append(np.sum(t_comm + beta / f_even) / np.sum(t_comm + beta / f_sqrt) - 1)
        b, uc = (semalloc.evaluate(inst, semalloc.solve(inst, a, seed=seed).variables).objective for a in ("bcd", "uc"))
        full.append((b, uc))
    sh = np.array(shares)
    print(f"BCD's outputs, seeds 0-{args.seeds - 1}: "
          f"median t_comm {1e3 * sh[:, 0].min():.1f}-{1e3 * sh[:, 0].max():.1f} ms, "
          f"t_comp {1e3 * sh[:, 1].min():.1f}-{1e3 * sh[:, 1].max():.1f} ms, "
          f"computation share of the delay {100 * sh[:, 2].min():.0f}-{100 * sh[:, 2].max():.0f} % (medians per seed)")
    b, uc = np.array(full).T
    print(f"full runs: bcd {b.mean():.3f}, uc {uc.mean():.3f}: uc loses {b.mean() - uc.mean():.3f} "
          f"({100 * (1 - uc.mean() / b.mean()):.2f} %), i.e. its delays are longer by "
          f"{100 * (np.exp((b.mean() - uc.mean()) / 20) - 1):.2f} % (geometric mean over 20 terminals)")
    print(f"contrast, sum of delays as the objective: the even split's total delay exceeds the optimal "
          f"(f ~ sqrt(beta)) one's by {100 * np.mean(linear):.2f} % (mean; max {100 * np.max(linear):.2f} %)")
    print("\n| alpha scale s | median t_comm/t_comp (KKT) | KKT - even split reward (mean) | max over seeds | "
          "even split's geometric-mean delay excess |\n|---|---|---|---|---|")
    for s in SCALES:
        g = np.array(gaps[s])
        print(f"| {s:g} | {np.mean(ratios[s]):.3g} | {g.mean():.4f} | {g.max():.4f} | "
              f"{100 * (np.exp(g.mean() / 20) - 1):.3f} % |")
    edge_table(seeds)


if __name__ == "__main__":
    main()
