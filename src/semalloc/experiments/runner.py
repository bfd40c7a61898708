"""Run a sweep: the tasks (point, seed, algorithm) not yet stored, locally or on a Dask cluster.

A task is identified by its key (:meth:`~semalloc.experiments.spec.SweepSpec.task_key`):
the store may hold rows of other specs, and those of this spec's tasks are
reused, so a spec grown by seeds, points or algorithms runs only what is
new. The tasks left are grouped by instance: one job per (point, seed)
draws its instance inside the worker (the same spec and seed give the same
instance on any machine) and runs the algorithms still missing on it,
after importing the spec's ``plugins``
and those named by ``--plugin`` (:mod:`semalloc.plugins`), so that a
worker process or a Dask worker knows a plugin's algorithms. Tasks run
in-process (``workers=1``), in a local process pool
(``concurrent.futures``), or on a Dask cluster (``scheduler``: an address
such as ``tcp://10.0.0.5:8786`` or a ``distributed.Client``; with
``dask-jobqueue``, SLURM or PBS jobs: docs/cli.md). Only the calling process writes to the results
store, one transaction per job as each finishes. ``rerun`` names algorithms
whose stored rows of this spec are computed again and replaced.

Examples
--------
>>> import os, tempfile
>>> from semalloc.experiments.spec import parse_spec
>>> from semalloc.experiments.runner import run_sweep
>>> spec = parse_spec({"problem": "multicell", "vary": {"devices": [3, 4]}, "seeds": 2,
...                    "settings": {"base_stations": 2, "rbs": [5]}, "algorithms": ["prop", "nua"]})
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> run_sweep(spec, path, progress=False).done      # 2 points x 2 seeds x 2 algorithms
8
>>> run_sweep(spec, path, progress=False).skipped    # resumed: nothing left to do
8
>>> grown = parse_spec({**spec.to_dict(), "seeds": 3, "algorithms": ["prop", "nua", "tc"]})
>>> rep = run_sweep(grown, path, progress=False)    # the new seed, and tc on every instance
>>> rep.done, rep.skipped, rep.total
(10, 8, 18)
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import __version__
from ..errors import InputError
from ..plugins import imported, load_plugin
from ..result import ERROR, FEASIBLE
from ..solve import get_problem, solve
from .spec import SweepSpec, make_instance, point_key, split_point
from .store import ResultsStore

__all__ = ["run_task", "run_sweep", "SweepReport", "CONNECT_TIMEOUT_S"]

#: How long to try to reach a Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 30.0


def _trace(stats: dict) -> list[float]:
    """The run's objective per iteration (``stats["trace"]``), or ``[]`` when it
    reports none or something that is not a list of numbers."""
    try:
        return [float(v) for v in stats.get("trace", [])]
    except (TypeError, ValueError):
        return []


def run_task(problem: str, settings: dict, point: dict, seed: int, algorithms: list[str],
             options: dict, plugins: tuple[str, ...] = (), slots: int = 1) -> list[dict]:
    """Import ``plugins``, draw the instance of ``(point, seed)`` and solve it
    with every algorithm: one row each.

    ``slots > 1`` (problems with episodes, :attr:`~semalloc.solve.Problem.episode`): the seed's
    episode of that many slots instead, each algorithm deciding them in turn, each slot carrying the
    outcome of the algorithm's own last decision (:attr:`~semalloc.solve.Problem.carry`); the row is
    the episode's (:func:`_episode_row`).

    An algorithm that raises is recorded as a row with status ``error`` and
    the exception in ``message``, so that one failure does not stop a sweep.
    """
    for i, module in enumerate(plugins):
        load_plugin(module, f"plugins[{i}] (on a worker)")
    varied, options = split_point(point, options)              # ALGORITHM.OPTION entries are options
    settings = {**settings, **varied}
    if slots > 1:
        prob = get_problem(problem)
        episode = list(prob.episode(seed=seed, slots=slots, **settings))
    else:
        inst = make_instance(problem, seed, settings)           # a spec's user generator, or the problem's
    rows = []
    for name in algorithms:
        row = {"point": point_key(point), "seed": seed, "algorithm": name, "version": __version__}
        t0 = time.perf_counter()
        try:
            opts = options.get(name, {})
            row.update(_episode_row(prob, episode, name, opts) if slots > 1 else _row(solve(inst, name, **opts)))
        except Exception as e:                      # noqa: BLE001 -- recorded, not lost
            row.update(status=ERROR, objective=None, feasible=False, time_s=time.perf_counter() - t0,
                       message=f"{type(e).__name__}: {e}", metrics={}, trace=[])
        rows.append(row)
    return rows


def _row(res) -> dict:
    """The stored fields of one result."""
    ok = bool(np.isfinite(res.objective))
    return {"status": res.status, "objective": float(res.objective) if ok else None, "feasible": ok,
            "time_s": float(res.stats["time_s"]), "message": res.message,
            "metrics": res.stats.get("metrics", {}) if ok else {}, "trace": _trace(res.stats) if ok else []}


def _episode_row(prob, episode: list, name: str, options: dict) -> dict:
    """Algorithm ``name`` deciding the slots of ``episode`` in turn: the mean objective per slot, feasible
    if every slot is; the status shared by every slot (``feasible`` when solutions of different
    statuses), else the first slot's without a solution; ``time_s`` the episode's; metrics their means
    per slot."""
    results, previous = [], None
    for slot in episode:
        if previous is not None:
            slot = prob.carry(slot, *previous)
        res = solve(slot, name, **options)
        results.append(res)
        if not np.isfinite(res.objective):
            break
        previous = (slot, res.variables)
    last = results[-1]
    ok = bool(np.isfinite(last.objective))                # the loop stops at the first slot without a solution
    statuses = {r.status for r in results}
    status = (statuses.pop() if len(statuses) == 1 else FEASIBLE) if ok else last.status
    keys = set.intersection(*(set(r.stats.get("metrics", {})) for r in results)) if ok else set()
    return {"status": status, "objective": float(np.mean([r.objective for r in results])) if ok else None,
            "feasible": ok, "time_s": float(sum(r.stats["time_s"] for r in results)),
            "message": next((r.message for r in results if r.message), "") if ok else last.message,
            "metrics": {k: float(np.mean([r.stats["metrics"][k] for r in results])) for k in sorted(keys)},
            "trace": []}


@dataclass
class SweepReport:
    """What a run did: tasks (point, seed, algorithm) run now, tasks found already stored
    (reused), the spec's tasks, the store's path, and a line if the store was migrated."""

    done: int
    skipped: int
    total: int
    path: Path
    seconds: float
    migrated: str = ""
    #: The reused tasks computed by another semalloc version: version -> count.
    older: dict = field(default_factory=dict)


def _plugins(spec: SweepSpec) -> tuple[str, ...]:
    """The modules every worker imports: the spec's plugins and those loaded by ``--plugin``."""
    return tuple(dict.fromkeys([*spec.plugins, *imported()]))


