"""The on-disk spool: every accepted webhook is committed here before it is answered.

A row leaves the spool only after the broker acknowledged its publish, so an event
survives a broker outage and a bridge crash. Rows are replayed in arrival order.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a 2xx answer must survive a power cut
        self._db.execute(SCHEMA)

    def add(self, event: SpooledEvent) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO events (id, topic, body) VALUES (?, ?, ?)",
                (event.id, event.topic, event.body),
            )

    def remove(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
            self._db.execute("COMMIT")

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
