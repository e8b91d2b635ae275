"""The recycle bin: nothing is ever deleted outright at the destination.

A removed file or folder goes to `<dest>/<recycle_dir>/<YYYY-MM-DD>/<its path below dest>`
(local date), a second one under the same name that day gets " (2)" before its extension.
The syncer empties day folders older than `recycle_days` itself (`BinKeeper`). Replace jobs
stage the new copies in `<recycle_dir>/.staging/<job id>/`, on the same file system as the
files they replace, so the final swap is one rename(2).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

from arrsync.settings import SyncerSettings
from syncer.copying.guard import DestinationGuard
from syncer.jobs.outcome import AttemptFailed, Decision, DestinationNotReady
from syncer.mirror.destination import link_or_rename, make_folder_for, move, rename, same_file

log = logging.getLogger(__name__)

STAGING = ".staging"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_SAME_NAME = 1000


class BinRefused(Exception):
    """The bin is not a real folder inside its destination: it is not emptied."""


class RecycleBin:
    def __init__(self, root: str, folder: str, clock: Callable[[], float] = time.time) -> None:
        self.refused: list[str] = []  # what `prune` left alone: not a real folder
        self.root = root
        self.path = posixpath.join(root, folder)
        self.clock = clock

    def staging(self, job_id: str) -> str:
        return posixpath.join(self.path, STAGING, job_id)

    def _slots(self, relative: str, folder: bool) -> list[str]:
        """Where `relative` goes today: its own name, then "name (2).ext", "name (3).ext"…"""
        day = time.strftime("%Y-%m-%d", time.localtime(self.clock()))
        base = posixpath.join(self.path, day, relative)
        stem, extension = (base, "") if folder else posixpath.splitext(base)
        return [base] + [f"{stem} ({n}){extension}" for n in range(2, _MAX_SAME_NAME)]

    def _slot_for(self, current: str, relative: str) -> tuple[str, bool]:
        """A free slot, or the one that already names `current` (a crash after the link)."""
        folder = os.path.isdir(current) and not os.path.islink(current)
        for slot in self._slots(relative, folder):
            if same_file(slot, current):
                return slot, True
            if not os.path.lexists(slot):
                return slot, False
        raise AttemptFailed(Decision.GIVE_UP, f"the recycle bin has {relative} too many times")

    def where(self, current: str, relative: str) -> str:
        """Where `put` would move it (for dry runs)."""
        return self._slot_for(current, relative)[0]

    def put(self, current: str, relative: str) -> str:
        """Move `current` (the destination copy of `relative`) into the bin; returns where."""
        slot, linked = self._slot_for(current, relative)
        if linked:
            os.unlink(current)
            return slot
        make_folder_for(self.root, slot)
        move(current, slot)
        return slot

    def swap_in(self, staged: str, final: str, relative: str) -> str:
        """Put `staged` at `final`, the file there going to the bin. With hard links the
        final name always names a whole file, the old one until rename(2) puts the new one."""
        slot, linked = self._slot_for(final, relative)
        if not linked:
            make_folder_for(self.root, slot)
            link_or_rename(final, slot)
        rename(staged, final)
        return slot

    def prune(self, days: float) -> list[str]:
        """Remove the day folders older than `days`; returns what was removed. Only what
        is really inside the bin goes: BinRefused (nothing removed) for a bin that is a
        link or leaves the destination, and a day folder that is a link is left alone."""
        if not os.path.lexists(self.path):
            return []
        self._check_real(self.path)
        today = date.fromtimestamp(self.clock())
        removed = []
        for name in sorted(_listdir(self.path)):
            folder = os.path.join(self.path, name)
            if _DAY.match(name) and _older(name, today, days) and self._real_folder(folder):
                shutil.rmtree(folder)
                removed.append(folder)
        staging = os.path.join(self.path, STAGING)
        if os.path.lexists(staging):
            self._check_real(staging)
        for name in _listdir(staging):  # left by a replace job that failed for good
            folder = os.path.join(staging, name)
            if (os.lstat(folder).st_mtime < self.clock() - days * 86400
                    and self._real_folder(folder)):
                shutil.rmtree(folder)
                removed.append(folder)
        return removed

    def _check_real(self, folder: str) -> None:
        """BinRefused unless `folder` is itself below the real destination root: no link on
        the way from the root to it (the root may be reached through links)."""
        expected = os.path.join(os.path.realpath(self.root), os.path.relpath(folder, self.root))
        if os.path.realpath(folder) != expected:
            raise BinRefused(f"the recycle bin {folder} is a symbolic link or leads outside "
                             f"{self.root} (to {os.path.realpath(folder)}); arrsync empties "
                             "only a real folder inside the destination: nothing was removed")

    def _real_folder(self, folder: str) -> bool:
        """A day folder that is a real folder (a link to elsewhere is never followed)."""
        if stat.S_ISDIR(os.lstat(folder).st_mode):
            return True
        self.refused.append(folder)
        return False


def _older(name: str, today: date, days: float) -> bool:
    try:
        day = date.fromisoformat(name)
    except ValueError:
        return False
    return day < today - timedelta(days=days)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


class BinKeeper:
    """Empties every destination's recycle bin of what is older than `recycle_days`, at
    start and every `interval` seconds, on its own thread (a large bin on a share is slow)."""

    def __init__(self, settings: SyncerSettings, guard: DestinationGuard,
                 clock: Callable[[], float] = time.time, interval: float = 3600,
                 alert: Callable[[str], None] = lambda _message: None) -> None:
        """`alert(message)`: a bin that was refused, for a person."""
        self.settings = settings
        self.alert = alert
        self.guard = guard
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recycle-bin", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.prune_all()
            self._stop.wait(self.interval)

    def prune_all(self) -> int:
        removed = 0
        for mapping in {m.dest: m for m in self.settings.mappings}.values():
            recycle_bin = RecycleBin(mapping.dest, self.settings.recycle_dir, self.clock)
            try:
                self.guard.check(mapping)  # never act on a share that is not really there
                gone = recycle_bin.prune(self.settings.recycle_days)
            except BinRefused as exc:
                log.error("%s", exc)
                self.alert(str(exc))
                continue
            except (DestinationNotReady, OSError) as exc:
                log.warning("recycle bin of %s not emptied: %s", mapping.dest, exc)
                continue
            for folder in recycle_bin.refused:
                message = (f"the recycle bin's {folder} is not a real folder (a link?); it "
                           "was left alone: remove it by hand if it must go")
                log.error("%s", message)
                self.alert(message)
            for folder in gone:
                log.info("recycle bin: removed %s (older than %g days)", folder,
                         self.settings.recycle_days)
            removed += len(gone)
        return removed
