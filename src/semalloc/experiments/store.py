"""The results store of a sweep: one SQLite file, one row per (point, seed, algorithm).

One sweep writes a store at a time: a writer holds an exclusive lock on
``<store>.lock`` (which holds its process id) from opening to closing, and a
second writer is refused with "store in use by process N" (exit code 2 on
the command line). Readers (``plot``, ``export``) take no lock. The lock is
the kernel's (``flock``): a killed sweep releases it with its process.

All rows of one task (a point and a seed) are written in one transaction,
so a sweep killed at any moment (SIGKILL included) loses at most the tasks
in flight and never leaves a half-written task; the primary key forbids
duplicates. A file that is not a semalloc results store, or that holds the
results of another spec, is refused before anything is written to it.

Tables: ``meta(key, value)`` (``format``, ``version``, ``spec_hash``,
``spec``) and ``results(point, seed, algorithm, status, objective,
feasible, time_s, spec_hash, message, metrics, trace)``; ``metrics`` is the
JSON object of the problem's other measures (``Evaluation.metrics``), ``{}``
if none; ``trace`` the JSON list of the algorithm's objective per iteration
(``stats["trace"]``), ``[]`` if it reports none.

Examples
--------
>>> import tempfile, os
>>> from semalloc.experiments.spec import parse_spec
>>> from semalloc.experiments.store import ResultsStore
>>> spec = parse_spec({"problem": "multicell", "algorithms": ["prop"], "settings": {"devices": 3}})
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> with ResultsStore.open(path, spec) as store:
...     store.write([{"point": "{}", "seed": 0, "algorithm": "prop", "status": "feasible",
...                   "objective": 1.5, "feasible": True, "time_s": 0.1, "message": "",
...                   "metrics": {}}])
...     sorted(store.done())
[('{}', 0)]
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path

from ..errors import InputError

__all__ = ["ResultsStore", "COLUMNS", "FORMAT"]

FORMAT, VERSION = "semalloc-results", "2"     # 2: the metrics and trace columns
#: Columns of ``results`` and their SQL types.
COLUMNS = {"point": "TEXT NOT NULL", "seed": "INTEGER NOT NULL", "algorithm": "TEXT NOT NULL",
           "status": "TEXT NOT NULL", "objective": "REAL", "feasible": "INTEGER NOT NULL",
           "time_s": "REAL NOT NULL", "spec_hash": "TEXT NOT NULL", "message": "TEXT NOT NULL",
           "metrics": "TEXT NOT NULL", "trace": "TEXT NOT NULL"}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _refuse(path, reason: str):
    raise InputError(str(path), reason, "sweep")


class _Lock:
    """An exclusive ``flock`` on ``<path>.lock``, which holds the owner's process id."""

    def __init__(self, path: Path):
        self.path, self.fd = path.with_name(path.name + ".lock"), None

    def acquire(self) -> "_Lock":
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                _refuse(self.path, f"cannot create the store's lock file ({e.strerror})")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = self._owner(fd)
                os.close(fd)
                _refuse(self.path.with_suffix(""), f"store in use by process {owner} (another sweep is "
                        "writing it); wait for it to finish, or write to another file with -o")
            try:                                        # the holder before us may have unlinked it: retry
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    @staticmethod
    def _owner(fd: int) -> str:
        for _ in range(20):                             # the owner writes its pid right after locking
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            if text:
                return text
            time.sleep(0.01)
        return "(unknown)"

    def release(self) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)           # unlink while still holding it, then unlock
            os.close(self.fd)
            self.fd = None


