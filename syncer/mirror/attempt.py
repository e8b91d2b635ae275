"""What a mirror action asks of the engine for its one attempt."""

from __future__ import annotations

from typing import Protocol

from syncer.copying.files import FileSet
from syncer.copying.rsync import RsyncResult
from syncer.jobs.job import Job


class Attempt(Protocol):
    """One attempt of one job. `job` is its latest version (`begin` makes a new one)."""

    job: Job

    def begin(self) -> None:
        """Count the attempt and announce 'started'."""

    def copy(self, command: list[str], files: FileSet, *, into: str | None = None
             ) -> RsyncResult:
        """Copy `files` with `command` (to the destination, or `into` a staging folder), with
        progress and stop handling. Returns once the copy is whole (checked at the
        destination; in `into`, the caller checks after putting them in place); otherwise
        raises AttemptEnded with the classified result (`syncer.copying.classify`)."""
        ...
