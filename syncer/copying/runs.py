"""rsync runs for the engine's workers, each registered so that a stop can interrupt it.

A coalesced copy begins in the mapping's standby when one waits (`syncer.standby`), and
the next standby is prepared once the run is over; a mirror action's copy runs in an
rsync of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from arrsync.settings import SyncerSettings
from syncer.copying.batch import rsync_failure
from syncer.copying.exitcodes import rsync_error_line
from syncer.copying.rsync import Progress, RsyncResult, RsyncRun
from syncer.copying.space import NO_SPACE
from syncer.copying.standby import Standbys, standby_allowed
from syncer.jobs.outcome import AttemptFailed, Decision, DestinationFull, Interrupted


class RsyncRunner:
    def __init__(self, commands: list[list[str]], settings: SyncerSettings) -> None:
        self.standbys = Standbys(commands, settings.standby
                                 and standby_allowed(settings.rsync_extra_args))
        self._lock = threading.Lock()  # guards _runs and _stopping
        self._runs: dict[int, RsyncRun] = {}  # worker thread → its running rsync
        self._stopping = False

    @property
    def stopping(self) -> bool:
        with self._lock:
            return self._stopping

    def stop_taking(self) -> None:
        """No run begins from now on (one that has not begun ends at once)."""
        with self._lock:
            self._stopping = True

    def interrupt(self) -> None:
        """Ask every running rsync to end; each keeps its partial file."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()

    def copy(self, command: list[str], entries: list[str], on_started: Callable[[], None],
             on_progress: Callable[[Progress], None],
             on_name: Callable[[str], None]) -> RsyncResult | None:
        """One coalesced run; None if the stop came first. FileNotFoundError: no rsync."""
        result = self._run(self.standbys.take(command), entries, on_started, on_progress,
                           on_name)
        if not self.stopping:  # the next copy of this mapping begins with its list
            self.standbys.prepare(command)
        return result

    def run(self, command: list[str], entries: list[str],
            on_progress: Callable[[Progress], None]) -> RsyncResult | None:
        """One run of a mirror action's copy; None if the stop came first."""
        return self._run(RsyncRun(command), entries, lambda: None, on_progress, None)

    def run_checked(self, command: list[str], entries: list[str],
                    on_progress: Callable[[Progress], None], rsync_path: str) -> RsyncResult:
        """A mirror action's copy: its result, or AttemptFailed (by the exit-code table)
        or Interrupted (a stop)."""
        try:
            result = self.run(command, entries, on_progress)
        except FileNotFoundError:
            raise AttemptFailed(Decision.GIVE_UP,
                                f"rsync is not installed ({rsync_path})") from None
        if result is None or (result.exit_code and self.stopping):
            raise Interrupted
        if result.exit_code and NO_SPACE in result.stderr:
            raise DestinationFull("the destination filled up during the copy "
                                  f"({rsync_error_line(result.stderr)})")
        if result.exit_code:
            raise rsync_failure(result)
        return result

    def _run(self, run: RsyncRun, entries: list[str], on_started: Callable[[], None],
             on_progress: Callable[[Progress], None],
             on_name: Callable[[str], None] | None) -> RsyncResult | None:
        worker = threading.get_ident()
        with self._lock:
            self._runs[worker] = run
            if self._stopping:
                run.stop()
        try:
            if not run.begin(entries):
                return None
            on_started()
            return run.finish(on_progress, on_name)
        finally:
            with self._lock:
                self._runs.pop(worker, None)
