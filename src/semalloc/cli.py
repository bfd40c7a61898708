"""The ``semalloc`` command (see docs/cli.md).

Every verb validates its input first; bad input ends with exit code 2 and
one line naming the field, and no file is written.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
import yaml
from rich.console import Console
from rich.table import Table

from .solve import generate as api_generate, get_problem, load, load_solution, problems as all_problems, save, solve
from .errors import InputError
from .schema import to_jsonable

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Resource allocation for semantic communication networks.")
out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def command(*args, **kwargs):
    """``app.command`` whose body turns :class:`InputError` into one line and exit code 2."""
    def deco(fn):
        @functools.wraps(fn)
        def guarded(*a, **k):
            try:
                return fn(*a, **k)
            except InputError as e:
                _fail(str(e))
        return app.command(*args, **kwargs)(guarded)
    return deco


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj)) + "\n")


def _parse_sets(pairs: list[str]) -> dict:
    settings = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError("--set", f"expected KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            settings[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise InputError(f"--set {key}", f"cannot parse value {value!r}") from None
    return settings


def _fmt(x: float, digits: int = 6) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


@command()
def problems(json_out: bool = typer.Option(False, "--json", help="machine-readable output")):
    """List the problems and their algorithms."""
    probs = all_problems()
    if json_out:
        _print_json([{"key": p.key, "sense": p.sense, "algorithms": list(p.algorithms)} for p in probs.values()])
        return
    table = Table("problem", "sense", "algorithms", "paper")
    for p in probs.values():
        table.add_row(p.key, p.sense, ", ".join(p.algorithms), p.summary)
    out.print(table)


@command()
def generate(key: str = typer.Argument(..., help="problem key, e.g. multicell"),
             seed: int = typer.Option(0, "--seed", help="random seed"),
             set_: List[str] = typer.Option([], "--set", help="generator setting KEY=VALUE (repeatable)"),
             output: Path = typer.Option(..., "-o", "--output", help="instance JSON to write")):
    """Draw an instance from the paper's default distribution (with overrides)."""
    inst = api_generate(key, seed=seed, **_parse_sets(set_))
    save(inst, output)
    err.print(f"wrote {output}", highlight=False)


@command("solve")
def solve_cmd(instance: Path = typer.Argument(..., help="instance JSON"),
              algorithm: str = typer.Option("prop", "-a", "--algorithm"),
              output: Optional[Path] = typer.Option(None, "-o", "--output", help="solution JSON to write"),
              json_out: bool = typer.Option(False, "--json", help="print the Result as JSON")):
    """Solve an instance with one algorithm."""
    inst = load(instance)
    res = solve(inst, algorithm)
    if output:
        save(res, output)
    if json_out:
        _print_json(res.to_dict())
    else:
        out.print(f"{res.problem} / {res.algorithm}: status {res.status}, objective {_fmt(res.objective, 8)}, "
                  f"time {res.stats['time_s']:.3f} s" + (f"\n{res.message}" if res.message else ""),
                  highlight=False)
    if res.status == "error":
        raise typer.Exit(1)


@command("evaluate")
def evaluate_cmd(instance: Path = typer.Argument(..., help="instance JSON"),
                 solution: Path = typer.Argument(..., help="solution JSON (from solve -o)"),
                 json_out: bool = typer.Option(False, "--json")):
    """Check a solution independently; exit 1 if infeasible."""
    inst = load(instance)
    ev = get_problem(inst.problem).evaluate(inst, load_solution(solution, inst))
    if json_out:
        _print_json(ev.to_dict())
    else:
        out.print(f"feasible: {ev.feasible}\nobjective: {_fmt(ev.objective, 10)}", highlight=False)
        for v in ev.violations:
            out.print(f"  violated: {v}", highlight=False, markup=False)
    if not ev.feasible:
        raise typer.Exit(1)


@command()
def compare(instance: Path = typer.Argument(..., help="instance JSON"),
            algorithm: List[str] = typer.Option([], "-a", "--algorithm", help="algorithms (default: all)"),
            json_out: bool = typer.Option(False, "--json")):
    """Run several algorithms on one instance: objective, gap to exact, time, feasibility."""
    inst = load(instance)
    prob = get_problem(inst.problem)
    names = algorithm or list(prob.algorithms)
    for name in names:
        if name not in prob.algorithms:
            raise InputError("algorithm", f"unknown algorithm {name!r} for {prob.key}; known: "
                             f"{', '.join(prob.algorithms)}", prob.key)
    results = []
    with err.status("solving...") as status:
        for name in names:
            status.update(f"solving with {name}...")
            results.append(solve(inst, name))
    if json_out:
        _print_json([{"algorithm": r.algorithm, "status": r.status, "objective": r.objective,
                      "feasible": r.feasible, "time_s": r.stats["time_s"]} for r in results])
        return
    ref = next((r for r in results if r.algorithm == "exact" and r.status == "optimal"), None)
    table = Table("algorithm", "status", "objective", "gap to exact", "time (s)", "feasible",
                  title=f"{prob.key}: {instance}", title_justify="left")
    for r in results:
        gap = "-" if ref is None or not r.feasible else f"{100 * (ref.objective - r.objective) / abs(ref.objective):.3f} %"
        table.add_row(r.algorithm, r.status, _fmt(r.objective, 8), gap, f"{r.stats['time_s']:.3f}",
                      "yes" if r.feasible else "NO")
    out.print(table)


@command()
def reproduce(key: str = typer.Argument(..., help="problem key, or 'all'"),
              figure: Optional[int] = typer.Option(None, "--figure", help="figure number (default: all)"),
              quick: bool = typer.Option(False, "--quick", help="fewer seeds"),
              outdir: Path = typer.Option(Path("out"), "--out", help="directory for figures")):
    """Reproduce a paper's figures: prints the table and writes a PNG per figure."""
    from rich.progress import Progress

    from .experiments.reproduce import FIGURES, plot_bars, run_comparison, summarise
    keys = list(FIGURES) if key == "all" else [key]
    for k in keys:
        get_problem(k)
        figs = FIGURES.get(k, {})
        if figure is not None and figure not in figs:
            raise InputError("--figure", f"{k} has figures {sorted(figs) or 'none yet'}, not {figure}", k)
        for num, spec in figs.items():
            if figure is not None and num != figure:
                continue
            seeds = range(spec["quick_seeds"] if quick else spec["seeds"])
            panels = []
            with Progress(console=err, transient=True) as bar:
                task = bar.add_task(f"{k} fig. {num}", total=len(seeds) * len(spec["algorithms"]) * len(spec["panels"]))
                for settings in spec["panels"]:
                    rows = run_comparison(k, seeds, spec["algorithms"], settings, lambda: bar.advance(task))
                    panels.append((", ".join(f"{a}={b}" for a, b in settings.items()),
                                   summarise(rows, spec["algorithms"])))
            for label, summary in panels:
                table = Table("algorithm", "mean", "std", "gap to exact", "time (s)",
                              title=f"{spec['title']} -- {label}, {len(seeds)} seeds", title_justify="left")
                for s in summary:
                    table.add_row(s["algorithm"], _fmt(s["mean"]), _fmt(s["std"], 3),
                                  "-" if not np.isfinite(s["gap"]) else f"{100 * s['gap']:.3f} %",
                                  f"{s['time_s']:.3f}")
                out.print(table)
            path = plot_bars(panels, spec["title"], outdir / f"{k}-fig{num}.png")
            out.print(f"wrote {path}", highlight=False)


def main() -> None:
    """Entry point of the ``semalloc`` console script."""
    app()


if __name__ == "__main__":
    main()
