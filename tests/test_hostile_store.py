"""Issue 17: one results store, one writing sweep at a time. A second sweep on
a store in use is refused with "store in use by process N" and exit 2 (no
traceback); the rows are those of one uninterrupted run, never lost or doubled."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
import yaml

from hostile import cli
from semalloc.errors import InputError
from semalloc.experiments.runner import run_sweep
from semalloc.experiments.spec import parse_spec
from semalloc.experiments.store import ResultsStore

RAW = {"problem": "multicell", "settings": {"base_stations": 2, "rbs": [6], "devices": 6}, "seeds": 8,
       "algorithms": ["prop", "nua", "best"]}


def invariant(rows):
    return sorted((str(r["point"]), r["seed"], r["algorithm"], r["status"], r["objective"], r["feasible"])
                  for r in rows)


def rows_of(path):
    with ResultsStore.open(path) as store:
        return store.rows()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.db"
    run_sweep(parse_spec(RAW), path, progress=False)
    return invariant(rows_of(path))


def test_a_second_writer_is_refused_naming_the_process(tmp_path):
    spec, path = parse_spec(RAW), tmp_path / "r.db"
    with ResultsStore.open(path, spec):
        with pytest.raises(InputError, match=f"store in use by process {os.getpid()}"):
            ResultsStore.open(path, spec)
        with pytest.raises(InputError, match="store in use"):
            ResultsStore.discard(path)                    # --fresh cannot delete it under the writer
        with ResultsStore.open(path) as reader:           # readers (plot, export) are not blocked
            assert reader.rows() == []
    assert not (tmp_path / "r.db.lock").exists()
    with ResultsStore.open(path, spec):                   # free again once closed
        pass


def test_a_lock_file_left_by_a_killed_sweep_does_not_block(tmp_path):
    spec, path = parse_spec(RAW), tmp_path / "r.db"
    (tmp_path / "r.db.lock").write_text("999999999\n")    # its holder is gone: the kernel lock went with it
    with ResultsStore.open(path, spec):
        assert (tmp_path / "r.db.lock").read_text().strip() == str(os.getpid())


def test_fresh_on_a_store_in_use_exits_2_and_keeps_it(tmp_path):
    spec_file, path = tmp_path / "s.yaml", tmp_path / "r.db"
    spec_file.write_text(yaml.safe_dump(RAW))
    with ResultsStore.open(path, parse_spec(RAW)) as store:
        store.write([{"point": "{}", "seed": 0, "algorithm": "prop", "status": "feasible", "objective": 1.0,
                      "feasible": True, "time_s": 0.1, "message": ""}])
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        r = cli("sweep", spec_file, "-o", path, "--fresh", "--no-progress")
        assert r.code == 2 and f"store in use by process {os.getpid()}" in r.err
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def two_sweeps(tmp_path, reference, gap_s=0.5):
    """Start two `semalloc sweep` processes on one store ``gap_s`` apart; check the contract."""
    spec_file, db = tmp_path / "spec.yaml", tmp_path / "shared.db"
    spec_file.write_text(yaml.safe_dump(RAW))
    for p in (db, tmp_path / "shared.db.lock"):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "semalloc.cli", "sweep", str(spec_file), "-o", str(db), "--no-progress"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(gap_s)
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outcomes = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        assert "Traceback" not in err and "Traceback" not in out, err
        assert proc.returncode in (0, 2), err
        if proc.returncode == 2:
            lines = err.strip().splitlines()
            other = first.pid if proc is second else second.pid
            assert len(lines) == 1 and f"store in use by process {other}" in lines[0], err
        outcomes.append(proc.returncode)
    assert 0 in outcomes
    assert invariant(rows_of(db)) == reference              # nothing lost, nothing doubled
    return outcomes


def test_two_sweeps_half_a_second_apart(tmp_path, reference):
    two_sweeps(tmp_path, reference)


@pytest.mark.slow
def test_two_sweeps_half_a_second_apart_ten_times(tmp_path, reference):
    outcomes = [tuple(two_sweeps(tmp_path, reference)) for _ in range(10)]
    assert all(0 in o for o in outcomes)


# ----------------------------------------------------------------------------- damage (audit of 2026-12-07)

SMALL = {"problem": "multicell", "settings": {"base_stations": 2, "rbs": [6], "devices": 4}, "seeds": 2,
         "algorithms": ["prop"]}


def a_store(tmp_path):
    spec_file, path = tmp_path / "s.yaml", tmp_path / "r.db"
    spec_file.write_text(yaml.safe_dump(SMALL))
    run_sweep(parse_spec(SMALL), path, progress=False)
    return spec_file, path


def refused_untouched(path, *commands, match):
    """Each command exits 2 with one line naming ``path`` and ``match``, and leaves the file as it was."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in commands:
        r = cli(*args)
        lines = r.err.strip().splitlines()
        assert r.code == 2 and len(lines) == 1 and str(path.name) in lines[0] and match in lines[0], (args, r.err)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, args


