"""The durable job store (sqlite3): jobs survive crashes, and events are de-duplicated.

An event's id is committed together with its jobs, in one transaction, before the MQTT
message is acknowledged: a redelivered event finds its id here and creates nothing. A
drained batch of messages shares one transaction (one fsync). Each job's paths are also
rows of `claims`, indexed, so "who already has this path" never reads every job's JSON.
Reads have their own connection and never wait behind a commit.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path

from arrsync.sqlitefile import open_sqlite, transaction
from arrsync.units import ancestors
from arrsync.wire.job import ACTIVE, FINISHED, JobAction, JobState
from syncer.jobs.health import LOST
from syncer.jobs.job import Job
from syncer.jobs.sums import COUNTS, ensure_sums

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
CREATE INDEX IF NOT EXISTS jobs_updated ON jobs (updated_at);
CREATE INDEX IF NOT EXISTS jobs_state_updated ON jobs (state, updated_at);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    mapping TEXT NOT NULL, path TEXT NOT NULL, job TEXT NOT NULL,
    PRIMARY KEY (mapping, path, job)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claims_job ON claims (job);
"""
# A store from before the claims table: its jobs' paths become claims once.
BACKFILL_CLAIMS = """
INSERT OR IGNORE INTO claims (mapping, path, job)
SELECT jobs.mapping, each.value, jobs.id FROM jobs, json_each(jobs.paths) AS each
WHERE jobs.mapping != ''
"""
log = logging.getLogger(__name__)

VACUUM_AFTER = 1000  # pruned jobs (and a quarter of those left) before the file is compacted
MAX_VARIABLES = 900  # per statement, well below SQLite's limit
_OWNERS = (
    "SELECT claims.path, claims.job, jobs.action, jobs.updated_at "
    "FROM claims JOIN jobs ON jobs.id = claims.job "
    "WHERE claims.mapping = ? AND claims.path IN ({paths}) "
    "AND (jobs.state IN (?, ?, ?) OR (jobs.state = ? AND jobs.updated_at >= ?))"
)

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


