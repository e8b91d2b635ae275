"""rsync runs for the engine's workers, each registered so that a stop can interrupt it.

A coalesced copy begins in the mapping's standby when one waits (`syncer.copying.standby`), and
the next standby is prepared once the run is over; a mirror action's copy runs in an
rsync of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from arrsync.settings import SyncerSettings
from syncer.copying.classify import stall_reason
from syncer.copying.rsync import Progress, RsyncResult, RsyncRun
from syncer.copying.standby import Standbys, standby_allowed
from syncer.jobs.outcome import AttemptFailed, Decision


class RsyncRunner:
    def __init__(self, commands: list[list[str]], settings: SyncerSettings,
                 on_stall: Callable[[str], None] = lambda _message: None) -> None:
        """`on_stall(message)`: the watchdog ended a run (an alert for a person)."""
        self.rsync_path = settings.rsync_path
        self.stall_s = settings.stall_timeout
        self.on_stall = on_stall
        self.standbys = Standbys(commands, settings.standby
                                 and standby_allowed(settings.rsync_extra_args),
                                 stall_s=settings.stall_timeout)
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
             on_name: Callable[[str], None] | None = None, *,
             standby: bool = True) -> RsyncResult | None:
        """One run: a coalesced copy (from the mapping's standby, and the next one prepared),
        or a mirror action's copy (`standby=False`); None if the stop came first.
        AttemptFailed (give up) when rsync is not installed."""
        run = self.standbys.take(command) if standby else RsyncRun(command, self.stall_s)
        try:
            result = self._run(run, entries, on_started, on_progress, on_name)
        except FileNotFoundError:
            raise AttemptFailed(Decision.GIVE_UP,
                                f"rsync is not installed ({self.rsync_path})") from None
        finally:
            if standby and not self.stopping:  # the next copy of this mapping begins at once
                self.standbys.prepare(command)
        if result is not None and result.stalled_s:
            self.on_stall(stall_reason(result))
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
