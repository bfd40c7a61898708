"""Run a sweep: one task per (point, seed), locally or on a Dask cluster.

Each task draws its instance from the spec and the seed inside the worker
(the same spec and seed give the same instance on any machine) and runs
every algorithm of the spec on it, after importing the spec's ``plugins``
and those named by ``--plugin`` (:mod:`semalloc.plugins`), so that a
worker process or a Dask worker knows a plugin's algorithms. Tasks run
in-process (``workers=1``), in a local process pool
(``concurrent.futures``), or on a Dask cluster (``scheduler``: an address
such as ``tcp://10.0.0.5:8786`` or a ``distributed.Client``; with
``dask-jobqueue``, SLURM or PBS jobs: docs/cli.md). Only the calling process writes to the results
store, task by task as each finishes; tasks already stored are skipped.

Examples
--------
>>> import os, tempfile
>>> from semalloc.experiments.spec import parse_spec
>>> from semalloc.experiments.runner import run_sweep
>>> spec = parse_spec({"problem": "multicell", "vary": {"devices": [3, 4]}, "seeds": 2,
...                    "settings": {"base_stations": 2, "rbs": [5]}, "algorithms": ["prop", "nua"]})
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> run_sweep(spec, path, progress=False).done
4
>>> run_sweep(spec, path, progress=False).skipped    # resumed: nothing left to do
4
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError
from ..plugins import imported, load_plugin
from ..solve import solve
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
             options: dict, plugins: tuple[str, ...] = ()) -> list[dict]:
    """Import ``plugins``, draw the instance of ``(point, seed)`` and solve it
    with every algorithm: one row each.

    An algorithm that raises is recorded as a row with status ``error`` and
    the exception in ``message``, so that one failure does not stop a sweep.
    """
    for i, module in enumerate(plugins):
        load_plugin(module, f"plugins[{i}] (on a worker)")
    varied, options = split_point(point, options)              # ALGORITHM.OPTION entries are options
    inst = make_instance(problem, seed, {**settings, **varied})   # a spec's user generator, or the problem's
    rows = []
    for name in algorithms:
        row = {"point": point_key(point), "seed": seed, "algorithm": name}
        t0 = time.perf_counter()
        try:
            res = solve(inst, name, **options.get(name, {}))
            ok = bool(np.isfinite(res.objective))
            row.update(status=res.status, objective=float(res.objective) if ok else None, feasible=ok,
                       time_s=float(res.stats["time_s"]), message=res.message,
                       metrics=res.stats.get("metrics", {}) if ok else {},
                       trace=_trace(res.stats) if ok else [])
        except Exception as e:                      # noqa: BLE001 -- recorded, not lost
            row.update(status="error", objective=None, feasible=False, time_s=time.perf_counter() - t0,
                       message=f"{type(e).__name__}: {e}", metrics={}, trace=[])
        rows.append(row)
    return rows


@dataclass
class SweepReport:
    """What a run did: tasks run now, tasks found already stored, and the store's path."""

    done: int
    skipped: int
    total: int
    path: Path
    seconds: float


def _plugins(spec: SweepSpec) -> tuple[str, ...]:
    """The modules every worker imports: the spec's plugins and those loaded by ``--plugin``."""
    return tuple(dict.fromkeys([*spec.plugins, *imported()]))


def _local(tasks, spec: SweepSpec, workers: int) -> Iterator[list[dict]]:
    args = lambda t: (spec.problem, spec.settings, t[1], t[2], spec.algorithms, spec.options, _plugins(spec))
    if workers <= 1:
        for t in tasks:
            yield run_task(*args(t))
        return
    ctx = multiprocessing.get_context("spawn")         # no forked copies of threads or open files
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(run_task, *args(t)) for t in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _dask(tasks, spec: SweepSpec, scheduler) -> Iterator[list[dict]]:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise InputError("--scheduler", "needs dask.distributed: pip install 'semalloc[dist]'", "sweep") from None
    own = isinstance(scheduler, str)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S) if own else scheduler
    except (OSError, TimeoutError) as e:
        raise InputError("--scheduler", f"cannot reach {scheduler}: {e}", "sweep") from None
    try:
        futures = [client.submit(run_task, spec.problem, spec.settings, t[1], t[2], spec.algorithms, spec.options,
                                 _plugins(spec), pure=False) for t in tasks]
        try:
            for fut in dask_completed(futures):
                yield fut.result()
        finally:
            client.cancel(futures)
    finally:
        if own:
            client.close()


def run_sweep(spec: SweepSpec, path: str | Path, workers: int = 1, scheduler=None,
              progress: bool = True) -> SweepReport:
    """Run every task of ``spec`` not yet in the store at ``path``; return a report.

    The store is created if missing, resumed if it holds this spec's results,
    and refused (:class:`InputError`) if it is not a results store or holds
    another spec's.
    """
    if workers < 1:
        raise InputError("--workers", f"must be >= 1, got {workers}", "sweep")
    t0 = time.perf_counter()
    with ResultsStore.open(path, spec) as store:
        done = store.done()
        tasks = [t for t in spec.tasks() if (t[0], t[2]) not in done]
        skipped = len(spec.tasks()) - len(tasks)
        results = _dask(tasks, spec, scheduler) if scheduler is not None else _local(tasks, spec, workers)
        bar = _Progress(len(tasks), spec) if progress and tasks else None
        n = 0
        try:
            for rows in results:
                store.write(rows)
                n += 1
                if bar:
                    bar.advance()
        finally:
            if bar:
                bar.stop()
            results.close()
    return SweepReport(n, skipped, len(spec.tasks()), Path(path), time.perf_counter() - t0)


class _Progress:
    """A rich progress bar on stderr: done/total, tasks per second, elapsed, ETA."""

    def __init__(self, total: int, spec: SweepSpec):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
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
        self.p.update(self.task, advance=1, rate=f"{rate:.2f} tasks/s")

    def stop(self) -> None:
        self.p.stop()
