"""sbq benchmark (a script, not a test): the shipped scenario-general agent at every point of the figures.

For the notes' default scenario (K = 6, Nt = 4, M = 3, Pmax = 1 W, B = 1.8 MHz) and each point of
``sbq-fig1`` (K in 2..12) and ``sbq-fig2`` (Pmax in 0.01..10 W), score on the same evaluation episodes
(time-correlated slots, seeds 10000..; every decision checked by ``evaluate``):

- ``drl``: the shipped agent (``semalloc/rl/data/sbq-hybrid.pt``, or ``--agent``) over episodes, its
  state carrying the last slot's outcome; ``drl (1st)``: the same slots each decided alone (last outcome
  zero, as in a figure's single slot); ``drl-sampled``: the same agent over episodes with policy sampling
  (``--samples`` actions drawn, the best by the model kept; :func:`semalloc.rl.sbq_drl.drl_sampled`);
  ``drl-local``: the same agent's assignment improved by single-user subchannel changes scored by the model,
  then ``best``'s power and bandwidth for the assignment found (:func:`semalloc.rl.sbq_drl.drl_local`; a third
  table, with the search alone (``reallocate=False``), with ``changes=1``, the best single change, and with
  ``swaps=True``, also swaps of two users' choices where no single change gains, beside it);
- ``drl-zf`` (ours; a fourth table): the shipped agent that also sees the channel directions and places the
  users one by one with each subchannel's zero-forcing residual (``semalloc/rl/data/sbq-hybrid-zf.pt``, or
  ``--zf-agent``), over episodes, and its mode with the same local search and re-allocation (``zf-local``,
  :func:`semalloc.rl.sbq_drl.drl_zf_local`; ``zf-search``: without the re-allocation; ``zf-local 1``: its best
  single change alone; ``zf-local+sw``: with swaps);
- ``mapping`` (fair: best's search on the S-SE-perceived QoS), ``mapping-drl`` (the shipped agent of the same
  recipe trained on the S-SE-perceived reward, each slot decided alone), ``mapping-equal``, ``equal``, ``best``;
- ``dqn`` and ``td3``: the shipped scenario-general single-type DRL baselines over episodes (a second table;
  DQN at K <= 6 only, where its joint discrete action exists).

Columns: mean effective SC-QoS per slot, drl / best, drl-sampled / best, drl / mapping, drl / mapping-drl,
drl / mapping-equal, and the median decision time per slot of drl, drl-sampled and best, on one torch
thread and one BLAS thread (OpenBLAS's threads spinning against another job on the machine multiplied
the small products of ``drl-sampled`` several times over). ``--baselines DIR``: also, at the default scenario, per-scenario
agents from DIR (``hybrid-<steps>.pt``, ``dqn-<steps>.zip``, ``td3-<steps>.zip``; trained if missing).

Run: ``.venv/bin/python benchmarks/sbq.py [--episodes 50] [--slots 4] [--default-slots 10] [--agent PATH] [--zf-agent PATH]
[--points all|default] [--samples 32] [--baselines DIR --steps 300000 --dqn-steps 20000 --sb3-steps 30000]``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

import semalloc
from semalloc.rl.checkpoint import SHIPPED, SHIPPED_BY_PRESET, SHIPPED_ZF, load
from semalloc.rl.cli import format_rows
from semalloc.rl.evaluation import compare, run_episodes
from semalloc.rl.sbq_drl import SAMPLES
from semalloc.rl.training import train

#: The points of sbq-fig1 (K, at Pmax = 1 W) and sbq-fig2 (Pmax, at K = 6); the default (6, 1 W) is in both.
POINTS = ([{"users": k} for k in (2, 4, 6, 8, 10, 12)] +
          [{"power_max_w": p} for p in (0.01, 0.03, 0.1, 0.3, 3.0, 10.0)])


def point_label(point: dict) -> str:
    """A point's row label: ``default`` (no setting), ``K=..`` or ``Pmax=.. W``."""
    if not point:
        return "default"
    return f"K={point['users']}" if "users" in point else f"Pmax={point['power_max_w']:g} W"


ALGOS = ["mapping", "mapping-drl", "mapping-equal", "equal", "best"]
#: The shipped single-type DRL baselines (DQN only where its joint action exists: K <= 6).
BASELINES = ["dqn", "td3"]