@pytest.mark.parametrize("damage, match", [
    ("UPDATE results SET objective = 'abc' WHERE rowid = 1", "is not one a sweep writes"),
    ("UPDATE results SET point = '{\"devices\": ' WHERE rowid = 1", "is not one a sweep writes"),
    ("UPDATE results SET metrics = '[1, 2]' WHERE rowid = 1", "is not one a sweep writes"),
    ("UPDATE results SET objective = NULL, feasible = 1 WHERE rowid = 1", "is not one a sweep writes"),
    ("UPDATE results SET seed = 1.5 WHERE rowid = 1", "is not one a sweep writes"),
    ("UPDATE results SET status = 'great' WHERE rowid = 1", "is not one a sweep writes"),
    ("DELETE FROM meta WHERE key = 'spec'", "recorded spec is damaged or missing"),
    ("UPDATE meta SET value = '{\"problem\": \"multicell\"}' WHERE key = 'spec'", "recorded spec is damaged"),
])
def test_a_store_with_a_row_or_meta_no_sweep_wrote_is_refused_by_every_verb_and_left_as_it_was(tmp_path, damage,
                                                                                                match):
    """Before, sweep rewrote the store's meta and ran its tasks into it, then failed with an internal error
    (exit 1); export wrote 'abc' as an objective to its table."""
    import sqlite3
    spec_file, path = a_store(tmp_path)
    con = sqlite3.connect(path)
    with con:
        con.execute(damage)
    con.close()
    refused_untouched(path, ("sweep", spec_file, "-o", path, "--no-progress"), ("plot", path, "-o", tmp_path / "f.png"),
                      ("export", path, "-o", tmp_path / "t.csv"), match=match)
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "t.csv").exists()


def test_a_store_cut_inside_a_page_is_refused_as_damaged(tmp_path):
    spec_file, path = a_store(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 100])
    refused_untouched(path, ("sweep", spec_file, "-o", path, "--no-progress"), ("export", path, "-o", tmp_path / "t.csv"),
                      match="results store")


def test_a_sweep_killed_while_creating_its_store_leaves_none_and_the_next_one_creates_it(tmp_path, monkeypatch):
    """The store is built under another name and renamed: before, a kill between SQLite's first page and the
    tables' commit left a file that every later sweep refused (2 of 28 early kills in the audit)."""
    from semalloc.experiments import store as store_module
    spec, path = parse_spec(SMALL), tmp_path / "r.db"

    def killed(con, table="results"):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "_create", killed)
    with pytest.raises(KeyboardInterrupt):
        ResultsStore.open(path, spec)
    assert not path.exists() and not (tmp_path / "r.db.lock").exists() and not list(tmp_path.glob(".r.db*"))
    monkeypatch.undo()
    run_sweep(spec, path, progress=False)
    assert len(rows_of(path)) == 2


def test_an_sqlite_file_without_tables_is_refused_with_a_hint(tmp_path):
    import sqlite3
    spec_file, path = tmp_path / "s.yaml", tmp_path / "r.db"
    spec_file.write_text(yaml.safe_dump(SMALL))
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchall()  # what a kill in creation used to leave
    refused_untouched(path, ("sweep", spec_file, "-o", path, "--no-progress"), match="no tables")


def test_a_store_reached_through_a_link_has_one_lock(tmp_path):
    """Before, a second sweep through a symbolic link was not refused: it recomputed every task and failed on
    the first row the first had written (an internal error)."""
    spec, path, link = parse_spec(SMALL), tmp_path / "r.db", tmp_path / "link.db"
    run_sweep(spec, path, progress=False)
    link.symlink_to(path)
    with ResultsStore.open(path, spec):
        with pytest.raises(InputError, match=f"store in use by process {os.getpid()}"):
            ResultsStore.open(link, spec)
    ResultsStore.discard(link)                            # --fresh through the link: the store, not the link
    assert not path.exists()


def _children(pid: int) -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.add(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie that no init reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_a_killed_sweeps_workers_end_with_it(tmp_path):
    """SIGKILL to a ``--workers 2`` sweep alone (what a batch system's timeout does): before, its workers lived
    on, holding its pipes open (a ``| tee`` waited for ever)."""
    import signal
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({**RAW, "seeds": 200}))
    proc = subprocess.Popen([sys.executable, "-m", "semalloc.cli", "sweep", str(spec_file), "-o", str(tmp_path / "r.db"),
                             "--workers", "2", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left


def test_ctrl_c_in_a_sweep_says_aborted_and_the_store_resumes(tmp_path, reference):
    """Ctrl-C: exit 130 and "aborted" (before, nothing was said); the rows written so far stand, and the same
    command finishes the sweep."""
    import signal
    spec_file, db = tmp_path / "s.yaml", tmp_path / "r.db"
    spec_file.write_text(yaml.safe_dump(RAW))
    cmd = [sys.executable, "-m", "semalloc.cli", "sweep", str(spec_file), "-o", str(db), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not db.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the interrupt")
    assert proc.returncode == 130 and err.strip().splitlines() == ["aborted"], err
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert invariant(rows_of(db)) == reference


def test_a_trace_with_infinities_is_a_row_a_sweep_writes(tmp_path):
    """json.dumps writes -Infinity and NaN in a trace (an algorithm's history), which SQLite's json_valid
    refuses: the row check must read the columns as the store writes them (the review of 2026-12-07)."""
    spec, path = parse_spec(SMALL), tmp_path / "r.db"
    with ResultsStore.open(path, spec) as store:
        store.write([{"point": "{}", "seed": 0, "algorithm": "prop", "status": "feasible", "objective": 1.0,
                      "feasible": True, "time_s": 0.1, "message": "", "trace": [float("-inf"), float("nan"), 1.0],
                      "metrics": {"m": float("inf")}}])
    rows = rows_of(path)
    assert len(rows) == 1 and rows[0]["trace"][0] == float("-inf")
    with ResultsStore.open(path, spec):                   # and written again
        pass