def _read_meta(path: Path) -> dict:
    """The ``meta`` table of an existing store; refuse anything else without writing to it."""
    with open(path, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        _refuse(path, "not a semalloc results store (not an SQLite file); refusing to touch it")
    try:
        # read-write so that a store left by a killed sweep (a WAL to recover) opens; only read here
        con = sqlite3.connect(path, timeout=30)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        _refuse(path, f"not a semalloc results store ({e}); refusing to touch it")
    if meta.get("format") != FORMAT:
        _refuse(path, "an SQLite file but not a semalloc results store; refusing to touch it")
    if meta.get("version") != VERSION:
        _refuse(path, f"results store version {meta.get('version')!r}, this semalloc reads {VERSION!r}; "
                      "re-run the sweep into a new file")
    if set(cols) != set(COLUMNS):
        _refuse(path, "a semalloc results store with unknown columns; refusing to touch it")
    return meta


class ResultsStore:
    """An open results store (a context manager)."""

    def __init__(self, con: sqlite3.Connection, path: Path, meta: dict, writable: bool = False,
                 lock: _Lock | None = None):
        self.con, self.path, self.meta, self.writable, self.lock = con, path, meta, writable, lock

    @classmethod
    def open(cls, path: str | Path, spec=None) -> "ResultsStore":
        """Open ``path`` for ``spec`` (create it if missing), or for reading when ``spec`` is None.

        Refuses (:class:`InputError`) a file that is not a results store, and
        one whose results belong to a different spec.
        """
        path = Path(path)
        if path.is_dir():
            _refuse(path, "is a directory, not a results store; name a file")
        exists = path.exists() and path.stat().st_size > 0
        if spec is None:
            if not exists:
                _refuse(path, "results store not found")
            meta = _read_meta(path)
            return cls(sqlite3.connect(path, timeout=30), path, meta)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            _refuse(path, f"cannot create its directory ({e.strerror})")
        lock = _Lock(path).acquire()
        try:
            return cls._open_locked(path, spec, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, path: Path, spec, lock: _Lock) -> "ResultsStore":
        exists = path.exists() and path.stat().st_size > 0
        if exists:
            meta = _read_meta(path)
            if meta["spec_hash"] != spec.hash:
                _refuse(path, f"holds results of a different sweep spec (hash {meta['spec_hash']}, this spec "
                              f"{spec.hash}); use another output file or delete it")
        try:
            con = sqlite3.connect(path, timeout=30)
        except sqlite3.Error as e:
            _refuse(path, f"cannot open ({e})")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        if not exists:
            meta = {"format": FORMAT, "version": VERSION, "spec_hash": spec.hash,
                    "spec": json.dumps(spec.to_dict(), sort_keys=True)}
            with con:
                con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
                cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
                con.execute(f"CREATE TABLE results ({cols}, PRIMARY KEY (point, seed, algorithm))")
        return cls(con, path, meta, writable=True, lock=lock)

    @classmethod
    def discard(cls, path: str | Path) -> None:
        """Delete the results store at ``path`` (``sweep --fresh``), under the lock:
        refused when it is not a results store or another sweep is writing it."""
        path = Path(path)
        if not path.exists():
            return
        lock = _Lock(path).acquire()
        try:
            cls.open(path).close()                      # refuses a file that is not a results store
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
        finally:
            lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close; a store that was written to is left as one self-contained file (no WAL)."""
        try:
            if self.writable:
                try:
                    self.con.execute("PRAGMA journal_mode=DELETE")
                except sqlite3.OperationalError:    # another reader has it open: it stays in WAL mode
                    pass
            self.con.close()
        finally:
            if self.lock is not None:
                self.lock.release()

    @property
    def spec(self) -> dict:
        return json.loads(self.meta["spec"])

    def done(self) -> set[tuple[str, int]]:
        """The (point, seed) tasks already stored."""
        return set(self.con.execute("SELECT DISTINCT point, seed FROM results"))

    def write(self, rows: list[dict]) -> None:
        """Store the rows of one task, all or none (one transaction)."""
        h = self.meta["spec_hash"]
        enc = {"spec_hash": lambda r: h, "feasible": lambda r: int(r["feasible"]),
               "metrics": lambda r: json.dumps(r.get("metrics") or {}, sort_keys=True),
               "trace": lambda r: json.dumps(r.get("trace") or [])}
        values = [tuple(enc[k](r) if k in enc else r[k] for k in COLUMNS) for r in rows]
        with self.con:
            self.con.executemany(f"INSERT INTO results VALUES ({', '.join('?' * len(COLUMNS))})", values)

    def rows(self) -> list[dict]:
        """Every row, as dicts (``point`` decoded), ordered by point, seed, algorithm."""
        cur = self.con.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY point, seed, algorithm")
        out = []
        for r in cur:
            row = dict(zip(COLUMNS, r))
            row["point"], row["feasible"] = json.loads(row["point"]), bool(row["feasible"])
            row["metrics"], row["trace"] = json.loads(row["metrics"]), json.loads(row["trace"])
            row["objective"] = float("nan") if row["objective"] is None else row["objective"]
            out.append(row)
        return out
