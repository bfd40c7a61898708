"""Why the shipped sbq agent stays below 0.95 x ``best``: the gap taken apart, and training recipes tried.

A script, not a test (about an hour on one core with ``--train``; a few minutes without).

1. **Where the gap is** (``diagnose``): at the default scenario, Pmax = 0.01 W and K = 12, 40 slots each,
   the agent's own allocation, then the agent's subchannels and bits with ``best``'s power and bandwidth
   search (``allocate``) on them, ``best``'s subchannels with the agent's bits and its own continuous heads
   (a hybrid agent's median action for that assignment), and ``best``; with the users each serves and the
   subchannels each uses. ``--agent PATH`` diagnoses another agent (``--agent drl-zf``: the shipped
   ``drl-zf``'s), ``--diagnose`` runs this section alone.
2. **Recipes** (``--train DIR``; each written once to DIR, reused after): from the shipped agent,
   PPO for 102 400 more steps (learning rate 3e-4, annealed; ``more``), the same with the Gaussian's spread
   fixed at 0.1 (``std01``), the same with per-user credit (``credit=user``; ``user``); and from scratch,
   behaviour cloning of ``best`` on 6000 slots of the training distribution (60 epochs; ``bc``), then
   PPO 102 400 steps from it (``bc-ppo``); and the shipped recipe from scratch at this code (``ctrl``: 307 200
   steps, seed 0) and the same with each user's largest channel cosine to another user per subchannel
   added to the observation (``dirs``: ``ScenarioEnv(directions=True)``), to test whether the missing
   channel directions limit the assignment. Every file is scored against ``best`` on 30 slots of six points.
3. **Calibration** (``none_shift``): the shipped agent with its "none" subchannel logit lowered by 0-3,
   on other seeds (50000..), to see whether a bias towards serving more users closes the gap.

Run: ``.venv/bin/python benchmarks/sbq_recipes.py [--train runs/recipes] [--slots 30] [--agent PATH] [--diagnose]``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import semalloc
from semalloc.problems.sbq.algorithms import allocate
from semalloc.rl.checkpoint import SHIPPED, SHIPPED_ZF, Agent, load
from semalloc.rl.demonstrations import collect, imitate
from semalloc.rl.env import RANGES, ScenarioEnv, to_allocation
from semalloc.rl.hybrid import HybridPolicy, train_hybrid

POINTS = [("default", {}), ("Pmax=0.01 W", {"power_max_w": 0.01}), ("Pmax=0.1 W", {"power_max_w": 0.1}),
          ("K=12", {"users": 12}), ("K=2", {"users": 2}), ("Pmax=10 W", {"power_max_w": 10.0})]
SEED0 = 10_000


def _own_heads(agent, inst, sub: np.ndarray) -> float:
    """The objective of assignment ``sub`` with a hybrid agent's bits and its own continuous heads (its
    median action for that assignment, mapped as the agent's actions are)."""
    v, _ = to_allocation(inst, agent.model.act_one(agent.observe(inst), assignments=(sub + 1)[None]),
                         agent.perception)
    return semalloc.evaluate(inst, {k: x[0] for k, x in v.items()}).objective


def diagnose(agent, slots: int = 40) -> None:
    print(f"{'point':<12} {'drl':>6} {'drl sub+q, best p/B':>20} {'best sub, drl p/B':>18} {'best':>6} "
          f"{'users drl':>9} {'users best':>10} {'subch. drl':>10} {'subch. best':>11}")
    for label, s in POINTS[:2] + POINTS[3:4]:
        rows = []
        for seed in range(SEED0, SEED0 + slots):
            inst = semalloc.generate("sbq", seed=seed, **s)
            v, _ = agent.decide(inst)
            sub, q = np.asarray(v["subchannel"]), np.asarray(v["bits"])
            b = semalloc.solve(inst, "best")
            bsub = np.asarray(b.variables["subchannel"])
            rows.append((semalloc.evaluate(inst, v).objective, allocate(inst, sub, q)[0],
                         _own_heads(agent, inst, bsub), b.objective, np.sum(sub >= 0), np.sum(bsub >= 0),
                         len(set(sub[sub >= 0])), len(set(bsub[bsub >= 0]))))
        m = np.mean(rows, axis=0)
        print(f"{label:<12} {m[0]:>6.3f} {m[1]:>20.3f} {m[2]:>18.3f} {m[3]:>6.3f} {m[4]:>9.2f} {m[5]:>10.2f} "
              f"{m[6]:>10.2f} {m[7]:>11.2f}", flush=True)


