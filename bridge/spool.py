"""The on-disk spool: every accepted webhook is committed here before it is answered.

A row leaves the spool only after the broker acknowledged its publish, so an event
survives a broker outage and a bridge crash. Rows are replayed in arrival order.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from arrsync.sqlitefile import open_sqlite, transaction

LOST = ("Events in it that were not yet published are lost (`sqlite3 FILE .recover` may save "
        "some); the arrs do not send them again.")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    id    TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    body  TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class SpooledEvent:
    id: str
    topic: str
    body: str


class Spool:
    def __init__(self, path: Path) -> None:
        """Open or create the spool; `DatabaseUnusable` names a damaged file and the way out."""
        self.path = path
        self._lock = threading.Lock()
        # open_sqlite syncs fully: a 2xx answer survives a power cut.
        self._db = open_sqlite(path, what="bridge spool", lost=LOST)
        self._db.execute(SCHEMA)

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, for one more table in this file (the dead letters)."""
        with self._lock:
            yield self._db

    def add(self, event: SpooledEvent) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO events (id, topic, body) VALUES (?, ?, ?)",
                (event.id, event.topic, event.body),
            )

    def remove(self, ids: Iterable[str]) -> None:
        with self._lock, transaction(self._db):
            self._db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])

    def after(self, seq: int, limit: int) -> list[tuple[int, SpooledEvent]]:
        """Up to `limit` events that came after sequence number `seq`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, topic, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [(row[0], SpooledEvent(*row[1:])) for row in rows]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
