"""The durable job store (sqlite3): jobs survive crashes, and events are de-duplicated.

An event's id is committed together with its jobs, in one transaction, before the MQTT
message is acknowledged: a redelivered event finds its id here and creates nothing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

from arrsync.sqlitefile import open_sqlite, transaction
from arrsync.wire import ACTIVE, FINISHED, JobAction, JobState
from syncer.jobs import Job
from syncer.storehealth import LOST

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    trigger TEXT, app TEXT, instance TEXT, title TEXT, download_id TEXT,
    mapping TEXT NOT NULL,
    paths TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
    error TEXT, bytes INTEGER NOT NULL, files INTEGER NOT NULL, duration_s REAL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, next_attempt_at REAL NOT NULL,
    held INTEGER NOT NULL,
    series TEXT,
    episodes TEXT NOT NULL DEFAULT '[]',
    action TEXT NOT NULL DEFAULT 'copy',
    replaced TEXT NOT NULL DEFAULT '[]',
    renames TEXT NOT NULL DEFAULT '[]',
    on_hold INTEGER NOT NULL DEFAULT 0,
    released INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, at REAL NOT NULL);
"""

_COLUMNS = [f.name for f in fields(Job)]
_JSON_COLUMNS = ("paths", "episodes", "replaced", "renames")
_BOOL_COLUMNS = ("held", "on_hold", "released")
# Columns added since the first release, for stores written by an older syncer.
_ADDED_COLUMNS = {
    "series": "TEXT", "episodes": "TEXT NOT NULL DEFAULT '[]'",
    "action": "TEXT NOT NULL DEFAULT 'copy'", "replaced": "TEXT NOT NULL DEFAULT '[]'",
    "renames": "TEXT NOT NULL DEFAULT '[]'", "on_hold": "INTEGER NOT NULL DEFAULT 0",
    "released": "INTEGER NOT NULL DEFAULT 0",
}


def _at_or_below(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def _row(job: Job) -> tuple[object, ...]:
    values = []
    for name in _COLUMNS:
        value = getattr(job, name)
        if name in _JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False)
        elif name in ("state", "action"):
            value = str(value)
        elif name in _BOOL_COLUMNS:
            value = int(value)
        values.append(value)
    return tuple(values)


def _job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data["paths"] = json.loads(data["paths"])
    data["episodes"] = [tuple(pair) for pair in json.loads(data["episodes"])]
    data["replaced"] = json.loads(data["replaced"])
    data["renames"] = [tuple(pair) for pair in json.loads(data["renames"])]
    data["state"] = JobState(data["state"])
    data["action"] = JobAction(data["action"])
    for name in _BOOL_COLUMNS:
        data[name] = bool(data[name])
    return Job(**data)


