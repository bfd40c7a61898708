"""A wheel builds and, installed outside the checkout, runs ``semalloc specs``
and ``semalloc reproduce multicell --figure 6 --quick``.

Offline and without a new venv: the wheel is built with this interpreter's
setuptools (``--no-build-isolation``), installed with ``pip install
--no-deps --target DIR`` and run with ``PYTHONPATH=DIR`` from an empty
temporary directory. This proves that the wheel holds everything semalloc
reads at run time (code, shipped specs, data files), that the console
script works, and that nothing is read from the checkout; the third-party
dependencies come from the test environment, not from the wheel's
metadata (that part is not tested here).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from semalloc.experiments.spec import SPECS_DIR, load_spec
from semalloc.experiments.store import ResultsStore

ROOT = Path(__file__).resolve().parents[1]


def _run(args, **kw):
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_runs_specs_and_reproduce(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    shutil.copytree(ROOT / "src", build / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, build / name)
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path / "dist")], cwd=build)
    wheel, = (tmp_path / "dist").glob("semalloc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (ROOT / "src/semalloc/experiments/specs").glob("*.yaml"))
    assert sorted(Path(n).name for n in names if n.startswith("semalloc/experiments/specs/")) == shipped
    assert "semalloc/perf/data/deepsc-sentence-similarity.csv" in names

    target, cwd = tmp_path / "site", tmp_path / "elsewhere"
    cwd.mkdir()
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)])
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}   # not the checkout's src
    where = _run([sys.executable, "-c", "import semalloc; print(semalloc.__file__)"], env=env, cwd=cwd)
    assert Path(where.stdout.strip()).is_relative_to(target)
    semalloc = str(target / "bin" / "semalloc")
    listed = _run([semalloc, "specs"], env=env, cwd=cwd).stdout
    assert all(Path(s).stem in listed for s in shipped)
    _run([semalloc, "specs", "copy", "multicell-fig6"], env=env, cwd=cwd)
    assert (cwd / "multicell-fig6.yaml").read_text() == (ROOT / "examples/specs/multicell-fig6.yaml").read_text()

    _run([semalloc, "reproduce", "multicell", "--figure", "6", "--quick", "--out", "out"], env=env, cwd=cwd)
    assert (cwd / "out" / "multicell-fig6-quick.png").stat().st_size > 10_000
    db, = (cwd / "out").glob("multicell-fig6-quick-*.db")
    with ResultsStore.open(db) as store:
        rows = store.rows()
    spec = load_spec(SPECS_DIR / "multicell-fig6.yaml", quick=True)
    assert len(rows) == len(spec.points) * len(spec.seeds) * len(spec.algorithms)   # every task of the quick spec
    assert all(r["feasible"] for r in rows)
    best = {}
    for r in rows:
        best.setdefault((str(r["point"]), r["seed"]), []).append(r)
    for task in best.values():                       # exact is the optimum over the same tables
        exact, = (r for r in task if r["algorithm"] == "exact")
        assert exact["status"] == "optimal"
        assert all(r["objective"] <= exact["objective"] * (1 + 1e-9) for r in task)
