"""Opening the SQLite files the processes keep (the bridge's spool, the syncer's job store)
so that a damaged or unreachable file stops the process with its path and what to do,
never with a traceback."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


class DatabaseUnusable(Exception):
    """A SQLite file cannot be used; the message names it and says what to do."""


def damaged(what: str, path: Path, detail: str, lost: str) -> str:
    """The sentence for a damaged file: which, why, how to recover, what is lost."""
    return (f"the {what} {path} is damaged ({detail}). Stop the process, move the file aside "
            f"(mv '{path}' '{path}.damaged') and start again; a new, empty one is created. "
            f"{lost}")


def open_sqlite(path: Path, *, what: str, lost: str) -> sqlite3.Connection:
    """Open or create `path` (WAL, full syncs: a committed row survives a power cut) and
    check that it is a sound database. `what` names it, `lost` says what moving it loses."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnusable(f"cannot create the folder of the {what} {path}: "
                               f"{exc.strerror}") from None
    db = None
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if db is not None:
            db.close()
        if "locked" in str(exc):
            hint = "is another process using the same file?"
        else:
            hint = "check that the file and its folder exist and are writable by this user"
        raise DatabaseUnusable(f"cannot open the {what} {path} ({exc}): {hint}") from None
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise DatabaseUnusable(damaged(what, path, str(exc), lost)) from None
    if verdict != "ok":
        db.close()
        raise DatabaseUnusable(damaged(what, path, f"integrity check: {verdict}", lost))
    return db


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[sqlite3.Connection]:
    """One transaction on an autocommit connection: committed, or rolled back on any error
    (a transaction left open would silently swallow every later write)."""
    db.execute(begin)
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
