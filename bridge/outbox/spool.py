"""The on-disk spool: every accepted webhook is committed here before it is answered.

A row leaves the spool only after the broker acknowledged its publish, so an event
survives a broker outage and a bridge crash. Rows are replayed in arrival order.

Group commit: every commit syncs fully (an fsync), and the requests that arrive while one
commit runs share the next one: one transaction, one fsync, for all of them. The request
that finds no commit running commits; the others wait on their own event, and the committer
hands on to the first of them (no lock convoy). Each request still gets its own outcome (a
duplicate id fails only its own insert). Removals of delivered events ride along; their
caller waits for them too, so the relay never reads a row it removed.

A drained backlog gives its space back: SQLite keeps a file at its largest, so when a
removal leaves the spool empty with `SHRINK_PAGES` free pages or more in the file (a long
broker outage drained), the file is compacted (`VACUUM`, the WAL truncated).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from arrsync.sqlitefile import open_sqlite

log = logging.getLogger(__name__)

SHRINK_PAGES = 1024  # free pages (4 KiB each) an empty spool may keep before it compacts
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


class _Ticket:
    """An event waiting for the commit that stores it (or removals, with no event)."""

    def __init__(self, event: SpooledEvent | None) -> None:
        self.event = event
        self.woken = threading.Event()  # stored (done), or asked to commit for everyone
        self.done = False
        self.error: sqlite3.Error | None = None


class Spool:
    def __init__(self, path: Path) -> None:
        """Open or create the spool; `DatabaseUnusable` names a damaged file and the way out."""
        self.path = path
        # open_sqlite syncs fully: a 2xx answer survives a power cut.
        self._db = open_sqlite(path, what="bridge spool", lost=LOST)
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()  # guards the connection (held while it commits)
        # Reads have their own connection: they never wait behind a commit's fsync (WAL
        # lets them read the last committed state meanwhile).
        self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._read_lock = threading.Lock()  # guards the reader connection
        # Guards _pending, _removals and _committing (no I/O under it).
        self._queue_lock = threading.Lock()
        self._pending: list[_Ticket] = []
        self._removals: list[str] = []
        self._committing = False  # one request commits at a time, for all who wait

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, for one more table in this file (the dead letters)."""
        with self._lock:
            yield self._db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The reader connection: sees the last commit, never waits behind one's fsync."""
        with self._read_lock:
            yield self._reader

    def add(self, event: SpooledEvent) -> None:
        """Return once the event is committed; sqlite3.Error if it cannot be (IntegrityError:
        an event with its id is spooled already)."""
        self._commit_with(_Ticket(event))

    def remove(self, ids: Iterable[str]) -> None:
        """Forget delivered events; return once that is committed."""
        self._commit_with(_Ticket(None), ids)

    def _commit_with(self, ticket: _Ticket, removals: Iterable[str] = ()) -> None:
        with self._queue_lock:
            self._pending.append(ticket)
            self._removals.extend(removals)
            leading, self._committing = not self._committing, True
        if not leading:
            ticket.woken.wait()  # the running commit hands on to us, or stores us
        if not ticket.done:
            self._lead()
        if ticket.error:
            raise ticket.error

    def _lead(self) -> None:
        """Commit everything queued in one transaction, then wake the next request that
        waits to commit the ones that came meanwhile, or stand down."""
        with self._queue_lock:
            tickets, self._pending = self._pending, []
            removals, self._removals = self._removals, []
        error: sqlite3.Error | None = None
        with self._lock:
            try:
                self._db.execute("BEGIN")
                for ticket in tickets:
                    if ticket.event:
                        ticket.error = self._insert(ticket.event)
                removed = self._db.executemany("DELETE FROM events WHERE id = ?",
                                               [(i,) for i in removals]).rowcount
                self._db.execute("COMMIT")
                if removed > 0:
                    self._shrink_if_drained()
            except sqlite3.Error as exc:
                error = exc
                with suppress(sqlite3.Error):  # nothing began, or it is closed
                    self._db.execute("ROLLBACK")
        for ticket in tickets:
            ticket.error, ticket.done = error or ticket.error, True
            ticket.woken.set()
        with self._queue_lock:
            if error:  # removals are tried again with a later commit
                self._removals[:0] = removals
            successor = self._pending[0] if self._pending else None
            self._committing = successor is not None
        if successor:
            successor.woken.set()

    def _shrink_if_drained(self) -> None:
        """Compact the file if it is empty of events and mostly free pages (under the lock)."""
        if self._db.execute("SELECT 1 FROM events LIMIT 1").fetchone():
            return
        if self._db.execute("PRAGMA freelist_count").fetchone()[0] < SHRINK_PAGES:
            return
        try:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # busy: the next drained backlog tries again
            log.info("the spool was not compacted now: %s", exc)

    def _insert(self, event: SpooledEvent) -> sqlite3.IntegrityError | None:
        """One row; a duplicate id fails this insert alone, not the transaction."""
        try:
            self._db.execute("INSERT INTO events (id, topic, body) VALUES (?, ?, ?)",
                             (event.id, event.topic, event.body))
        except sqlite3.IntegrityError as exc:
            return exc
        return None

    def after(self, seq: int, limit: int) -> list[tuple[int, SpooledEvent]]:
        """Up to `limit` events that came after sequence number `seq`, oldest first."""
        with self.reading() as reader:
            rows = reader.execute(
                "SELECT seq, id, topic, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [(row[0], SpooledEvent(*row[1:])) for row in rows]

    def count(self) -> int:
        with self.reading() as reader:
            return int(reader.execute("SELECT count(*) FROM events").fetchone()[0])

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()
