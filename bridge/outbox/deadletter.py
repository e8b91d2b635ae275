"""Dead letters: spooled events the broker would not take, set aside so the rest can flow.

An event the broker refuses (a failure PUBACK: ACL, size) or that makes it drop the
connection each time it is sent alone would otherwise be sent again at every reconnect and
block every later event. It moves, in one transaction, from the spool's `events` table to
`dead_letters` in the same file, with the reason. Nothing re-sends it by itself;
`arrsync-bridge --resend-dead-letters` puts them back in the queue once the cause is fixed.
"""

from __future__ import annotations

import time

from arrsync.sqlitefile import transaction
from bridge.outbox.spool import Spool

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id     TEXT PRIMARY KEY,
    topic  TEXT NOT NULL,
    body   TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     REAL NOT NULL
)
"""
RESEND_HINT = ("it is kept in the dead_letters table of the spool; once the cause is fixed, "
               "`arrsync-bridge --resend-dead-letters` sends it again")


class DeadLetters:
    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        with spool.locked() as db:
            db.execute(SCHEMA)

    def bury(self, event_id: str, reason: str) -> bool:
        """Move an event from the queue to the dead letters; False if it was not queued."""
        with self._spool.locked() as db, transaction(db):
            moved = db.execute(
                "INSERT OR REPLACE INTO dead_letters (id, topic, body, reason, at) "
                "SELECT id, topic, body, ?, ? FROM events WHERE id = ?",
                (reason, time.time(), event_id),
            ).rowcount
            db.execute("DELETE FROM events WHERE id = ?", (event_id,))
        return bool(moved)

    def count(self) -> int:
        with self._spool.reading() as reader:
            return int(reader.execute("SELECT count(*) FROM dead_letters").fetchone()[0])

    def resend(self) -> int:
        """Queue every dead letter again, behind the events already waiting."""
        with self._spool.locked() as db, transaction(db):
            moved = db.execute(
                "INSERT OR IGNORE INTO events (id, topic, body) "
                "SELECT id, topic, body FROM dead_letters ORDER BY at"
            ).rowcount
            db.execute("DELETE FROM dead_letters")
        return int(moved)
