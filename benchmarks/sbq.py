"""sbq benchmark (a script, not a test): the headline of issue 7.

On the notes' default scenario (K = 6 users, Nt = 4 antennas, M = 3
subchannels, Pmax = 1 W, B = 1.8 MHz), train our hybrid agent and the
single-type DRL baselines (stable-baselines3 DQN on the discretised action,
a DDPG-family agent on the relaxed continuous action), then score every
agent and every model-based algorithm on the same evaluation episodes
(time-correlated slots, seeds 10000..): mean effective SC-QoS per slot,
its standard deviation over episodes, percentage of ``best``, decision time
per slot (observation + policy + mapping to a feasible allocation for the
agents; the whole solve for the algorithms) and training time. Ends with
exact's gap to best on tiny slots.

Run: ``.venv/bin/python benchmarks/sbq.py [--steps 500000] [--sb3-steps 30000] [--dqn-steps 20000] [--episodes 50] [--slots 20]
[--family td3] [--agents DIR] [--samples 4,8] [--hybrid-only]`` (checkpoints in ``--agents`` are reused if present).
``--samples N,..``: also the hybrid policy with sampling (``drl --set samples=N``: the deterministic action and N
actions drawn from the policy, the best by the model's objective; the time counts in the decision time).
``--hybrid-only``: only the hybrid agent(s) and ``best`` (no baseline is trained or run; no tiny-slot check).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import semalloc
from semalloc.rl.agents import compare, load, train
from semalloc.rl.cli import format_rows

#: ``mapping`` at its default q = 4 (the least q whose SQNR passes the table's 20 dB: the paradigm perceives no
#: quantization noise) and at q = 2 (the least fixed q reaching xi_th for every n in {4, 8, 16}).
ALGOS = ["mapping", ("mapping (q=2)", "mapping", {"bits": 2}), "fixed-bits", "equal", "random", "best"]


def _path(kind: str, steps: int, folder: Path) -> Path:
    return folder / f"{kind}-{steps}.{'pt' if kind == 'hybrid' else 'zip'}"


def _agent(kind: str, steps: int, folder: Path, seed: int):
    path = _path(kind, steps, folder)
    if path.is_file():
        return load(path)
    a = train(kind, steps, {}, seed=seed, progress=True)
    a.save(path)
    return a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500_000, help="training steps of the hybrid agent")
    ap.add_argument("--sb3-steps", type=int, default=30_000, help="training steps of the DDPG-family agent")
    ap.add_argument("--dqn-steps", type=int, default=20_000, help="training steps of dqn")
    ap.add_argument("--family", default="td3", choices=["ddpg", "td3", "sac"])
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--slots", type=int, default=20)
    ap.add_argument("--agents", type=Path, default=Path("runs/sbq-agents"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", default="", help="comma-separated sample counts of the hybrid policy with sampling")
    ap.add_argument("--hybrid-only", action="store_true", help="only the hybrid agent and best")
    args = ap.parse_args()
    samples = [int(n) for n in args.samples.split(",") if n.strip()]
    torch.set_num_threads(1)
    args.agents.mkdir(parents=True, exist_ok=True)
    agents = [_agent("hybrid", args.steps, args.agents, args.seed)]
    if not args.hybrid_only:
        agents += [_agent("dqn", args.dqn_steps, args.agents, args.seed),
                   _agent(args.family, args.sb3_steps, args.agents, args.seed)]
    hybrid_file = str(_path("hybrid", args.steps, args.agents))
    sampled = [(f"drl (hybrid, {n} samples)", "drl", {"agent": hybrid_file, "samples": n}) for n in samples]
    rows = compare(agents, sampled + (["best"] if args.hybrid_only else ALGOS), {}, args.episodes, args.slots)
    print(format_rows(rows, f"sbq default scenario (K=6, Nt=4, M=3): {args.episodes} episodes x {args.slots} slots; "
                            f"hybrid {args.steps} steps, dqn {args.dqn_steps}, {args.family} {args.sb3_steps} steps"))
    by = {r["name"]: r["mean"] for r in rows}
    hyb = by["drl (hybrid)"]
    for label, _, _ in sampled:
        print(f"{label} / best = {by[label] / by['best']:.3f}")
    if args.hybrid_only:
        return
    print(f"hybrid / mapping = {hyb / by['mapping']:.3f}; hybrid / best = {hyb / by['best']:.3f}; "
          f"hybrid / dqn = {hyb / by['dqn']:.3f}; hybrid / {args.family} = {hyb / by[args.family]:.3f}")
    # the policy's forward pass alone, one observation on CPU
    from semalloc.problems.sbq.mdp import observe
    obs = observe(semalloc.generate("sbq", seed=0))
    t = time.perf_counter()
    for _ in range(1000):
        agents[0].act(obs)
    print(f"hybrid forward pass: {(time.perf_counter() - t):.3f} ms per slot (1000 slots, 1 thread)")
    gaps, times = [], []
    for s in range(10):
        inst = semalloc.generate("sbq", seed=s, users=2, antennas=2, subchannels=2)
        t = time.perf_counter()
        ex = semalloc.solve(inst, "exact")
        times.append(time.perf_counter() - t)
        gaps.append(ex.objective - semalloc.solve(inst, "best").objective)
    print(f"tiny slots (K=2, M=2, Nt=2), 10 seeds: exact - best mean {np.mean(gaps):.4f}, max {np.max(gaps):.4f}; "
          f"exact {np.mean(times):.2f} s/slot")


if __name__ == "__main__":
    main()