class JobStore:
    def __init__(self, path: Path) -> None:
        """Open or create the store; `DatabaseUnusable` names a damaged file and the way out."""
        self.path = path
        self._lock = threading.RLock()
        self._db = open_sqlite(path, what="job store", lost=LOST)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writes ------------------------------------------------------------------------------
    def add(self, event_id: str | None, jobs: Iterable[Job], now: float) -> bool:
        """Commit an event's jobs; False (and nothing written) if the event was seen before."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if event_id is not None:
                    inserted = self._db.execute(
                        "INSERT OR IGNORE INTO events (id, at) VALUES (?, ?)", (event_id, now)
                    ).rowcount
                    if not inserted:
                        self._db.execute("ROLLBACK")
                        return False
                placeholders = ", ".join("?" for _ in _COLUMNS)
                self._db.executemany(
                    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
                    [_row(job) for job in jobs],
                )
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # keep the error that matters
                    self._db.execute("ROLLBACK")
                raise
        return True

    def save(self, job: Job) -> None:
        assignments = ", ".join(f"{name} = ?" for name in _COLUMNS if name != "id")
        values = [v for name, v in zip(_COLUMNS, _row(job), strict=True) if name != "id"]
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?",  # noqa: S608
                             (*values, job.id))

    def recover_interrupted(self, keep: Iterable[str] = ()) -> list[Job]:
        """Jobs a crash (or a store that failed mid-attempt) left running go back to the
        queue, except those in `keep` (still running); the lost attempt is not counted."""
        kept = set(keep)
        with self._lock:
            rows = [row for row in self._db.execute("SELECT * FROM jobs WHERE state = ?",
                                                    (JobState.STARTED.value,)).fetchall()
                    if row["id"] not in kept]
            self._db.executemany(
                "UPDATE jobs SET state = ?, attempt = max(attempt - 1, 0) WHERE id = ?",
                [(JobState.QUEUED.value, row["id"]) for row in rows],
            )
        return [_job(row) for row in rows]

    def probe(self) -> None:
        """A real write (a full disk refuses it), that changes nothing else."""
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            self._db.execute("INSERT OR REPLACE INTO events (id, at) VALUES (?, 0)",
                             ("\0store-probe",))

    def prune(self, finished_before: float) -> int:
        states = [s.value for s in FINISHED]
        with self._lock:
            removed = self._db.execute(
                "DELETE FROM jobs WHERE updated_at < ? AND state IN (?, ?, ?)",
                (finished_before, *states),
            ).rowcount
            self._db.execute("DELETE FROM events WHERE at < ?", (finished_before,))
        return removed

    # -- reads -------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def due(self, now: float, limit: int, exclude: Iterable[str] = ()) -> list[Job]:
        skip = set(exclude)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE state IN (?, ?) AND next_attempt_at <= ? "
                "AND on_hold = 0 ORDER BY next_attempt_at, created_at LIMIT ?",
                (JobState.QUEUED.value, JobState.RETRYING.value, now, limit + len(skip)),
            ).fetchall()
        return [job for job in map(_job, rows) if job.id not in skip][:limit]

    def next_due_at(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_attempt_at) FROM jobs WHERE state IN (?, ?) AND on_hold = 0",
                (JobState.QUEUED.value, JobState.RETRYING.value),
            ).fetchone()
        return row[0]

    def claimed_paths(self, mapping: str, succeeded_since: float) -> dict[str, str]:
        """Relative path → job id, for active jobs and jobs that succeeded since the time.

        Only jobs that bring a path to the destination claim it; a later recycle of the
        path (or of a folder above it) clears the claim, so a re-import is copied again.
        """
        states = [s.value for s in ACTIVE]
        with self._lock:
            rows = self._db.execute(
                "SELECT id, paths, action FROM jobs WHERE mapping = ? AND (state IN (?, ?, ?) "
                "OR (state = ? AND updated_at >= ?)) ORDER BY updated_at",
                (mapping, *states, JobState.SUCCEEDED.value, succeeded_since),
            ).fetchall()
        claimed: dict[str, str] = {}
        for row in rows:
            paths = json.loads(row["paths"])
            if row["action"] != JobAction.RECYCLE.value:
                claimed.update((path, row["id"]) for path in paths)
                continue
            for path in [p for p in claimed if any(_at_or_below(p, gone) for gone in paths)]:
                del claimed[path]
        return claimed

    def removals_since(self, since: float) -> dict[str, int]:
        """Recycle jobs that succeeded since the time → how many paths each removed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, paths FROM jobs WHERE action = ? AND state = ? AND updated_at >= ?",
                (JobAction.RECYCLE.value, JobState.SUCCEEDED.value, since),
            ).fetchall()
        return {row["id"]: len(json.loads(row["paths"])) for row in rows}

    def on_hold_count(self, since: float = 0.0) -> int:
        """Jobs the circuit breaker holds (put on hold since the time)."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM jobs WHERE on_hold = 1 AND state = ? AND updated_at >= ?",
                (JobState.RETRYING.value, since)).fetchone()
        return int(row[0])

    def recent(self, limit: int = 20, state: JobState | None = None,
               on_hold: bool = False) -> list[Job]:
        query, args = "SELECT * FROM jobs WHERE 1 = 1", []
        if state:
            query += " AND state = ?"
            args.append(state.value)
        if on_hold:
            query += " AND on_hold = 1"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY updated_at DESC LIMIT ?",
                                    (*args, limit)).fetchall()
        return [_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
        return {row[0]: row[1] for row in rows}
