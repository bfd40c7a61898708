"""Sweep throughput: tasks (one algorithm on one instance) per second with 1 and 2 local workers (and a
2-worker Dask LocalCluster when dask.distributed is installed) on a multicell
spec, and the results store's cost per row (target: under 5 ms).

Run: ``.venv/bin/python benchmarks/sweep.py`` (about a minute on 2 cores).
"""
from __future__ import annotations

import platform
import statistics
import tempfile
import time
from pathlib import Path

from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import parse_spec
from semalloc.experiments.store import ResultsStore

SPEC = {"problem": "multicell", "settings": {"utility": "accuracy"}, "vary": {"devices": [20, 30]},
        "seeds": 12, "algorithms": ["prop", "tc", "fsc", "arb", "nua", "fan"]}


def throughput(tmp: Path, label: str, repeats: int = 3, **kw) -> tuple[float, float]:
    rates = []
    for i in range(repeats):
        rep = run_sweep(parse_spec(SPEC), tmp / f"{label}-{i}.db", progress=False, **kw)
        rates.append(rep.done / rep.seconds)
    return statistics.mean(rates), statistics.stdev(rates)


def store_cost(tmp: Path, tasks: int = 400, per_task: int = 8) -> tuple[float, float]:
    spec = parse_spec({**SPEC, "seeds": tasks, "vary": {"devices": [20]}}, check_generator=False)
    row = {"status": "feasible", "objective": 1.0, "feasible": True, "time_s": 0.1, "message": ""}
    costs = []
    for rep in range(3):
        with ResultsStore.open(tmp / f"store-{rep}.db", spec) as store:
            t0 = time.perf_counter()
            for seed in range(tasks):
                store.write([{**row, "point": '{"devices": 20}', "seed": seed, "algorithm": f"a{j}"}
                             for j in range(per_task)])
            costs.append((time.perf_counter() - t0) / (tasks * per_task) * 1e3)
    return statistics.mean(costs), statistics.stdev(costs)


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"spec: multicell, devices in {SPEC['vary']['devices']}, {SPEC['seeds']} seeds, "
          f"{len(SPEC['algorithms'])} algorithms per instance ({2 * SPEC['seeds']} instances, "
          f"{2 * SPEC['seeds'] * len(SPEC['algorithms'])} tasks); mean +- sd of 3 runs\n")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = [("in-process (1 worker)", *throughput(tmp, "w1", workers=1)),
                ("process pool, 2 workers", *throughput(tmp, "w2", workers=2))]
        try:
            import distributed
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, \
                    distributed.Client(cl) as client:
                rows.append(("Dask LocalCluster, 2 workers", *throughput(tmp, "dask", scheduler=client)))
        except ImportError:
            pass
        ref = rows[0][1]
        print(f"{'runner':<30} {'tasks/s':>9} {'sd':>7} {'speed-up':>9}")
        for name, mean, sd in rows:
            print(f"{name:<30} {mean:9.2f} {sd:7.2f} {mean / ref:8.2f}x")
        mean, sd = store_cost(tmp)
        print(f"\nresults store: {mean:.3f} ms per row (sd {sd:.3f}), 8 rows per transaction")


if __name__ == "__main__":
    main()