def _jobs(spec: SweepSpec, todo: set[str]) -> list[tuple[dict, int, list[str]]]:
    """The tasks ``todo`` grouped by instance: ``(point, seed, algorithms)``, each key once."""
    jobs, seen = {}, set()
    for key, point, seed, algorithm in spec.task_list():
        if key in todo and key not in seen:
            seen.add(key)
            jobs.setdefault((point_key(point), seed), (point, seed, []))[2].append(algorithm)
    return list(jobs.values())


def _end_with(parent: int, every_s: float = 1.0) -> None:
    """A worker's initializer: a thread that ends the worker within ``every_s`` of the sweep that started it
    (killed, a SIGTERM or SIGKILL to it alone, its workers outlived it holding its pipes open: the audit of
    2026-12-07 found them 20 minutes later)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)
    threading.Thread(target=watch, name="end-with-sweep", daemon=True).start()


def _local(jobs, spec: SweepSpec, workers: int) -> Iterator[list[dict]]:
    args = lambda t: (spec.problem, spec.settings, t[0], t[1], t[2], spec.options, _plugins(spec), spec.slots)
    if workers <= 1:
        for t in jobs:
            yield run_task(*args(t))
        return
    ctx = multiprocessing.get_context("spawn")         # no forked copies of threads or open files
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_end_with,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(run_task, *args(t)) for t in jobs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _connect(scheduler: str):
    """A Dask client of the scheduler at address ``scheduler`` (before the store is touched)."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler", "needs dask.distributed: pip install 'semalloc[dist]'", "sweep") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise InputError("--scheduler", f"cannot reach {scheduler}: {e}", "sweep") from None