def none_shift(agent, shifts=(0.0, 1.0, 2.0, 3.0), slots: int = 30, seed0: int = 50_000) -> None:
    """The shipped agent with its "none" subchannel logit lowered by each shift (a calibration that
    would make it serve more users), on seeds other than the scoring's, against ``best``."""
    bias = agent.model.user_head[2].bias
    base = float(bias.detach()[0])
    print(f"{'point':<12} " + " ".join(f"{f'shift {d:g}':>9}" for d in shifts) + "   (drl / best)")
    for label, s in POINTS[:2] + POINTS[3:4]:
        insts = [semalloc.generate("sbq", seed=seed, **s) for seed in range(seed0, seed0 + slots)]
        best = np.mean([semalloc.solve(i, "best").objective for i in insts])
        row = []
        for d in shifts:
            with torch.no_grad():                        # in place, so the numpy copy of the weights is refreshed
                bias[0] = base - d
            row.append(np.mean([semalloc.evaluate(i, agent.decide(i)[0]).objective for i in insts]) / best)
        print(f"{label:<12} " + " ".join(f"{r:>9.3f}" for r in row), flush=True)
    with torch.no_grad():
        bias[0] = base


def _general(net, steps: int) -> Agent:
    return Agent("hybrid", {}, net, {"steps": steps}, 25, {"max_users": 12, "ranges": dict(RANGES)})


def _ppo(net, steps: int, **options):
    net, _ = train_hybrid(lambda: ScenarioEnv(slots=25, max_users=12), steps, seed=1, policy=net, **options)
    return net


def train_recipes(folder: Path, steps: int = 102_400, demos: int = 6000) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)

    def shipped():
        return load(SHIPPED).model

    def std01():
        net = shipped()
        net.log_std.data[:] = np.log(0.1)
        net.log_std.requires_grad_(False)
        return _ppo(net, steps, lr=3e-4)

    def bc():
        demo = collect(demos, seed=0, max_users=12, slots=25)
        net = HybridPolicy(12, 3, demo["obs"].shape[1] // 12, 128, masked=True)
        imitate(net, demo, epochs=60)
        net.log_std.data[:] = np.log(0.22)
        return net.eval()

    def scratch(directions: bool):
        net, _ = train_hybrid(lambda: ScenarioEnv(slots=25, max_users=12, directions=directions), 307_200, seed=0)
        return net

    recipes = {"more": lambda: _ppo(shipped(), steps, lr=3e-4), "std01": std01,
               "ctrl": lambda: scratch(False), "dirs": lambda: scratch(True),
               "user": lambda: _ppo(shipped(), steps, lr=3e-4, credit="user"), "bc": bc,
               "bc-ppo": lambda: _ppo(load(folder / "bc.pt").model, steps, lr=3e-4)}
    paths = []
    for name, make in recipes.items():
        path = folder / f"{name}.pt"
        if not path.is_file():
            t0 = time.perf_counter()
            agent = _general(make(), steps)
            if name == "dirs":                               # the observation with the correlation features
                agent.general["directions"] = True
            agent.save(path)
            print(f"trained {name} in {time.perf_counter() - t0:.0f} s", flush=True)
        paths.append(path)
    return paths


def score(paths: list[Path], slots: int) -> None:
    agents = [(p.stem, load(p)) for p in paths]
    print(f"{'point':<12} {'best':>6} " + " ".join(f"{n:>12}" for n, _ in agents) + "   (drl / best)")
    for label, s in POINTS:
        best, got = [], {n: [] for n, _ in agents}
        for seed in range(SEED0, SEED0 + slots):
            inst = semalloc.generate("sbq", seed=seed, **s)
            best.append(semalloc.solve(inst, "best").objective)
            for n, a in agents:
                got[n].append(semalloc.evaluate(inst, a.decide(inst)[0]).objective)
        print(f"{label:<12} {np.mean(best):>6.3f} " +
              " ".join(f"{np.mean(got[n]) / np.mean(best):>12.3f}" for n, _ in agents), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, default=None, help="folder of the recipes' agents (trained if missing)")
    ap.add_argument("--slots", type=int, default=30)
    ap.add_argument("--agent", default=str(SHIPPED), help="the agent of sections 1 and 3 (drl-zf: the shipped one)")
    ap.add_argument("--diagnose", action="store_true", help="section 1 alone")
    args = ap.parse_args()
    torch.set_num_threads(1)
    agent = Path(SHIPPED_ZF if args.agent == "drl-zf" else args.agent)
    print(f"1. where the gap is ({agent.name})")
    diagnose(load(agent))
    if args.diagnose:
        return
    paths = [SHIPPED] + (train_recipes(args.train) if args.train else [])
    print("\n2. agents / best")
    score(paths, args.slots)
    print("\n3. the 'none' logit lowered (seeds 50000..)")
    none_shift(load(agent))


if __name__ == "__main__":
    main()
