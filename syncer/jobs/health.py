"""Whether the job store can be written, and what the syncer does while it cannot.

A message is acknowledged to the broker only once its jobs are stored. While the store cannot
be written (a full disk, a damaged file), intake keeps its message unacknowledged (the broker
keeps it, and redelivers it after a restart), the scheduler starts nothing, and both try
again every `RETRY_S`. The change is said once each way: a log line with the file and the
way out, an alert on `<base>/syncer/alert`, and the retained `<base>/syncer/state`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from arrsync.sqlitefile import damaged

log = logging.getLogger(__name__)

RETRY_S = 2.0
LOST = ("Its job history and the jobs not yet done are lost: sync those imports again "
        "(`arrsync-syncer trigger PATH`).")


def is_store_failure(exc: BaseException) -> bool:
    """A store that cannot be used (disk full, I/O error, damaged, locked), not a bug in a
    query (IntegrityError, ProgrammingError), which no waiting would fix."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class StoreHealth:
    def __init__(self, path: Path, on_change: Callable[[str | None], None]) -> None:
        self._path = path
        self._on_change = on_change
        self._lock = threading.Lock()  # guards problem
        self.problem: str | None = None

    @property
    def failing(self) -> bool:
        with self._lock:
            return self.problem is not None

    def failed(self, exc: BaseException) -> None:
        if type(exc) is sqlite3.DatabaseError:
            problem = damaged("job store", self._path, str(exc), LOST)
        else:
            problem = (f"cannot write the job store {self._path} ({exc}): new events wait at "
                       "the broker, unacknowledged, and nothing starts until it works again; "
                       "free space on its disk or fix its permissions")
        with self._lock:
            changed, self.problem = problem != self.problem, problem
        if changed:
            log.error("intake paused: %s", problem)
            self._on_change(problem)

    def worked(self) -> None:
        with self._lock:
            changed, self.problem = self.problem is not None, None
        if changed:
            log.warning("the job store %s works again; intake resumes", self._path)
            self._on_change(None)