def at_or_below(path: str, folder: str) -> bool:
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
        self._lock = threading.RLock()  # guards the writer connection (held while it commits)
        self._db = open_sqlite(path, what="job store", lost=LOST)
        self._db.row_factory = sqlite3.Row
        had_claims = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'").fetchone()
        self._db.executescript(SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {declaration}")
        if not had_claims:
            self._db.execute(BACKFILL_CLAIMS)
        ensure_sums(self._db)  # per day and per state, kept by triggers (sums.py)
        self._read_lock = threading.Lock()  # guards the reader connection
        self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._reader.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def _read(self, query: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            return self._reader.execute(query, args).fetchall()

    # -- writes ------------------------------------------------------------------------------
    def add(self, event_id: str | None, jobs: Iterable[Job], now: float) -> bool:
        """Commit an event's jobs; False (and nothing written) if the event was seen before."""
        return self.add_many([(event_id, list(jobs))], now)[0]

    def add_many(self, entries: Sequence[tuple[str | None, list[Job]]], now: float
                 ) -> list[bool]:
        """Commit several events' jobs in one transaction; for each, False if it was seen
        before (its jobs are not written). All or nothing: on an error nothing is stored."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        stored: list[bool] = []
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            for event_id, jobs in entries:
                if event_id is not None and not self._db.execute(
                    "INSERT OR IGNORE INTO events (id, at) VALUES (?, ?)", (event_id, now)
                ).rowcount:
                    stored.append(False)
                    continue
                self._db.executemany(
                    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
                    [_row(job) for job in jobs],
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO claims (mapping, path, job) VALUES (?, ?, ?)",
                    [(job.mapping, path, job.id) for job in jobs if job.mapping
                     for path in job.paths],
                )
                stored.append(True)
        return stored

    def save_many(self, jobs: Sequence[Job]) -> None:
        """Save the jobs' current fields in one transaction."""
        assignments = ", ".join(f"{name} = ?" for name in _COLUMNS if name != "id")
        rows = [(*(v for name, v in zip(_COLUMNS, _row(job), strict=True) if name != "id"),
                 job.id) for job in jobs]
        with self._lock, transaction(self._db):
            self._db.executemany(f"UPDATE jobs SET {assignments} WHERE id = ?", rows)  # noqa: S608

    def started(self) -> list[Job]:
        """Jobs stored as started: running now, or left so by a crash."""
        return [_job(row) for row in self._read("SELECT * FROM jobs WHERE state = ?",
                                                (JobState.STARTED.value,))]

    def probe(self) -> None:
        """A real write (a full disk refuses it), that changes nothing else."""
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            self._db.execute("INSERT OR REPLACE INTO events (id, at) VALUES (?, 0)",
                             ("\0store-probe",))

    def prune(self, finished_before: float) -> int:
        states = [s.value for s in FINISHED]
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            self._db.execute(
                "DELETE FROM claims WHERE job IN (SELECT id FROM jobs WHERE updated_at < ? "
                "AND state IN (?, ?, ?))", (finished_before, *states))
            removed = self._db.execute(
                "DELETE FROM jobs WHERE updated_at < ? AND state IN (?, ?, ?)",
                (finished_before, *states),
            ).rowcount
            self._db.execute("DELETE FROM events WHERE at < ?", (finished_before,))
            left = self._db.execute("SELECT count(*) FROM jobs").fetchone()[0]
        if removed >= max(VACUUM_AFTER, left // 4):  # give the space back to the disk
            try:
                with self._lock:
                    self._db.execute("VACUUM")
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as exc:  # busy: the next prune tries again
                log.info("the job store was not compacted now: %s", exc)
        return removed

    # -- reads -------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        rows = self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def has_event(self, event_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM events WHERE id = ?", (event_id,)))

    def active(self) -> list[Job]:
        """Every job that waits for an attempt (queued or retrying), in the order they arrived."""
        rows = self._read(
            "SELECT * FROM jobs WHERE state IN (?, ?) ORDER BY created_at, rowid",
            (JobState.QUEUED.value, JobState.RETRYING.value))
        return [_job(row) for row in rows]

    def owners(self, mapping: str, paths: Iterable[str], succeeded_since: float
               ) -> dict[str, str]:
        """Path → job id for each of `paths` and the folders above them that an active job
        has, or a job that succeeded since the time.

        Only jobs that bring a path to the destination claim it; a later recycle of the
        path (or of a folder above it) clears the claim, so a re-import is copied again.
        """
        wanted: set[str] = set()
        for path in paths:
            wanted.update(ancestors(path))
        candidates = sorted(wanted)
        rows: list[sqlite3.Row] = []
        states = [s.value for s in ACTIVE]
        for start in range(0, len(candidates), MAX_VARIABLES):
            chunk = candidates[start:start + MAX_VARIABLES]
            query = _OWNERS.format(paths=", ".join("?" * len(chunk)))
            rows += self._read(
                query, (mapping, *chunk, *states, JobState.SUCCEEDED.value, succeeded_since))
        claimed: dict[str, str] = {}
        for path, job, action, _at in sorted(rows, key=lambda row: row["updated_at"]):
            if action != JobAction.RECYCLE.value:
                claimed[path] = job
                continue
            for held in [p for p in claimed if at_or_below(p, path)]:
                del claimed[held]
        return claimed

    def removals_since(self, since: float) -> dict[str, int]:
        """Recycle jobs that succeeded since the time → how many paths each removed."""
        rows = self._read(
            "SELECT id, paths FROM jobs WHERE action = ? AND state = ? AND updated_at >= ?",
            (JobAction.RECYCLE.value, JobState.SUCCEEDED.value, since))
        return {row["id"]: len(json.loads(row["paths"])) for row in rows}

    def on_hold_count(self, since: float = 0.0) -> int:
        """Jobs the circuit breaker holds (put on hold since the time)."""
        rows = self._read(
            "SELECT count(*) FROM jobs WHERE on_hold = 1 AND state = ? AND updated_at >= ?",
            (JobState.RETRYING.value, since))
        return int(rows[0][0])

    def recent(self, limit: int = 20, state: JobState | None = None,
               on_hold: bool = False) -> list[Job]:
        query, args = "SELECT * FROM jobs WHERE 1 = 1", []
        if state:
            query += " AND state = ?"
            args.append(state.value)
        if on_hold:
            query += " AND on_hold = 1"
        rows = self._read(query + " ORDER BY updated_at DESC LIMIT ?", (*args, limit))
        return [_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        rows = self._read(COUNTS)
        return {row[0]: row[1] for row in rows}
