"""What catch-up remembers, in the spool's database: where each arr's history was read up to,
which history records were handled, and which files arrived by webhook.

Its own connection with `synchronous=NORMAL`: losing the last writes to a power cut costs at
most a replay the syncer de-duplicates, never an import, so webhooks need not wait for an
fsync here. Times are Unix seconds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from arrsync.sqlitefile import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS catch_up_cursor (
    arr   TEXT PRIMARY KEY,
    since REAL NOT NULL,  -- the newest history date read (the arrs write whole seconds)
    floor REAL NOT NULL   -- the first read ever: older imports are not replayed
);
CREATE TABLE IF NOT EXISTS catch_up_seen (
    arr  TEXT NOT NULL,
    id   INTEGER NOT NULL,
    date REAL NOT NULL,
    PRIMARY KEY (arr, id)
);
CREATE TABLE IF NOT EXISTS imports_received (
    path TEXT PRIMARY KEY,
    at   REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Cursor:
    since: float
    floor: float


class CatchUpLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Serialises use of the one connection (sqlite3 objects are not thread-safe).
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the history cursor of each arr ---------------------------------------------------------
    def cursor(self, arr: str, now: float) -> Cursor:
        """Where to read from; the first time for this arr, from `now` on."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO catch_up_cursor (arr, since, floor) "
                             "VALUES (?, ?, ?)", (arr, now, now))
            since, floor = self._db.execute(
                "SELECT since, floor FROM catch_up_cursor WHERE arr = ?", (arr,)).fetchone()
        return Cursor(since, floor)

    def seen_ids(self, arr: str) -> set[int]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM catch_up_seen WHERE arr = ?", (arr,))
            return {row[0] for row in rows}

    def handled(self, arr: str, records: Iterable[tuple[int, float]], path: str,
                now: float) -> None:
        """History records (id, date) are dealt with; their file counts as received."""
        with self._lock, transaction(self._db):
            self._db.executemany("INSERT OR IGNORE INTO catch_up_seen (arr, id, date) "
                                 "VALUES (?, ?, ?)", [(arr, i, d) for i, d in records])
            self._db.execute("INSERT OR REPLACE INTO imports_received (path, at) VALUES (?, ?)",
                             (path, now))

    def advance(self, arr: str, since: float, keep_seen_after: float) -> None:
        """Move the cursor forward; forget handled ids older than the re-read overlap."""
        with self._lock, transaction(self._db):
            self._db.execute("UPDATE catch_up_cursor SET since = max(since, ?) WHERE arr = ?",
                             (since, arr))
            self._db.execute("DELETE FROM catch_up_seen WHERE arr = ? AND date < ?",
                             (arr, keep_seen_after))

    # -- files that came by webhook ---------------------------------------------------------------
    def received(self, imports: Iterable[tuple[str, float]]) -> None:
        """Files (path, when) whose import came by webhook."""
        with self._lock, transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO imports_received (path, at) "
                                 "VALUES (?, ?)", imports)

    def received_since(self, path: str, since: float) -> bool:
        """Did an import of `path` arrive (or was it replayed) at `since` or later?"""
        with self._lock:
            row = self._db.execute("SELECT at FROM imports_received WHERE path = ?",
                                   (path,)).fetchone()
        return row is not None and row[0] >= since

    def forget_received(self, before: float) -> None:
        with self._lock:
            self._db.execute("DELETE FROM imports_received WHERE at < ?", (before,))
