"""The ``semalloc`` command (see docs/cli.md).

Every verb validates its input first; bad input ends with exit code 2 and
one line naming the field, and no file is written.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from .cli_errors import check_not_an_input, check_output_path, exits_2_on_bad_input, parse_sets, run_app
from .errors import InputError
from .learn.cli import app as learn_app
from .result import ERROR
from .rl.cli import app as rl_app
from .schema import to_jsonable
from .solve import evaluate, get_problem, list_problems, load, load_solution, save, solve
from .solve import generate as api_generate

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Resource allocation for semantic communication networks.")
out = Console()
err = Console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        from . import __version__
        typer.echo(f"semalloc {__version__}")
        raise typer.Exit()


#: Every verb that writes a file takes ``-o/--out``; ``--output`` is the old name, kept hidden.
_OUTPUT_ALIAS = typer.Option(None, "--output", hidden=True)
_JSON = typer.Option(False, "--json", help="print one JSON document on stdout (shapes: docs/cli.md)")


def _either(out_: Optional[Path], alias: Optional[Path], required: str = "") -> Optional[Path]:
    """``-o/--out``, else its old name ``--output``; ``required`` names what is missing."""
    path = out_ or alias
    if path is None and required:
        raise InputError("--out", f"missing: {required}")
    return path


def command(*args, **kwargs):
    """``app.command`` whose body turns :class:`InputError` into one line and exit code 2."""
    return lambda fn: app.command(*args, **kwargs)(exits_2_on_bad_input()(fn))


@app.callback()
@exits_2_on_bad_input()
def _main(plugin: List[str] = typer.Option([], "--plugin", metavar="MODULE",
                                           help="import a plugin module first (repeatable); see docs/plugins.md"),
          version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                       help="print the version and exit")) -> None:
    """Resource allocation for semantic communication networks."""
    from .plugins import load_plugin
    for module in plugin:
        load_plugin(module, "--plugin", remember=True)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj)) + "\n")


def _fmt(x: float, digits: int = 6) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


@command()
def problems(json_out: bool = _JSON):
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
def generate(key: Optional[str] = typer.Argument(None, help="problem key, e.g. multicell (not with --from)"),
             seed: int = typer.Option(0, "--seed", help="random seed"),
             set_: List[str] = typer.Option([], "--set", help="generator setting KEY=VALUE (repeatable; "
                                                               "list them: semalloc settings KEY)"),
             from_: Optional[Path] = typer.Option(None, "--from", help="redraw the gains of this instance from its "
                                                  "own positions (--set changes channel settings only)"),
             out_: Optional[Path] = typer.Option(None, "-o", "--out", help="instance JSON to write"),
             output: Optional[Path] = _OUTPUT_ALIAS, json_out: bool = _JSON):
    """Draw an instance from the paper's default distribution (with overrides), or
    redraw the gains of an edited instance (--from; docs/models.md, "Scenarios").
    A problem's settings, defaults, units and ranges: semalloc settings KEY."""
    if (key is None) == (from_ is None):
        raise InputError("key", "give a problem key (semalloc problems) or --from INSTANCE, not both")
    path = _either(out_, output, "the instance JSON to write")
    t0 = time.perf_counter()
    settings = parse_sets(set_)
    if from_ is not None:
        from .channel import redraw
        inst = redraw(load(from_), **settings)
        key, seed = inst.problem, inst.scenario["seed"]
    else:
        inst = api_generate(key, seed=seed, **settings)
    save(inst, path)
    if json_out:
        _print_json({"problem": key, "seed": seed, "settings": settings, "written": [str(path)],
                     "time_s": time.perf_counter() - t0})
    else:
        err.print(f"wrote {path}", highlight=False)


