"""The results store of sweeps: one SQLite file, one row per task.

A task is one algorithm run on one instance: it is identified by its
:meth:`~semalloc.experiments.spec.SweepSpec.task_key`, a hash of the problem,
the instance's settings (the spec's fixed settings and the point's varied
ones, and any other field of the spec that shapes the instance), the seed,
the algorithm and its options -- not by the spec that asked for it. So a
store accepts any spec: the tasks it already holds are reused, the others
are run and added (a study grows by seeds, points or algorithms), and a
changed fixed setting or option makes new tasks. ``meta`` keeps the last
spec written (``plot`` draws its rows with its plot options).

One sweep writes a store at a time: a writer holds an exclusive lock on
``<store>.lock`` (which holds its process id) from opening to closing, and a
second writer is refused with "store in use by process N" (exit code 2 on
the command line). Readers (``plot``, ``export``) take no lock. The lock is
the kernel's (``flock``): a killed sweep releases it with its process.

The rows of one instance are written in one transaction, so a sweep killed
at any moment (SIGKILL included) loses at most the tasks in flight and never
leaves a half-written one; the primary key forbids duplicates. A file that
is not a semalloc results store is refused before anything is written to it.

Tables (format version 3): ``meta(key, value)`` (``format``, ``version``,
``spec`` and ``spec_hash`` of the last spec written) and ``results(key,
point, seed, algorithm, instance, options, status, objective, feasible,
time_s, spec_hash, message, metrics, trace, version)``: ``key`` the task's
identity (primary key); ``point`` the varied settings as the spec that ran
it named them; ``instance`` the JSON of what shapes the instance (problem,
all settings); ``options`` the algorithm's options; ``spec_hash`` the hash
of the spec that ran it; ``metrics`` the JSON object of the problem's other
measures (``Evaluation.metrics``), ``{}`` if none; ``trace`` the JSON list
of the algorithm's objective per iteration (``stats["trace"]``), ``[]`` if
it reports none; ``version`` the semalloc version that computed it. A store
of format 2 (before tasks had keys) is read as it is by ``plot`` and
``export`` and migrated in place, in one transaction, when a sweep writes
to it (its rows' ``version`` is ``unknown``).

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
...     store.done() == {spec.task_key({}, 0, "prop")}
True
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path

from .. import __version__
from ..errors import InputError
from ..result import STATUSES
from .spec import SweepSpec, parse_spec, point_key

__all__ = ["ResultsStore", "COLUMNS", "FORMAT", "stored_spec"]

FORMAT, VERSION = "semalloc-results", "3"     # 3: rows keyed by their task, not by the spec
#: Columns of ``results`` and their SQL types.
COLUMNS = {"key": "TEXT NOT NULL PRIMARY KEY", "point": "TEXT NOT NULL", "seed": "INTEGER NOT NULL",
           "algorithm": "TEXT NOT NULL", "instance": "TEXT NOT NULL", "options": "TEXT NOT NULL",
           "status": "TEXT NOT NULL", "objective": "REAL", "feasible": "INTEGER NOT NULL",
           "time_s": "REAL NOT NULL", "spec_hash": "TEXT NOT NULL", "message": "TEXT NOT NULL",
           "metrics": "TEXT NOT NULL", "trace": "TEXT NOT NULL", "version": "TEXT NOT NULL"}
#: The columns of format 2, which is migrated (:func:`_migrate`).
_V2_COLUMNS = ("point", "seed", "algorithm", "status", "objective", "feasible", "time_s", "spec_hash", "message",
               "metrics", "trace")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _refuse(path, reason: str):
    raise InputError(str(path), reason)            # no verb: sweep, plot and export read stores


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


#: A row that ``sweep`` did not write: a column of the wrong type, a status outside
#: :data:`~semalloc.result.STATUSES`, a feasible row without an objective (its JSON columns: :func:`_check_intact`).
_DAMAGED_ROW = """SELECT key FROM results WHERE typeof(key) != 'text' OR typeof(seed) != 'integer'
    OR typeof(algorithm) != 'text' OR typeof(status) != 'text' OR status NOT IN ({statuses})
    OR typeof(objective) NOT IN ('real', 'integer', 'null') OR typeof(feasible) != 'integer' OR feasible NOT IN (0, 1)
    OR (feasible = 1 AND objective IS NULL) OR typeof(time_s) NOT IN ('real', 'integer')
    OR typeof(message) != 'text' OR typeof(version) != 'text' OR typeof(spec_hash) != 'text'
    OR typeof(point) != 'text' OR typeof(instance) != 'text' OR typeof(options) != 'text'
    OR typeof(metrics) != 'text' OR typeof(trace) != 'text' LIMIT 1"""
#: The JSON columns and the kind each holds (Python's reader: a sweep writes NaN and Infinity in a trace,
#: which SQLite's ``json_valid`` refuses).
_JSON_COLUMNS = {"point": dict, "instance": dict, "options": dict, "metrics": dict, "trace": list}


def _check_intact(con: sqlite3.Connection, path: Path) -> None:
    """Refuse a store whose file is damaged (SQLite's ``quick_check``) or holds a row no sweep wrote
    (:data:`_DAMAGED_ROW`, JSON that does not parse to its kind), before anything reads or writes its rows.
    Reads only."""
    problems = [r[0] for r in con.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        _refuse(path, f"a damaged results store (SQLite: {problems[0]}); refusing to touch it")
    bad = con.execute(_DAMAGED_ROW.format(statuses=", ".join(f"'{s}'" for s in STATUSES))).fetchone()
    if bad is None:
        for key, *texts in con.execute(f"SELECT key, {', '.join(_JSON_COLUMNS)} FROM results"):
            try:
                if not all(isinstance(json.loads(t), kind) for t, kind in zip(texts, _JSON_COLUMNS.values())):
                    raise ValueError
            except ValueError:
                bad = (key,)
                break
    if bad is not None:
        _refuse(path, f"a damaged results store (row {str(bad[0])[:40]!r} is not one a sweep writes); "
                      "refusing to touch it")


def _read_meta(path: Path) -> dict:
    """The ``meta`` table of an existing store; refuse anything else (a damaged store too) without
    writing to it."""
    with open(path, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        _refuse(path, "not a semalloc results store (not an SQLite file); refusing to touch it")
    try:
        # read-write so that a store left by a killed sweep (a WAL to recover) opens; only read here
        con = sqlite3.connect(path, timeout=30)
        try:
            if not con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                _refuse(path, "an SQLite file with no tables, not a semalloc results store (a sweep killed while "
                              "creating it, before 2026-12-07? delete it); refusing to touch it")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
            if meta.get("format") != FORMAT:
                _refuse(path, "an SQLite file but not a semalloc results store; refusing to touch it")
            if meta.get("version") not in ("2", VERSION):
                _refuse(path, f"results store version {meta.get('version')!r}, this semalloc reads '2' and "
                              f"{VERSION!r}; re-run the sweep into a new file")
            if set(cols) != set(COLUMNS if meta["version"] == VERSION else _V2_COLUMNS):
                _refuse(path, "a semalloc results store with unknown columns; refusing to touch it")
            if meta["version"] == VERSION:
                _check_intact(con, path)
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        _refuse(path, f"not a semalloc results store ({e}); refusing to touch it")
    try:
        spec = json.loads(meta["spec"]) if isinstance(meta.get("spec"), str) else None
    except ValueError:
        spec = None
    if not isinstance(spec, dict):
        _refuse(path, "a semalloc results store whose recorded spec is damaged or missing; refusing to touch it")
    try:
        stored_spec(spec)
    except InputError as e:
        _refuse(path, f"a semalloc results store whose recorded spec is damaged ({e}); refusing to touch it")
    return meta


def stored_spec(raw: dict) -> SweepSpec:
    """The spec a store recorded (``meta.spec``), read back without its code: no
    plugin is imported, no algorithm checked (:func:`~semalloc.experiments.spec.parse_spec` ``stored``)."""
    return parse_spec({k: v for k, v in raw.items() if v not in ({}, "")}, check_generator=False, stored=True)


def _create(con: sqlite3.Connection, table: str = "results") -> None:
    cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
    con.execute(f"CREATE TABLE {table} ({cols})")


def _migrate(con: sqlite3.Connection, meta: dict) -> int:
    """Rewrite a format-2 store as format 3 in one transaction: each row gets its
    task's key from the spec in ``meta`` (format 2 held one spec's rows); its
    ``version`` is ``unknown``. Rows that are one task (an algorithm that does not
    take the option a point varies) are kept once. Returns the rows kept."""
    spec = stored_spec(json.loads(meta["spec"]))
    old = con.execute(f"SELECT {', '.join(_V2_COLUMNS)} FROM results ORDER BY point, seed, algorithm").fetchall()
    values = []
    for r in old:
        row = dict(zip(_V2_COLUMNS, r))
        point = json.loads(row["point"])
        values.append((spec.task_key(point, row["seed"], row["algorithm"]), row["point"], row["seed"],
                       row["algorithm"], json.dumps(spec.instance(point), sort_keys=True),
                       json.dumps(spec.algorithm_options(point, row["algorithm"]), sort_keys=True),
                       row["status"], row["objective"], row["feasible"], row["time_s"], row["spec_hash"],
                       row["message"], row["metrics"], row["trace"], "unknown"))
    isolation, con.isolation_level = con.isolation_level, None     # DDL inside our own transaction
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            _create(con, "results_v3")
            con.executemany(f"INSERT OR IGNORE INTO results_v3 VALUES ({', '.join('?' * len(COLUMNS))})", values)
            con.execute("DROP TABLE results")
            con.execute("ALTER TABLE results_v3 RENAME TO results")
            con.execute("UPDATE meta SET value = ? WHERE key = 'version'", (VERSION,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.isolation_level = isolation
    meta["version"] = VERSION
    return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]


class ResultsStore:
    """An open results store (a context manager).

    ``migrated``: when opening converted a format-2 store, what was done (a line for the user).
    """

    def __init__(self, con: sqlite3.Connection, path: Path, meta: dict, writer: SweepSpec | None = None,
                 lock: _Lock | None = None, migrated: str = ""):
        self.con, self.path, self.meta, self.writer, self.lock = con, path, meta, writer, lock
        self.migrated = migrated

    @property
    def writable(self) -> bool:
        return self.writer is not None

    @classmethod
    def open(cls, path: str | Path, spec: SweepSpec | None = None) -> "ResultsStore":
        """Open ``path`` to write the tasks of ``spec`` (create it if missing), or for reading
        when ``spec`` is None.

        Refuses (:class:`InputError`) a file that is not a results store. A
        format-2 store is migrated in place to write; to read, it is
        converted in memory and the file is not touched.
        """
        path = Path(path)
        if path.is_symlink():                           # one file, one lock, whatever name reaches it
            path = path.resolve()
        if path.is_dir():
            _refuse(path, "is a directory, not a results store; name a file")
        exists = path.exists() and path.stat().st_size > 0
        if spec is None:
            if not exists:
                _refuse(path, "results store not found")
            meta = _read_meta(path)
            con = sqlite3.connect(path, timeout=30)
            if meta["version"] != VERSION:                   # format 2: read a converted copy
                mem = sqlite3.connect(":memory:")
                con.backup(mem)
                con.close()
                con = mem
                _migrate(con, meta)
            return cls(con, path, meta)
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

    @staticmethod
    def _create_file(path: Path, latest: dict) -> None:
        """Make an empty store at ``path`` all at once: built beside it under another name, then renamed, so a
        sweep killed meanwhile leaves no file at ``path`` (before, a kill between SQLite's first page and the
        tables' commit left a file no sweep would open)."""
        tmp = path.with_name(f".{path.name}.creating")
        for p in (tmp, tmp.with_name(tmp.name + "-journal")):
            p.unlink(missing_ok=True)                   # a creation killed before (we hold the lock)
        try:
            con = sqlite3.connect(tmp)
            try:
                with con:
                    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                    con.executemany("INSERT INTO meta VALUES (?, ?)",
                                    {"format": FORMAT, "version": VERSION, **latest}.items())
                    _create(con)
            finally:
                con.close()
            os.replace(tmp, path)
        except (OSError, sqlite3.Error) as e:
            tmp.unlink(missing_ok=True)
            _refuse(path, f"cannot create ({getattr(e, 'strerror', None) or e})")
        except BaseException:                           # Ctrl-C meanwhile: no litter beside the store
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def _open_locked(cls, path: Path, spec: SweepSpec, lock: _Lock) -> "ResultsStore":
        latest = {"spec_hash": spec.hash, "spec": json.dumps(spec.to_dict(), sort_keys=True)}
        if not (path.exists() and path.stat().st_size > 0):
            cls._create_file(path, latest)
        meta = _read_meta(path)
        try:
            con = sqlite3.connect(path, timeout=30)
        except sqlite3.Error as e:
            _refuse(path, f"cannot open ({e})")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        migrated = ""
        if meta["version"] != VERSION:
            n = _migrate(con, meta)
            migrated = (f"{path}: migrated the results store from format 2 to {VERSION} in place "
                        f"({n} rows kept; their semalloc version is recorded as unknown)")
        with con:
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", latest.items())   # the last spec written
        meta.update(latest)
        return cls(con, path, meta, writer=spec, lock=lock, migrated=migrated)
    @classmethod
    def discard(cls, path: str | Path) -> None:
        """Delete the results store at ``path`` (``sweep --fresh``), under the lock:
        refused when it is not a results store or another sweep is writing it."""
        path = Path(path)
        if path.is_symlink():                           # the store it names, not the link
            path = path.resolve()
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
        """The last spec written to the store (as a mapping)."""
        return json.loads(self.meta["spec"])

    def done(self) -> set[str]:
        """The keys of the tasks already stored."""
        return {k for (k,) in self.con.execute("SELECT key FROM results")}

    def versions(self, keys: set[str]) -> dict[str, int]:
        """How many of the stored tasks ``keys`` each semalloc version computed."""
        out: dict[str, int] = {}
        for key, version in self.con.execute("SELECT key, version FROM results"):
            if key in keys:
                out[version] = out.get(version, 0) + 1
        return out

    def write(self, rows: list[dict], replace: bool = False) -> None:
        """Store the rows of one instance, all or none (one transaction).

        Each row names its ``point`` (a mapping or its JSON), ``seed`` and
        ``algorithm``; its key, instance and options are those of the spec
        the store was opened for, and its ``version`` this semalloc's unless
        the row says (a worker's). ``replace``: overwrite stored rows of the
        same tasks (``--rerun``); otherwise a stored task is an error.
        """
        spec = self.writer
        values = []
        for r in rows:
            point = json.loads(r["point"]) if isinstance(r["point"], str) else r["point"]
            enc = {"key": spec.task_key(point, r["seed"], r["algorithm"]), "point": point_key(point),
                   "instance": json.dumps(spec.instance(point), sort_keys=True),
                   "options": json.dumps(spec.algorithm_options(point, r["algorithm"]), sort_keys=True),
                   "spec_hash": spec.hash, "feasible": int(r["feasible"]),
                   "metrics": json.dumps(r.get("metrics") or {}, sort_keys=True),
                   "trace": json.dumps(r.get("trace") or []), "version": r.get("version") or __version__}
            values.append(tuple(enc[k] if k in enc else r[k] for k in COLUMNS))
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.con:
            self.con.executemany(f"{verb} INTO results VALUES ({', '.join('?' * len(COLUMNS))})", values)

    def _all(self) -> list[dict]:
        cur = self.con.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY point, seed, algorithm")
        out = []
        for r in cur:
            row = dict(zip(COLUMNS, r))
            for k in ("point", "instance", "options", "metrics", "trace"):
                row[k] = json.loads(row[k])
            row["feasible"] = bool(row["feasible"])
            row["objective"] = float("nan") if row["objective"] is None else row["objective"]
            out.append(row)
        return out

    def rows(self, spec: SweepSpec | None = None) -> list[dict]:
        """Rows as dicts, ordered by point, seed, algorithm.

        With ``spec``: the stored rows of its tasks, each under the spec's
        point (a task that several points share, an algorithm that does not
        take the option a point varies, is given under each). Without: every
        row once, its ``point`` completed by the settings and options that
        are not the same in every row (a fixed setting changed between two
        specs becomes a column of the export).
        """
        rows = self._all()
        if spec is not None:
            stored = {r["key"]: r for r in rows}
            out = [{**stored[k], "point": p} for k, p, s, a in spec.task_list() if k in stored]
            return sorted(out, key=lambda r: (point_key(r["point"]), r["seed"], r["algorithm"]))
        ident = [{**r["instance"]["settings"], **{f"{r['algorithm']}.{k}": v for k, v in r["options"].items()}}
                 for r in rows]
        names = dict.fromkeys(k for d in ident for k in d)
        differ = [k for k in names if len({json.dumps(d.get(k), sort_keys=True) for d, r in zip(ident, rows)
                                          if "." not in k or k.startswith(f"{r['algorithm']}.")}) > 1]
        for r, d in zip(rows, ident):
            r["point"] = {**{k: d[k] for k in differ if k in d}, **r["point"]}
        return rows
