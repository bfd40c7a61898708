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

from ..cli_errors import exits_2_on_bad_input
from ..errors import InputError

app = typer.Typer(help="Deep RL for the sbq problem: train agents, evaluate them against every algorithm.",
                  no_args_is_help=True)

#: Model-based sbq algorithms that ``rl eval`` runs by default next to the agents.
BASELINES = ["mapping", "fixed-bits", "equal", "random", "best"]


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
          steps: int = typer.Option(200_000, "--steps", help="environment steps (slots)"),
          out: Optional[Path] = typer.Option(None, "-o", "--out", help="checkpoint to write (.pt; .zip for sb3)"),
          output: Optional[Path] = typer.Option(None, "--output", hidden=True),
          sets: List[str] = typer.Option([], "--set", help="generator setting KEY=VALUE (repeatable)"),
          slots: int = typer.Option(100, "--slots", help="slots per training episode"),
          seed: int = typer.Option(0, "--seed"),
          device: str = typer.Option("auto", "--device", help="torch device: auto (cuda when available), cpu, cuda[:N]"),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar with mean reward"),
          json_out: bool = typer.Option(False, "--json", help="print what was written as JSON (docs/cli.md)")):
    """Train an agent on the SBQ-v0 environment and save its checkpoint."""
    _problem(problem)
    output = out or output
    if output is None:
        raise InputError("--out", "missing: the checkpoint to write", "sbq")
    from ..cli import _parse_sets
    from .agents import train as run
    settings = _parse_sets(sets)
    _threads()
    a = run(agent, steps, settings, seed=seed, device=device, progress=progress and not json_out, slots=slots)
    path = a.save(output)
    if json_out:
        sys.stdout.write(json.dumps({"written": [str(path)], "agent": a.kind, "steps": a.stats["steps"],
                                     "time_s": a.stats["seconds"], "mean_reward": a.stats["mean_reward"]}) + "\n")
        return
    typer.echo(f"wrote {path}: {a.kind}, {a.stats['steps']} steps in {a.stats['seconds']:.1f} s, "
               f"mean reward per slot {a.stats['mean_reward']:.4f} (last quarter of training)")


@app.command("eval")
@_guarded
def eval_cmd(problem: str = typer.Argument(..., help="problem key (sbq)"),
             agent: List[Path] = typer.Option(..., "--agent", help="agent checkpoint(s) from `semalloc rl train`"),
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
    from ..solve import get_problem
    from .agents import compare, load
    names = list(algorithm) if algorithm else BASELINES
    known = get_problem("sbq").algorithms
    for n in names:
        if n not in known or n in ("drl", "exact"):
            raise InputError("algorithm", f"{n!r} cannot be evaluated here; use one of "
                             f"{', '.join(a for a in known if a not in ('drl', 'exact'))}", "sbq")
    _threads()
    agents = [load(p, device) for p in agent]
    dims = {(a.K, a.M, a.Nt) for a in agents}
    if len(dims) > 1:
        raise InputError("agent", f"agents trained for different dimensions {sorted(dims)}", "sbq")
    rows = compare(agents, names, agents[0].settings, episodes, slots, seed,
                   progress=None if json_out else (lambda n: typer.echo(f"evaluating {n}...", err=True)))
    if json_out:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    scenario = agents[0].settings or "default"
    typer.echo(format_rows(rows, f"sbq: {episodes} episodes x {slots} slots, scenario {scenario}"))


def format_rows(rows: list[dict], title: str) -> str:
    """A plain-text table of :func:`semalloc.rl.agents.compare` rows (with % of ``best`` if present)."""
    ref = next((r["mean"] for r in rows if r["name"] == "best"), None)
    lines = [title, f"{'algorithm':<14} {'SC-QoS/slot':>11} {'std':>7} {'% of best':>9} "
                    f"{'decide ms':>9} {'train s':>8} {'infeasible':>10}"]
    for r in rows:
        pct = f"{100 * r['mean'] / ref:.1f}" if ref else "-"
        tr = f"{r['train_s']:.0f}" if r["train_s"] is not None else "-"
        lines.append(f"{r['name']:<14} {r['mean']:>11.4f} {r['std']:>7.4f} {pct:>9} {r['decide_ms']:>9.3f} "
                     f"{tr:>8} {r['infeasible']:>10}")
    return "\n".join(lines)