@command()
def settings(key: str = typer.Argument(..., help="problem key, e.g. multicell"), json_out: bool = _JSON):
    """List a problem's generator settings (for generate --set and sweep specs): default, unit, range, axis unit."""
    from .experiments.style import axis
    rows = []
    prob = get_problem(key)
    for name, value in (prob.defaults or {}).items():
        ax_ = axis(name, key)
        rows.append({"setting": name, "default": value, "unit": ax_.stored, "label": ax_.name,
                     "plot_unit": ax_.unit, "range": list(prob.ranges[name]) if name in prob.ranges else None})
    if json_out:
        _print_json(rows)
        return
    table = Table("setting", "default", "unit", "range", "plotted as", title=f"{key}: generator settings "
                  "(generate --set NAME=VALUE; see docs/models.md)", title_justify="left")
    for r in rows:
        table.add_row(r["setting"], escape(json.dumps(to_jsonable(r["default"]))), r["unit"] or "-",
                      escape(json.dumps(r["range"])) if r["range"] else "-",
                      f"{r['label']} ({r['plot_unit']})" if r["plot_unit"] else r["label"])
    out.print(table)


@command("solve")
def solve_cmd(instance: Path = typer.Argument(..., help="instance JSON"),
              algorithm: Optional[str] = typer.Option(None, "-a", "--algorithm",
                                                      help="algorithm (default: the problem's proposed one)"),
              out_: Optional[Path] = typer.Option(None, "-o", "--out", help="solution JSON to write"),
              output: Optional[Path] = _OUTPUT_ALIAS,
              sets: list[str] = typer.Option([], "--set", help="algorithm option KEY=VALUE (repeatable)"),
              json_out: bool = typer.Option(False, "--json", help="print the Result as JSON")):
    """Solve an instance with one algorithm (default: the problem's proposed algorithm)."""
    output = _either(out_, output)
    inst = load(instance)
    res = solve(inst, algorithm, **parse_sets(sets))
    if output and res.variables:               # no allocation (error, time limit): no file
        save(res, output)
    if json_out:
        _print_json(res.to_dict())
    else:
        out.print(f"{res.problem} / {res.algorithm}: status {res.status}, objective {_fmt(res.objective, 8)}, "
                  f"time {res.stats['time_s']:.3f} s" + (f"\n{res.message}" if res.message else ""),
                  highlight=False)
    if res.status == ERROR or not res.variables:
        raise typer.Exit(1)


@command("evaluate")
def evaluate_cmd(instance: Path = typer.Argument(..., help="instance JSON"),
                 solution: Path = typer.Argument(..., help="solution JSON (from solve -o)"),
                 json_out: bool = typer.Option(False, "--json")):
    """Check a solution independently; exit 1 if infeasible."""
    inst = load(instance)
    ev = evaluate(inst, load_solution(solution, inst))
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
    twice = next((a for i, a in enumerate(names) if a in names[:i]), None)
    if twice is not None:
        raise InputError("-a", f"{twice!r} given twice")
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
    from .experiments.analysis import relative_gap
    ref = next((r for r in results if r.algorithm == "exact" and r.feasible), None)    # as sweep summaries
    own = next((r for r in results if r.algorithm == prob.proposed and r.feasible), None)
    gaps = {r.algorithm: relative_gap(r.objective, ref.objective, prob.sense) if ref and r.feasible else None
            for r in results}
    ratios = {r.algorithm: r.objective / own.objective if own and r.feasible and own.objective else None
              for r in results}
    for name, why in skipped.items():                   # why, on stderr: with --json too
        err.print(f"{name} skipped: {why}", highlight=False, markup=False)
    if json_out:
        _print_json([{"algorithm": r.algorithm, "status": r.status, "objective": r.objective,
                      "feasible": r.feasible, "time_s": r.stats["time_s"], "gap_to_exact": gaps[r.algorithm],
                      "ratio_to_proposed": ratios[r.algorithm]} for r in results]
                    + [{"algorithm": a, "status": "skipped", "objective": None, "feasible": False, "time_s": 0.0,
                        "gap_to_exact": None, "ratio_to_proposed": None} for a in skipped])
        return
    table = Table("algorithm", "status", "objective", "gap to exact", "time (s)", "feasible",
                  title=f"{prob.key}: {instance} (proposed: {prob.proposed})", title_justify="left")
    for r in results:
        gap = "-" if gaps[r.algorithm] is None else f"{100 * gaps[r.algorithm]:.3f} %"
        table.add_row(r.algorithm, r.status, _fmt(r.objective, 8), gap, f"{r.stats['time_s']:.3f}",
                      "yes" if r.feasible else "NO")
    for name in skipped:
        table.add_row(name, "skipped", "-", "-", "-", "-")
    out.print(table)