def _point(agent, zf, agents: dict, settings: dict, episodes: int, slots: int, samples: int) -> dict:
    """Mean per slot of every row, the ratios and the median decision times at one scenario."""
    out = {}
    for name, decide in (("drl", lambda i, s, e: agent.decide(i, s, e)[0]),
                         ("drl-zf", lambda i, s, e: zf.decide(i, s, e)[0]),
                         ("zf-local", lambda i, s, e: zf.decide(i, s, e, local=True, reallocate=True)[0]),
                         ("zf-local 1", lambda i, s, e: zf.decide(i, s, e, local=True, changes=1, reallocate=True)[0]),
                         ("zf-search", lambda i, s, e: zf.decide(i, s, e, local=True)[0]),
                         ("zf-local+sw", lambda i, s, e: zf.decide(i, s, e, local=True, reallocate=True, swaps=True)[0]),
                         ("drl (1st)", lambda i, s, e: agent.decide(i)[0]),
                         ("drl-sampled", lambda i, s, e: agent.decide(i, s, e, samples=samples)[0]),
                         ("drl-local", lambda i, s, e: agent.decide(i, s, e, local=True, reallocate=True)[0]),
                         ("drl-local 1", lambda i, s, e: agent.decide(i, s, e, local=True, changes=1, reallocate=True)[0]),
                         ("drl-search", lambda i, s, e: agent.decide(i, s, e, local=True)[0]),
                         ("drl-local+sw", lambda i, s, e: agent.decide(i, s, e, local=True, reallocate=True,
                                                                       swaps=True)[0]),
                         *[(a, lambda i, s, e, a=a: semalloc.solve(i, a).variables) for a in ALGOS],
                         *[(a, lambda i, s, e, a=a: agents[a].decide(i, s, e)[0]) for a in BASELINES
                           if settings.get("users", 6) <= agents[a].K]):
        r = run_episodes(decide, settings, episodes, slots)
        out[name] = float(r["rewards"].mean())
        out[f"{name} ms"] = 1e3 * r["decide_median_s"]
        out[f"{name} infeasible"] = r["infeasible"]
    return out


def _table(rows: list[tuple[str, dict]]) -> str:
    head = (f"{'point':<14} {'drl':>6} {'drl 1st':>7} {'drl-s':>6} {'mapping':>7} {'map-drl':>7} {'map-eq':>6} "
            f"{'equal':>6} {'best':>6} {'drl/best':>8} {'drl-s/best':>10} {'drl/map':>7} {'drl/m-drl':>9} "
            f"{'drl/m-eq':>8} {'drl ms':>6} {'drl-s ms':>8} {'best ms':>7}")
    lines = [head]
    for label, r in rows:
        lines.append(f"{label:<14} {r['drl']:>6.3f} {r['drl (1st)']:>7.3f} {r['drl-sampled']:>6.3f} "
                     f"{r['mapping']:>7.3f} {r['mapping-drl']:>7.3f} {r['mapping-equal']:>6.3f} {r['equal']:>6.3f} "
                     f"{r['best']:>6.3f} {r['drl'] / r['best']:>8.3f} {r['drl-sampled'] / r['best']:>10.3f} "
                     f"{r['drl'] / r['mapping']:>7.3f} {r['drl'] / max(r['mapping-drl'], 1e-12):>9.3f} "
                     f"{r['drl'] / max(r['mapping-equal'], 1e-12):>8.2f} {r['drl ms']:>6.3f} "
                     f"{r['drl-sampled ms']:>8.3f} {r['best ms']:>7.1f}")
    return "\n".join(lines)


def _columns(rows: list[tuple[str, dict]], columns: list[tuple], note: str) -> None:
    """Print a table: a row per point, a column per ``(header, width, decimals, value of a row)``."""
    print(f"{'point':<14} " + " ".join(f"{h:>{w}}" for h, w, _, _ in columns) + f"   ({note})")
    for label, r in rows:
        print(f"{label:<14} " + " ".join(f"{v(r):>{w}.{d}f}" for _, w, d, v in columns))


