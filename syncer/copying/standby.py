"""rsync started ahead of its list: one waits per mapping, so a copy begins without a spawn.

An rsync told `--files-from=-` starts, forks its receiving side, shakes hands with it and
then waits for the list on stdin. Most of the ~10 ms a fresh rsync takes for a small file
is spent before that point. It resolves the source and destination roots only once the
list arrives (checked: a root renamed or remounted in between is used as it is then), so
a standby copies exactly what a fresh rsync would, only sooner. A standby older than
`MAX_AGE_S`, or one that ended (a kill), is replaced; with `--timeout` among the extra
arguments (an idle rsync would time out) there are no standbys.

Standbys are spawned by the workers: rsync's death signal follows the thread that spawned
it, and the workers live as long as the syncer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from syncer.copying.rsync import RsyncRun

log = logging.getLogger(__name__)

MAX_AGE_S = 300.0


def standby_allowed(extra_args: Sequence[str]) -> bool:
    return not any(arg.startswith(("--timeout", "--contimeout")) for arg in extra_args)


class Standbys:
    def __init__(self, commands: list[list[str]], enabled: bool,
                 clock: Callable[[], float] = time.monotonic, stall_s: float = 0) -> None:
        """`stall_s`: the watchdog's limit, also rsync's --timeout: a standby is replaced
        before that would end it while it waits."""
        self.commands = commands  # one per mapping
        self.enabled = enabled
        self.stall_s = stall_s
        self.max_age = min(MAX_AGE_S, stall_s * 0.8) if stall_s else MAX_AGE_S
        self._clock = clock
        self._lock = threading.Lock()  # guards _ready and _preparing; no spawning under it
        self._ready: dict[tuple[str, ...], tuple[RsyncRun, float]] = {}  # command → run, born
        self._preparing = False  # a worker is going through every mapping's standby

    def take(self, command: list[str]) -> RsyncRun:
        """A standby for `command` if one waits, else a new run (spawned by `begin`)."""
        with self._lock:
            ready = self._ready.pop(tuple(command), None)
        if ready and self._fresh(ready):
            return ready[0]
        if ready:
            ready[0].close()
        return RsyncRun(command, self.stall_s)

    def prepare_all(self) -> None:
        """A fresh standby for every mapping (one worker at a time does the rounds)."""
        with self._lock:
            if self._preparing:
                return
            self._preparing = True
        try:
            for command in self.commands:
                self.prepare(command)
        finally:
            with self._lock:
                self._preparing = False

    def prepare(self, command: list[str]) -> None:
        """Have a fresh standby wait for `command` (spawned now if there is none)."""
        if not self.enabled:
            return
        key = tuple(command)
        with self._lock:
            ready = self._ready.pop(key, None)
        if ready and self._fresh(ready):
            self._keep(key, ready)
            return
        if ready:
            ready[0].close()
        run = RsyncRun(command, self.stall_s)
        try:
            if run.spawn():
                self._keep(key, (run, self._clock()))
        except OSError:  # no rsync: the copy itself will say so
            return

    def close(self) -> None:
        """Close every standby; prepare no more."""
        with self._lock:
            self.enabled = False
            ready, self._ready = list(self._ready.values()), {}
        for run, _born in ready:  # all at once: each takes rsync's ~30 ms to exit
            run.release()
        for run, _born in ready:
            run.reap()

    def _keep(self, key: tuple[str, ...], ready: tuple[RsyncRun, float]) -> None:
        with self._lock:
            spare = ready if key in self._ready or not self.enabled else None
            if spare is None:
                self._ready[key] = ready
        if spare:
            spare[0].close()

    def _fresh(self, ready: tuple[RsyncRun, float]) -> bool:
        run, born = ready
        return self._clock() - born < self.max_age and run.waiting()