def _summary_table(summary: list[dict], title: str) -> Table:
    """Mean and 95 % interval per point and algorithm (and the gap to exact where it ran), and per measure
    when the summary has several (the objective and those a figure plots)."""
    has_gap = any(np.isfinite(s["gap"]) for s in summary)
    measured = len({s.get("measure", "objective") for s in summary}) > 1
    names = [Column(h, overflow="fold") for h in ("point", "algorithm", *(["measure"] if measured else []))]
    table = Table(*names, "runs", "mean", "95 % CI", *(["gap to exact"] if has_gap else []), "time (s)",
                  title=title, title_justify="left")          # names folded, never cut: they say which row it is
    for s in summary:
        point = ", ".join(f"{k}={v}" for k, v in s["point"].items()) or "-"
        missing = ", ".join(f"{s[k]} {k}" for k in ("infeasible", "failed") if s.get(k))
        runs = f"{s['feasible']}/{s['n']} ({missing})" if missing else str(s["n"])
        gap = ["-" if not np.isfinite(s["gap"]) else f"{100 * s['gap']:.3f} %"] if has_gap else []
        table.add_row(point, s["algorithm"], *([s.get("measure", "objective")] if measured else []), runs,
                      _fmt(s["mean"]), "± " + _fmt(s["ci95"], 3), *gap, "-" if not np.isfinite(s["time_s"]) else f"{s['time_s']:.3f}")
    return table


@command()
def sweep(spec_file: Path = typer.Argument(..., help="sweep spec (YAML), or a shipped spec's name (semalloc specs)"),
          out_: Optional[Path] = typer.Option(None, "-o", "--out",
                                              help="results store (SQLite; default runs/<spec name>.db)"),
          output: Optional[Path] = _OUTPUT_ALIAS,
          workers: int = typer.Option(1, "--workers", help="local worker processes"),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786"),
          quick: bool = typer.Option(False, "--quick/--no-quick", help="apply the spec's quick overrides"),
          fresh: bool = typer.Option(False, "--fresh", help="discard this store's results first (default: resume)"),
          rerun: List[str] = typer.Option([], "--rerun", metavar="ALG",
                                          help="compute this algorithm's stored rows again (repeatable)"),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar on stderr"),
          json_out: bool = _JSON):
    """Run a parameter sweep into a results store; reuses the tasks it already holds (of any spec)."""
    output = _either(out_, output)
    from .experiments.analysis import failures
    from .experiments.reproduce import check_plot, summaries
    from .experiments.runner import run_sweep
    from .experiments.spec import find_spec, load_spec
    from .experiments.store import ResultsStore

    spec = load_spec(find_spec(spec_file), quick=quick)
    check_plot(spec)                                    # before any work: the figure's options too
    path = output or Path("runs") / f"{spec_file.stem}.db"
    if fresh:
        ResultsStore.discard(path)                      # refuses a file that is not a store, or one in use
    report = run_sweep(spec, path, workers=workers, scheduler=scheduler, progress=progress and not json_out,
                       rerun=rerun)
    if report.migrated:
        err.print(report.migrated, highlight=False)
    if report.older:
        from . import __version__
        err.print(f"reused tasks computed by another semalloc version (this is {__version__}): "
                  + ", ".join(f"{n} by {v}" for v, n in sorted(report.older.items()))
                  + "; --rerun ALG computes an algorithm's again", highlight=False)
    with ResultsStore.open(path) as store:
        rows = store.rows(spec)
    unknown: list = []
    summary = summaries(spec, rows, unknown)            # a measure only results can check: the runs stand
    for e in unknown:
        err.print(f"warning: {e} (no table of it; the figure will refuse it)", highlight=False, markup=False)
    if json_out:
        _print_json({"spec": str(spec_file), "written": [str(path)], "rows": len(rows), "tasks_run": report.done,
                     "tasks_stored": report.skipped, "stored_by_version": report.older, "time_s": report.seconds,
                     "summary": summary})
        return
    out.print(_summary_table(summary, f"{spec.title or spec_file.name}: {len(spec.seeds)} seeds"))
    for line in failures(rows):
        err.print(line, highlight=False, markup=False)
    err.print(f"{report.done} tasks run, {report.skipped} already stored, in {report.seconds:.1f} s; "
              f"results in {path}", highlight=False)