def _summary(rows: list[tuple[str, dict]], key: str, others: list[str]) -> str:
    """One line: ``key / best``'s range and how often it reaches 0.95, and the points where ``key`` is at or
    above each of ``others`` (those a point has)."""
    ratio = [r[key] / r["best"] for _, r in rows]
    above = sum(all(r[key] >= r[a] for a in others if a in r) for _, r in rows)
    return (f"{key} / best {min(ratio):.3f}..{max(ratio):.3f}, >= 0.95 at {sum(x >= 0.95 for x in ratio)}/{len(rows)} "
            f"points; {key} >= {' and '.join(others)} at {above}/{len(rows)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", type=Path, default=SHIPPED)
    ap.add_argument("--zf-agent", type=Path, default=SHIPPED_ZF, help="drl-zf's agent")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--slots", type=int, default=4, help="slots per episode at the figure points")
    ap.add_argument("--default-slots", type=int, default=10, help="slots per episode at the default scenario")
    ap.add_argument("--points", choices=["all", "default"], default="all")
    ap.add_argument("--samples", type=int, default=SAMPLES, help="drl-sampled's policy samples")
    ap.add_argument("--baselines", type=Path, default=None, help="per-scenario agents' folder (default scenario)")
    ap.add_argument("--steps", type=int, default=307_200, help="per-scenario hybrid agent's steps")
    ap.add_argument("--dqn-steps", type=int, default=20_000)
    ap.add_argument("--sb3-steps", type=int, default=30_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)                             # numpy's BLAS on one thread too: a decision is one core's work
    agent, zf = load(args.agent), load(args.zf_agent)
    baselines = {a: load(SHIPPED_BY_PRESET[a]) for a in BASELINES}
    t0 = time.perf_counter()
    rows = [("default K6 1W", _point(agent, zf, baselines, {}, args.episodes, args.default_slots, args.samples))]
    print(_table(rows), flush=True)
    if args.points == "all":
        for p in POINTS:
            label = point_label(p)
            rows.append((label, _point(agent, zf, baselines, p, args.episodes, args.slots, args.samples)))
            print(_table(rows[-1:]).splitlines()[1], flush=True)
    print()
    print(f"sbq, shipped agent {args.agent.name} ({agent.stats.get('steps')} steps): default scenario "
          f"{args.episodes} episodes x {args.default_slots} slots, figure points {args.episodes} x {args.slots}; "
          f"decision times are medians per slot; {time.perf_counter() - t0:.0f} s")
    print(_table(rows))
    print()
    print(f"{'point':<14} {'drl':>6} {'dqn':>6} {'td3':>6} {'drl/dqn':>7} {'drl/td3':>7} {'dqn ms':>6} {'td3 ms':>6}"
          "   (single-type DRL baselines, the same episodes; dqn: K <= 6)")
    for label, r in rows:
        dqn = (f"{r['dqn']:>6.3f}", f"{r['drl'] / max(r['dqn'], 1e-12):>7.2f}", f"{r['dqn ms']:>6.3f}") if "dqn" in r \
            else (f"{'-':>6}", f"{'-':>7}", f"{'-':>6}")
        print(f"{label:<14} {r['drl']:>6.3f} {dqn[0]} {r['td3']:>6.3f} {dqn[1]} {r['drl'] / max(r['td3'], 1e-12):>7.2f} "
              f"{dqn[2]} {r['td3 ms']:>6.3f}")
    print()
    _columns(rows, [("drl", 6, 3, lambda r: r["drl"]), ("drl-local", 9, 3, lambda r: r["drl-local"]),
                    ("best", 6, 3, lambda r: r["best"]), ("drl/best", 8, 3, lambda r: r["drl"] / r["best"]),
                    ("search/best", 11, 3, lambda r: r["drl-search"] / r["best"]),
                    ("local/best", 10, 3, lambda r: r["drl-local"] / r["best"]),
                    ("local1/best", 11, 3, lambda r: r["drl-local 1"] / r["best"]), ("drl ms", 6, 3, lambda r: r["drl ms"]),
                    ("search ms", 9, 3, lambda r: r["drl-search ms"]), ("local ms", 8, 3, lambda r: r["drl-local ms"]),
                    ("local1 ms", 9, 3, lambda r: r["drl-local 1 ms"]),
                    ("local+sw/best", 13, 3, lambda r: r["drl-local+sw"] / r["best"]),
                    ("local+sw ms", 11, 3, lambda r: r["drl-local+sw ms"]), ("best ms", 7, 1, lambda r: r["best ms"])],
             "drl-local: drl's assignment, 1-opt over single-user subchannel changes, then best's power and bandwidth "
             "for it; search: the same without that; local1: changes=1, the best single change, then best's power and "
             "bandwidth; local+sw: swaps=true, also swaps of two users' choices where no single change gains")
    for key in ("drl-search", "drl-local", "drl-local 1", "drl-local+sw"):
        print(_summary(rows, key, ["drl"]))
    print()
    _columns(rows, [("drl-zf", 6, 3, lambda r: r["drl-zf"]), ("zf-local", 8, 3, lambda r: r["zf-local"]),
                    ("best", 6, 3, lambda r: r["best"]), ("zf/best", 7, 3, lambda r: r["drl-zf"] / r["best"]),
                    ("zf-search/best", 14, 3, lambda r: r["zf-search"] / r["best"]),
                    ("zf-local/best", 13, 3, lambda r: r["zf-local"] / r["best"]),
                    ("zf-local1/best", 14, 3, lambda r: r["zf-local 1"] / r["best"]),
                    ("zf/drl", 6, 3, lambda r: r["drl-zf"] / r["drl"]), ("zf/map", 6, 3, lambda r: r["drl-zf"] / r["mapping"]),
                    ("zf ms", 6, 3, lambda r: r["drl-zf ms"]), ("zf-search ms", 12, 3, lambda r: r["zf-search ms"]),
                    ("zf-local ms", 11, 3, lambda r: r["zf-local ms"]), ("zf-local1 ms", 12, 3, lambda r: r["zf-local 1 ms"]),
                    ("zf-local+sw/best", 16, 3, lambda r: r["zf-local+sw"] / r["best"]),
                    ("zf-local+sw ms", 14, 3, lambda r: r["zf-local+sw ms"])],
             "drl-zf: ours, the agent that sees the channel directions and places users in turn; zf-local "
             "(drl-zf-local): its mode and drl-local's search and re-allocation; zf-search: without the "
             "re-allocation; zf-local1: changes=1; zf-local+sw: swaps=true")
    for key in ("drl-zf", "zf-search", "zf-local", "zf-local 1", "zf-local+sw"):
        print(_summary(rows, key, ["drl", *BASELINES, "equal"]))
    beaten = sum(all(r["drl"] >= r[a] for a in BASELINES if a in r) for _, r in rows)
    print(f"drl >= every single-type DRL baseline at {beaten}/{len(rows)} points")
    worst = min(r["drl"] / r["best"] for _, r in rows)
    print(f"min drl/best {worst:.3f}; min drl-sampled/best {min(r['drl-sampled'] / r['best'] for _, r in rows):.3f} "
          f"({args.samples} samples); drl >= equal at {sum(r['drl'] >= r['equal'] for _, r in rows)}/{len(rows)} "
          f"points; drl/mapping {min(r['drl'] / r['mapping'] for _, r in rows):.3f}.."
          f"{max(r['drl'] / r['mapping'] for _, r in rows):.3f}; drl/mapping-drl "
          f"{min(r['drl'] / r['mapping-drl'] for _, r in rows):.3f}..{max(r['drl'] / r['mapping-drl'] for _, r in rows):.3f}"
          f"; infeasible slots "
          f"{sum(v for _, r in rows for k, v in r.items() if k.endswith('infeasible'))}")
    if args.baselines:
        args.baselines.mkdir(parents=True, exist_ok=True)
        agents = []
        for kind, steps in (("hybrid", args.steps), ("dqn", args.dqn_steps), ("td3", args.sb3_steps)):
            path = args.baselines / f"{kind}-{steps}.{'pt' if kind == 'hybrid' else 'zip'}"
            if not path.is_file():
                train(kind, steps, {}, seed=0, progress=True).save(path)
            agents.append(load(path))
        res = compare(agents, [], {}, args.episodes, args.default_slots)
        print(format_rows(res, f"per-scenario agents at the default scenario, {args.episodes} x {args.default_slots}"))


if __name__ == "__main__":
    main()
