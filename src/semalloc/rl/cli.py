"""``semalloc rl``: train an SBQ agent, and evaluate agents against every sbq algorithm.

Only typer is imported here; torch, gymnasium and stable-baselines3 are
imported when a command runs, so ``semalloc`` works without the ``rl`` extra.

Examples
--------
>>> from typer.testing import CliRunner
>>> from semalloc.rl.cli import app
>>> r = CliRunner().invoke(app, ["train", "multicell", "-o", "a.pt"])
>>> r.exit_code, r.output.strip()
(2, "error: problem: the rl commands cover sbq only, got 'multicell'")
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..cli_errors import exits_2_on_bad_input, parse_sets
from ..errors import InputError

app = typer.Typer(help="Deep RL for the sbq problem: train agents, evaluate them against every algorithm.",
                  no_args_is_help=True)

#: Model-based sbq algorithms that ``rl eval`` runs by default next to the agents.
BASELINES = ["mapping", "mapping-equal", "fixed-bits", "equal", "random", "best"]


@app.callback()
def rl() -> None:
    """Deep RL for the sbq problem: train agents, evaluate them against every algorithm."""


#: Bad input (and a missing ``rl`` extra) ends with one line on stderr and exit code 2.
_guarded = exits_2_on_bad_input("rl")


def _problem(key: str) -> None:
    if key != "sbq":
        raise InputError("problem", f"the rl commands cover sbq only, got {key!r}")


def _threads() -> None:
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))


@app.command()
@_guarded
def train(problem: str = typer.Argument(..., help="problem key (sbq)"),
          agent: str = typer.Option("hybrid", "--agent", help="hybrid (ours), dqn, ddpg, td3 or sac"),
          steps: Optional[int] = typer.Option(None, "--steps", help="environment steps (slots) [200000]"),
          out: Optional[Path] = typer.Option(None, "-o", "--out",
                                             help="checkpoint to write (.pt; .zip for sb3) [--preset: sbq-hybrid.pt]"),
          output: Optional[Path] = typer.Option(None, "--output", hidden=True),
          sets: List[str] = typer.Option([], "--set", help="generator setting KEY=VALUE (repeatable)"),
          slots: Optional[int] = typer.Option(None, "--slots", help="slots per training episode [100]"),
          seed: Optional[int] = typer.Option(None, "--seed", help="[0]"),
          general: bool = typer.Option(False, "--general/--per-scenario",
                                       help="hybrid: one agent for K <= --max-users and Pmax in 0.01..10 W "
                                            "(drawn per episode)"),
          max_users: int = typer.Option(12, "--max-users", help="with --general: users the agent covers"),
          perception: str = typer.Option("sbq", "--perception",
                                         help="reward: sbq (the model) or mapping (as the S-SE map perceives it: "
                                              "the mapping-drl agent)"),
          pathwise: Optional[float] = typer.Option(None, "--pathwise",
                                                   help="hybrid: weight of the reward's own gradient in the continuous "
                                                        "action (semalloc.rl.pathwise; 0 = PPO alone) [0]"),
          kappa: Optional[float] = typer.Option(None, "--kappa", help="with --pathwise: sharpness of the smoothed "
                                                                      "deadline gate [50]"),
          median: Optional[bool] = typer.Option(None, "--median/--sampled-continuous",
                                                help="with --pathwise: roll out the continuous action's median and "
                                                     "learn it by the pathwise gradient alone [sampled]"),
          counterfactual: Optional[float] = typer.Option(None, "--counterfactual",
                                                         help="hybrid: weight of the counterfactual gradient of the "
                                                              "subchannel heads (every user's every subchannel "
                                                              "scored by the model; 0 = PPO alone) [0]"),
          around: Optional[str] = typer.Option(None, "--around",
                                               help="with --counterfactual: the other users as drawn or at the "
                                                    "policy's mode [drawn]"),
          sequential: Optional[bool] = typer.Option(None, "--sequential/--factorised",
                                                    help="hybrid: subchannels decided user by user, each given the "
                                                         "choices before it (autoregressive), or all at once [factorised]"),
          channels: Optional[bool] = typer.Option(None, "--channels/--no-channels",
                                                  help="with --sequential --general: the users' channel directions "
                                                       "in the observation, each subchannel's zero-forcing residual "
                                                       "in the sequential choices [no]"),
          preset: Optional[str] = typer.Option(None, "--preset",
                                               help="paper: the shipped drl agent's recipe; mapping: mapping-drl's; "
                                                    "dqn, td3: the figures' single-type DRL baselines'; ppo: the "
                                                    "paper recipe without the pathwise gradient; zf: drl-zf's"),
          stop_after: Optional[int] = typer.Option(None, "--stop-after",
                                                   help="stop after this many steps, on the --steps schedule"),
          device: str = typer.Option("auto", "--device", help="torch device: auto (cuda when available; cpu with "
                                                              "--preset, for a bit-identical agent), cpu, cuda[:N]"),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar with mean reward"),
          json_out: bool = typer.Option(False, "--json", help="print what was written as JSON (docs/cli.md)")):
    """Train an agent on the SBQ-v0 environment; write its checkpoint, a JSON sidecar
    (command, seed, steps, code version, SHA-256) and its training curve (CSV: steps, seconds, reward)."""
    _problem(problem)
    output = out or output
    from .training import HYBRID_OPTIONS, PRESETS
    cfg = {"agent": agent, "steps": 200_000, "seed": 0, "slots": 100, "general": general, "max_users": max_users,
           "perception": perception}
    if preset is not None:
        if preset not in PRESETS:
            raise InputError("--preset", f"unknown preset {preset!r}; known: {', '.join(PRESETS)}", "sbq")
        cfg.update(PRESETS[preset])
        from .checkpoint import SHIPPED_BY_PRESET
        output = output or Path(SHIPPED_BY_PRESET[preset].name if preset in SHIPPED_BY_PRESET else f"sbq-{preset}.pt")
        device = "cpu" if device == "auto" else device
    cfg.update({k: v for k, v in (("steps", steps), ("seed", seed), ("slots", slots), ("pathwise", pathwise),
                                  ("kappa", kappa), ("median", median), ("counterfactual", counterfactual),
                                  ("around", around), ("sequential", sequential), ("channels", channels))
                if v is not None})
    for k in HYBRID_OPTIONS:
        if k in cfg and cfg["agent"] != "hybrid":
            raise InputError(f"--{k}", f"only the hybrid agent has this option, not {cfg['agent']}", "sbq")
    if output is None:
        raise InputError("--out", "missing: -o PATH (or --preset)", "sbq")
    if cfg["seed"] < 0:
        raise InputError("--seed", f"must be >= 0, got {cfg['seed']}", "sbq")
    for name in ("steps", "slots", "max_users"):               # before the progress bar is drawn
        if cfg[name] < 1:
            raise InputError(f"--{name.replace('_', '-')}", f"must be >= 1, got {cfg[name]}", "sbq")
    if stop_after is not None and stop_after < 1:
        raise InputError("--stop-after", f"must be >= 1, got {stop_after}", "sbq")
    from .training import train_recorded
    command = " ".join(["semalloc rl train sbq", *(["--preset", preset] if preset else []), "--agent", cfg["agent"],
                        "--steps", str(cfg["steps"]), "--seed", str(cfg["seed"]), "--slots", str(cfg["slots"]),
                        *(["--general", "--max-users", str(cfg["max_users"])] if cfg["general"] else []),
                        *(["--perception", cfg["perception"]] if cfg["perception"] != "sbq" else []),
                        *(["--pathwise", f"{cfg['pathwise']:g}"] if "pathwise" in cfg else []),
                        *(["--kappa", f"{cfg['kappa']:g}"] if "kappa" in cfg else []),
                        *([f"--{'median' if cfg['median'] else 'sampled-continuous'}"] if "median" in cfg else []),
                        *(["--counterfactual", f"{cfg['counterfactual']:g}"] if "counterfactual" in cfg else []),
                        *(["--around", cfg["around"]] if "around" in cfg else []),
                        *([f"--{'sequential' if cfg['sequential'] else 'factorised'}"] if "sequential" in cfg else []),
                        *([f"--{'channels' if cfg['channels'] else 'no-channels'}"] if "channels" in cfg else []),
                        *[f"--set {x}" for x in sets], *(["--stop-after", str(stop_after)] if stop_after else []),
                        "-o", output.name])
    a, path = train_recorded(cfg, parse_sets(sets), output, command, preset=preset, device=device,
                             progress=progress and not json_out, stop_after=stop_after)
    if json_out:
        written = [str(path), str(path.with_suffix(".json")), str(path.with_suffix(".csv"))]
        sys.stdout.write(json.dumps({"written": written, "agent": a.kind, "steps": a.stats["steps"], "time_s": a.stats["seconds"],
                                     "mean_reward": a.stats["mean_reward"]}) + "\n")
        return
    typer.echo(f"wrote {path} (and its .json record and .csv curve): {a.kind}, {a.stats['steps']} steps in "
               f"{a.stats['seconds']:.1f} s, mean reward per slot {a.stats['mean_reward']:.4f} "
               f"(last quarter of training)")


@app.command("eval")
@_guarded
def eval_cmd(problem: str = typer.Argument(..., help="problem key (sbq)"),
             agent: Optional[List[Path]] = typer.Option(None, "--agent", help="agent checkpoint(s) from `semalloc rl "
                                                                             "train` [the shipped agent]"),
             sets: List[str] = typer.Option([], "--set", help="scenario setting KEY=VALUE [the agent's scenario]"),
             episodes: int = typer.Option(50, "--episodes"),
             slots: int = typer.Option(20, "--slots", help="slots per evaluation episode"),
             algorithm: Optional[List[str]] = typer.Option(None, "-a", "--algorithm",
                                                           help=f"sbq algorithms (default: {', '.join(BASELINES)})"),
             seed: int = typer.Option(10_000, "--seed", help="seed of the first evaluation episode"),
             device: str = typer.Option("auto", "--device", help="torch device: auto (cuda when available), cpu, cuda[:N]"),
             json_out: bool = typer.Option(False, "--json", help="print the rows as JSON")):
    """Mean effective SC-QoS per slot of agents and algorithms on the same evaluation episodes."""
    _problem(problem)
    if episodes < 1 or slots < 1:
        raise InputError("--episodes" if episodes < 1 else "--slots", "must be >= 1", "sbq")
    from ..solve import generate, get_problem
    from .checkpoint import SHIPPED, load
    from .evaluation import compare
    names = list(algorithm) if algorithm else BASELINES
    known = get_problem("sbq").algorithms
    for n in names:
        if n not in known or n in ("drl", "exact"):
            raise InputError("algorithm", f"{n!r} cannot be evaluated here; use one of "
                             f"{', '.join(a for a in known if a not in ('drl', 'exact'))}", "sbq")
    _threads()
    agents = [load(p, device) for p in (agent or [SHIPPED])]
    dims = {(a.M, a.Nt) if a.general else (a.K, a.M, a.Nt) for a in agents}
    dims = {d for d in dims if len(d) == 3} or dims          # a general agent fits any K up to its maximum
    if len(dims) > 1:
        raise InputError("agent", f"agents trained for different dimensions {sorted(dims)}", "sbq")
    fixed = next((a for a in agents if not a.general), agents[0])          # a per-scenario agent sets K
    scenario = {**fixed.settings, **parse_sets(sets)}
    first = generate("sbq", seed=seed, **scenario)            # the scenario and seed checked before any work,
    for a in agents:                                          # and every agent's dimensions against it
        a.check(first)
    rows = compare(agents, names, scenario, episodes, slots, seed,
                   progress=None if json_out else (lambda n: typer.echo(f"evaluating {n}...", err=True)))
    if json_out:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    typer.echo(format_rows(rows, f"sbq: {episodes} episodes x {slots} slots, scenario {scenario or 'default'}"))


@app.command()
@_guarded
def curves(csv: List[Path] = typer.Argument(..., help="training curves written by `semalloc rl train` (.csv)"),
           out: Path = typer.Option(Path("sbq-training.png"), "-o", "--out", help="figure to write (.png, .pdf, .svg)"),
           output: Optional[Path] = typer.Option(None, "--output", hidden=True),
           window: int = typer.Option(20, "--window", help="rollouts in the moving average"),
           json_out: bool = typer.Option(False, "--json", help="print what was written as JSON (docs/cli.md)")):
    """Figure sbq-training: mean reward per slot against environment steps and against wall-clock time
    (curves of one agent kind from several seeds: their mean with a 95 % interval over the seeds)."""
    from .curves import draw_curves
    output = draw_curves(csv, output or out, window)
    if json_out:
        sys.stdout.write(json.dumps({"written": [str(output)], "curves": [str(p) for p in csv]}) + "\n")
        return
    typer.echo(f"wrote {output}")


def format_rows(rows: list[dict], title: str) -> str:
    """A plain-text table of :func:`semalloc.rl.evaluation.compare` rows (with % of ``best`` if present)."""
    ref = next((r["mean"] for r in rows if r["name"] == "best"), None)
    lines = [title, f"{'algorithm':<14} {'SC-QoS/slot':>11} {'std':>7} {'% of best':>9} "
                    f"{'decide ms':>9} {'train s':>8} {'infeasible':>10}"]
    for r in rows:
        pct = f"{100 * r['mean'] / ref:.1f}" if ref else "-"
        tr = f"{r['train_s']:.0f}" if r["train_s"] is not None else "-"
        lines.append(f"{r['name']:<14} {r['mean']:>11.4f} {r['std']:>7.4f} {pct:>9} {r['decide_ms']:>9.3f} "
                     f"{tr:>8} {r['infeasible']:>10}")
    return "\n".join(lines)