def _stored(results: Path, every: bool = False):
    """The last spec written to a store, and its rows (``every``: all the store's rows)."""
    from .experiments.store import ResultsStore, stored_spec

    with ResultsStore.open(results) as store:
        spec = stored_spec(store.spec)
        rows = store.rows() if every else store.rows(spec)
    return spec, rows


@command()
def plot(results: Path = typer.Argument(..., help="results store (from sweep)"),
         out_: Optional[Path] = typer.Option(None, "-o", "--out", help="figure: .png, .pdf or .svg "
                                             "(by the suffix; default: the store's name with .png)"),
         output: Optional[Path] = _OUTPUT_ALIAS,
         x: Optional[str] = typer.Option(None, "--x", help="varied setting on the x axis"),
         y: Optional[str] = typer.Option(None, "--y", help="objective, time_s or a metric of the problem"),
         kind: Optional[str] = typer.Option(None, "--kind", help="line, bars or trace"),
         logx: Optional[bool] = typer.Option(None, "--logx/--linx"),
         logy: Optional[bool] = typer.Option(None, "--logy/--liny"), json_out: bool = _JSON):
    """Draw a sweep: per algorithm the mean over seeds, shaded the min-max range over seeds
    (the rows and plot settings of the last spec written to the store by default)."""
    from .experiments.reproduce import plot_spec

    output = _either(out_, output)
    if output is None:                           # the default: the store's name with .png, unless that is it
        output = results.with_suffix(".png")
        check_output_path(output)
        check_not_an_input(output, {"results store": results}, "-o (default: the store's name with .png)")
    t0 = time.perf_counter()
    spec, rows = _stored(results)
    try:
        path = plot_spec(spec, rows, output, x=x, y=y, kind=kind, logx=logx, logy=logy)
    except InputError as e:                      # the options the flags gave, by their flags
        raise e.renamed({"x": "--x", "y": "--y", "kind": "--kind", "logx": "--logx", "logy": "--logy", "path": "-o",
                         "rows": str(results)}) from None
    if json_out:
        _print_json({"written": [str(path)], "rows": len(rows), "time_s": time.perf_counter() - t0})
    else:
        err.print(f"wrote {path}", highlight=False)


@command()
def export(results: Path = typer.Argument(..., help="results store (from sweep)"),
           out_: Optional[Path] = typer.Option(None, "-o", "--out",
                                               help="table to write (.csv or .parquet; - for CSV on stdout)"),
           output: Optional[Path] = _OUTPUT_ALIAS, json_out: bool = _JSON):
    """Export a sweep's rows, one column per varied setting, for plotting elsewhere."""
    from .experiments.analysis import export_rows

    path = _either(out_, output, "the table to write (or - for stdout)")
    if str(path) == "-" and json_out:
        raise InputError("--json", "cannot go with -o - (both write stdout)")
    t0 = time.perf_counter()
    _, rows = _stored(results, every=True)
    written = export_rows(rows, sys.stdout if str(path) == "-" else path)
    if json_out:
        _print_json({"written": [str(written)], "rows": len(rows), "time_s": time.perf_counter() - t0})
    elif str(path) != "-":
        err.print(f"wrote {written} ({len(rows)} rows)", highlight=False)


