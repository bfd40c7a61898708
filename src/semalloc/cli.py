"""The ``semalloc`` command (see docs/cli.md).

Every verb validates its input first; bad input ends with exit code 2 and
one line naming the field, and no file is written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
import yaml
from rich.console import Console
from rich.table import Table

from .solve import generate as api_generate, get_problem, load, load_solution, list_problems, save, solve
from .cli_errors import exits_2_on_bad_input
from .errors import InputError
from .learn.cli import app as learn_app
from .rl.cli import app as rl_app
from .schema import numbers_from_text, to_jsonable

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Resource allocation for semantic communication networks.")
out = Console()
err = Console(stderr=True)


def command(*args, **kwargs):
    """``app.command`` whose body turns :class:`InputError` into one line and exit code 2."""
    return lambda fn: app.command(*args, **kwargs)(exits_2_on_bad_input()(fn))


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj)) + "\n")


def _parse_sets(pairs: list[str]) -> dict:
    settings = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError("--set", f"expected KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            settings[key.strip()] = numbers_from_text(yaml.safe_load(value))
        except yaml.YAMLError:
            raise InputError(f"--set {key}", f"cannot parse value {value!r}") from None
    return settings


def _fmt(x: float, digits: int = 6) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


@command()
def problems(json_out: bool = typer.Option(False, "--json", help="machine-readable output")):
    """List the problems and their algorithms."""
    probs = list_problems()
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
              sets: list[str] = typer.Option([], "--set", help="algorithm option KEY=VALUE (repeatable)"),
              json_out: bool = typer.Option(False, "--json", help="print the Result as JSON")):
    """Solve an instance with one algorithm."""
    inst = load(instance)
    res = solve(inst, algorithm, **_parse_sets(sets))
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
    results, skipped = [], {}
    with err.status("solving...") as status:
        for name in names:
            status.update(f"solving with {name}...")
            try:
                results.append(solve(inst, name))
            except InputError as e:                 # e.g. exact on an instance too large for it
                skipped[name] = e.reason
    if json_out:
        _print_json([{"algorithm": r.algorithm, "status": r.status, "objective": r.objective,
                      "feasible": r.feasible, "time_s": r.stats["time_s"]} for r in results]
                    + [{"algorithm": a, "status": "skipped", "objective": None, "feasible": False, "time_s": 0.0}
                       for a in skipped])
        return
    ref = next((r for r in results if r.algorithm == "exact" and r.status == "optimal"), None)
    table = Table("algorithm", "status", "objective", "gap to exact", "time (s)", "feasible",
                  title=f"{prob.key}: {instance}", title_justify="left")
    for r in results:
        gap = "-" if ref is None or not r.feasible else f"{100 * (ref.objective - r.objective) / abs(ref.objective):.3f} %"
        table.add_row(r.algorithm, r.status, _fmt(r.objective, 8), gap, f"{r.stats['time_s']:.3f}",
                      "yes" if r.feasible else "NO")
    for name, why in skipped.items():
        table.add_row(name, "skipped", "-", "-", "-", "-")
    out.print(table)
    for name, why in skipped.items():
        err.print(f"{name} skipped: {why}", highlight=False, markup=False)


def _summary_table(summary: list[dict], title: str) -> Table:
    """Mean and 95 % interval per point and algorithm (and the gap to exact where it ran)."""
    has_gap = any(np.isfinite(s["gap"]) for s in summary)
    table = Table("point", "algorithm", "runs", "mean", "95 % CI", *(["gap to exact"] if has_gap else []),
                  "time (s)", title=title, title_justify="left")
    for s in summary:
        point = ", ".join(f"{k}={v}" for k, v in s["point"].items()) or "-"
        runs = f"{s['feasible']}/{s['n']}" if s["feasible"] < s["n"] else str(s["n"])
        gap = ["-" if not np.isfinite(s["gap"]) else f"{100 * s['gap']:.3f} %"] if has_gap else []
        table.add_row(point, s["algorithm"], runs, _fmt(s["mean"]), "± " + _fmt(s["ci95"], 3), *gap,
                      f"{s['time_s']:.3f}")
    return table


@command()
def sweep(spec_file: Path = typer.Argument(..., help="sweep spec (YAML)"),
          output: Optional[Path] = typer.Option(None, "-o", "--output",
                                                help="results store (SQLite; default runs/<spec name>.db)"),
          workers: int = typer.Option(1, "--workers", help="local worker processes"),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786"),
          quick: bool = typer.Option(False, "--quick", help="apply the spec's quick overrides"),
          fresh: bool = typer.Option(False, "--fresh", help="discard this store's results first (default: resume)"),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar on stderr")):
    """Run a parameter sweep into a results store; resumes what is already done."""
    from .experiments.analysis import summarise
    from .experiments.runner import run_sweep
    from .experiments.spec import load_spec
    from .experiments.store import ResultsStore

    spec = load_spec(spec_file, quick=quick)
    path = output or Path("runs") / f"{spec_file.stem}.db"
    if fresh and path.exists():
        ResultsStore.open(path).close()                 # refuses a file that is not a results store
        path.unlink()
    report = run_sweep(spec, path, workers=workers, scheduler=scheduler, progress=progress)
    with ResultsStore.open(path) as store:
        rows = store.rows()
    out.print(_summary_table(summarise(rows, spec.points, spec.algorithms),
                             f"{spec.title or spec_file.name}: {len(spec.seeds)} seeds"))
    err.print(f"{report.done} tasks run, {report.skipped} already stored, in {report.seconds:.1f} s; "
              f"results in {path}", highlight=False)


def _stored(results: Path):
    from .experiments.spec import parse_spec
    from .experiments.store import ResultsStore

    with ResultsStore.open(results) as store:
        rows, raw = store.rows(), store.spec
    spec = parse_spec({k: v for k, v in raw.items() if v not in ({}, "")}, check_generator=False)
    return spec, rows


@command()
def plot(results: Path = typer.Argument(..., help="results store (from sweep)"),
         output: Optional[Path] = typer.Option(None, "-o", "--output", help="figure (.png, .pdf, .svg)"),
         x: Optional[str] = typer.Option(None, "--x", help="varied setting on the x axis"),
         y: Optional[str] = typer.Option(None, "--y", help="objective, time_s or a metric of the problem"),
         kind: Optional[str] = typer.Option(None, "--kind", help="line, bars or trace"),
         logx: Optional[bool] = typer.Option(None, "--logx/--linx"),
         logy: Optional[bool] = typer.Option(None, "--logy/--liny")):
    """Draw a sweep: mean and 95 % interval per algorithm (the spec's plot settings by default)."""
    from .experiments.reproduce import plot_spec

    spec, rows = _stored(results)
    path = plot_spec(spec, rows, output or results.with_suffix(".png"), x=x, y=y, kind=kind, logx=logx, logy=logy)
    err.print(f"wrote {path}", highlight=False)


@command()
def export(results: Path = typer.Argument(..., help="results store (from sweep)"),
           output: Path = typer.Option(..., "-o", "--output", help="table to write (.csv or .parquet)")):
    """Export a sweep's rows, one column per varied setting, for plotting elsewhere."""
    from .experiments.analysis import export_rows

    _, rows = _stored(results)
    err.print(f"wrote {export_rows(rows, output)} ({len(rows)} rows)", highlight=False)


@command()
def reproduce(key: str = typer.Argument(..., help="problem key, or 'all'"),
              figure: Optional[int] = typer.Option(None, "--figure", help="figure number (default: all)"),
              quick: bool = typer.Option(False, "--quick", help="fewer seeds and points (minutes, not hours)"),
              outdir: Path = typer.Option(Path("out"), "--out", help="directory for results and figures"),
              workers: int = typer.Option(1, "--workers", help="local worker processes"),
              retrain: bool = typer.Option(False, "--retrain", help="sbq: train the drl agent afresh into "
                                                                    "--out/agents instead of the shipped one")):
    """Reproduce a paper's figures from the shipped sweep specs: tables, stores and figures under --out."""
    from .experiments.reproduce import reproduce as run

    if key != "all":
        get_problem(key)
    for rep in run(key, figure=figure, quick=quick, out=outdir, workers=workers, retrain=retrain):
        out.print(_summary_table(rep.summary, f"{rep.spec.title}: {len(rep.spec.seeds)} seeds"))
        err.print(f"wrote {rep.image} (results: {rep.report.path})", highlight=False)


app.add_typer(learn_app, name="learn")
app.add_typer(rl_app, name="rl")


def main() -> None:
    """Entry point of the ``semalloc`` console script."""
    app()


if __name__ == "__main__":
    main()