def _dask(jobs, spec: SweepSpec, client, own: bool) -> Iterator[list[dict]]:
    from distributed import as_completed as dask_completed
    try:
        futures = [client.submit(run_task, spec.problem, spec.settings, t[0], t[1], t[2], spec.options,
                                 _plugins(spec), spec.slots, pure=False) for t in jobs]
        try:
            for fut in dask_completed(futures):
                yield fut.result()
        finally:
            client.cancel(futures)
    finally:
        if own:
            client.close()


def run_sweep(spec: SweepSpec, path: str | Path, workers: int = 1, scheduler=None,
              progress: bool = True, rerun: list[str] | tuple[str, ...] = ()) -> SweepReport:
    """Run every task of ``spec`` not yet in the store at ``path``; return a report.

    The store is created if missing; the tasks it holds (of this spec or of
    any other) are reused; ``rerun`` algorithms have their rows of this spec
    computed again and replaced. Refuses (:class:`InputError`) a file that
    is not a results store, and a ``rerun`` name not among the spec's
    algorithms.
    """
    if workers < 1:
        raise InputError("--workers", f"must be >= 1, got {workers}", "sweep")
    for name in rerun:
        if name not in spec.algorithms:
            raise InputError("--rerun", f"{name!r} is not one of the spec's algorithms: {', '.join(spec.algorithms)}",
                             "sweep")
    t0 = time.perf_counter()
    own = isinstance(scheduler, str)
    client = _connect(scheduler) if own else scheduler
    try:
        store = ResultsStore.open(path, spec)
    except BaseException:
        if own:
            client.close()
        raise
    with store:
        keys = {k: a for k, _, _, a in spec.task_list()}
        stored = store.done()
        todo = {k for k, a in keys.items() if k not in stored or a in rerun}
        jobs = _jobs(spec, todo)
        older = {v: n for v, n in store.versions(set(keys) - todo).items() if v != __version__}
        results = _dask(jobs, spec, client, own) if scheduler is not None else _local(jobs, spec, workers)
        bar = _Progress(len(jobs), spec) if progress and jobs else None
        n = 0
        try:
            for rows in results:
                store.write(rows, replace=bool(rerun))
                n += len(rows)
                if bar:
                    bar.advance()
        finally:
            if bar:
                bar.stop()
            results.close()
    return SweepReport(n, len(keys) - len(todo), len(keys), Path(path), time.perf_counter() - t0, store.migrated,
                       older)


class _Progress:
    """A rich progress bar on stderr: instances done/total (each runs its missing tasks), per second,
    elapsed, ETA."""

    def __init__(self, total: int, spec: SweepSpec):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                          TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        self.t0 = time.perf_counter()
        self.task = self.p.add_task(f"{spec.problem} sweep", total=total, rate="")
        self.n = 0
        self.p.start()

    def advance(self) -> None:
        self.n += 1
        rate = self.n / max(time.perf_counter() - self.t0, 1e-9)
        self.p.update(self.task, advance=1, rate=f"{rate:.2f} instances/s")

    def stop(self) -> None:
        self.p.stop()