@command()
def reproduce(key: str = typer.Argument(..., help="problem key, or 'all'"),
              figure: Optional[int] = typer.Option(None, "--figure", help="figure number (default: all)"),
              quick: bool = typer.Option(False, "--quick/--no-quick", help="fewer seeds and points (minutes, not hours)"),
              outdir: Path = typer.Option(Path("out"), "-o", "--out", help="directory for results and figures"),
              fmt: str = typer.Option("png", "--format", help="figure format: png, pdf or svg"),
              workers: int = typer.Option(1, "--workers", help="local worker processes"),
              progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar on stderr"),
              retrain: bool = typer.Option(False, "--retrain", help="sbq: train the drl agent afresh into "
                                                                    "--out/agents instead of the shipped one"),
              json_out: bool = _JSON):
    """Reproduce a paper's figures from the shipped sweep specs: tables, stores and figures under --out."""
    from .experiments.analysis import FIGURE_FORMATS
    from .experiments.reproduce import reproduce as run

    if f".{fmt.lower().lstrip('.')}" not in FIGURE_FORMATS:
        raise InputError("--format", f"must be one of {', '.join(f[1:] for f in FIGURE_FORMATS)}, got {fmt!r}")
    if key != "all":
        get_problem(key)
    done = []
    for rep in run(key, figure=figure, quick=quick, out=outdir, workers=workers, progress=progress and not json_out,
                   retrain=retrain, fmt=f".{fmt.lower().lstrip('.')}"):
        if json_out:
            done.append({"problem": rep.key, "figure": rep.figure, "title": rep.title,
                         "written": [str(rep.image)] + ([str(rep.report.path)] if rep.report else []),
                         "tasks_run": rep.report.done if rep.report else 0,
                         "tasks_stored": rep.report.skipped if rep.report else 0,
                         "time_s": rep.report.seconds if rep.report else None, "summary": rep.summary})
            continue
        out.print(_summary_table(rep.summary, rep.title))
        for line in rep.failures:
            err.print(line, highlight=False, markup=False)
        err.print(f"wrote {rep.image}" + (f" (results: {rep.report.path})" if rep.report else ""), highlight=False)
    if json_out:
        _print_json({"figures": done})


specs_app = typer.Typer(no_args_is_help=False, help="The shipped sweep specs (the papers' figures).")


@specs_app.callback(invoke_without_command=True)
def specs(ctx: typer.Context, json_out: bool = _JSON):
    """List the shipped sweep specs: `sweep NAME` runs one, `specs show|copy NAME` prints or copies it."""
    if ctx.invoked_subcommand is not None:
        return
    from .experiments.spec import shipped_specs

    listed = []
    for name, path in shipped_specs().items():
        raw = yaml.safe_load(path.read_text())
        listed.append({"name": name, "problem": str(raw.get("problem", "")), "title": str(raw.get("title", ""))})
    if json_out:
        _print_json(listed)
        return
    table = Table("name", "problem", "title")
    for row in listed:
        table.add_row(*row.values())
    out.print(table)


def _shipped(name: str) -> Path:
    from .experiments.spec import shipped_specs

    shipped = shipped_specs()
    if name.removesuffix(".yaml") not in shipped:
        raise InputError("NAME", f"no shipped spec {name!r}; list them: semalloc specs", "specs")
    return shipped[name.removesuffix(".yaml")]


@specs_app.command("show")
@exits_2_on_bad_input()
def specs_show(name: str = typer.Argument(..., help="a shipped spec's name"), json_out: bool = _JSON):
    """Print a shipped spec (YAML; with --json, the spec as JSON)."""
    text = _shipped(name).read_text()
    if json_out:
        _print_json(yaml.safe_load(text))
        return
    sys.stdout.write(text)


@specs_app.command("copy")
@exits_2_on_bad_input()
def specs_copy(name: str = typer.Argument(..., help="a shipped spec's name"),
               dest: Optional[Path] = typer.Argument(None, help="file or directory (default: ./NAME.yaml)"),
               force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
               json_out: bool = _JSON):
    """Copy a shipped spec to edit it; refuses to overwrite a file without --force."""
    src = _shipped(name)
    target = (dest / src.name if dest.is_dir() else dest) if dest else Path(src.name)
    if target.exists() and not force:
        raise InputError(str(target), "exists; give --force to overwrite it", "specs")
    check_output_path(target, "DEST")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(src.read_text())
    if json_out:
        _print_json({"written": [str(target)]})
        return
    err.print(f"wrote {target}", highlight=False)


app.add_typer(specs_app, name="specs")
app.add_typer(learn_app, name="learn")
app.add_typer(rl_app, name="rl")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``semalloc`` console script: usage errors are one line and exit 2."""
    raise SystemExit(run_app(app, argv))


if __name__ == "__main__":
    main()
