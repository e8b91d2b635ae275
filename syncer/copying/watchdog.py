"""The stall watchdog: a copy that makes no progress for `syncer.stall_timeout` seconds is
ended, and one that cannot be ended is left behind, never waited for.

A read blocked on a dead hard NFS mount sends nothing: rsync prints neither progress nor a
name. After `stall_s` seconds of silence its whole process group is killed (SIGKILL ends a
stopped process too). A process in uninterruptible sleep does not die even then: after
`ABANDON_AFTER_S` more seconds it is abandoned, reaped later by a thread of its own, and its
worker goes on with the next job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ABANDON_AFTER_S = 10.0
REAP_EVERY_S = 30.0

_abandoned: list[subprocess.Popen[bytes]] = []
_abandoned_lock = threading.Lock()  # guards _abandoned and _reaper
_reaper: threading.Thread | None = None


class Watchdog:
    """Notices a run that has been silent for `stall_s` seconds (0: never)."""

    def __init__(self, stall_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_s = stall_s
        self._clock = clock
        self._last = clock()
        self.killed_at: float | None = None

    def heard(self) -> None:
        """rsync said something: a progress line, a name, an error."""
        self._last = self._clock()

    def wait_s(self) -> float | None:
        """How long the selector may wait before the watchdog must look again."""
        if self.killed_at is not None:
            return max(0.0, self.killed_at + ABANDON_AFTER_S - self._clock())
        if not self.stall_s:
            return None
        return max(0.0, self._last + self.stall_s - self._clock())

    def stalled(self) -> bool:
        return bool(self.stall_s) and self._clock() - self._last >= self.stall_s

    def give_up(self) -> bool:
        """Killed, and still not gone after `ABANDON_AFTER_S`: leave it."""
        return self.killed_at is not None and \
            self._clock() - self.killed_at >= ABANDON_AFTER_S

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """End rsync and the processes it forked (their own process group)."""
        self.killed_at = self._clock()
        log.warning("rsync (pid %d) made no progress for %.0f s: ending it", process.pid,
                    self.stall_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def abandon(process: subprocess.Popen[bytes]) -> None:
    """Stop waiting for a process that cannot be ended; a thread reaps it once it can."""
    global _reaper
    log.error("rsync (pid %d) could not be ended (a read blocked on a dead mount?); it is "
              "left behind and will be reaped once it ends", process.pid)
    for pipe in (process.stdin, process.stdout, process.stderr):
        with contextlib.suppress(OSError):
            if pipe:
                pipe.close()
    with _abandoned_lock:
        _abandoned.append(process)
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_reap, name="rsync-reaper", daemon=True)
            _reaper.start()


def _reap() -> None:
    while True:
        with _abandoned_lock:
            _abandoned[:] = [p for p in _abandoned if p.poll() is None]
            if not _abandoned:
                return
        time.sleep(REAP_EVERY_S)  # a background poll, not a synchronisation
