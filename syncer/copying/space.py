"""Room on the destination: reservations between parallel copies, and our own partial files.

Two copies that each fit alone can overflow a destination together, and the partial files
rsync keeps after "No space left on device" then fill it for good: every later check says
"0 MB free" and the jobs wait forever. So each attempt reserves its bytes on the destination
file system before it starts (the check subtracts what running copies reserved), and an
attempt that ran out of space removes its own partial files (in `.arrsync-partial`, never
anything else) before the job is held: the largest job that fits goes next.
"""

from __future__ import annotations

import contextlib
import os
import threading

from arrsync.units import human_size
from syncer.copying.files import FileSet
from syncer.copying.rsync import PARTIAL_DIR
from syncer.jobs.outcome import DestinationNotReady


class SpaceLedger:
    def __init__(self, margin: int) -> None:
        self.margin = margin
        self._lock = threading.Lock()  # guards _reserved
        self._reserved: dict[str, tuple[int, int]] = {}  # job id → (st_dev, bytes)

    def reserve(self, job_id: str, dest_root: str, incoming: int) -> None:
        """Reserve `incoming` bytes, or raise DestinationNotReady with the numbers."""
        stats = os.statvfs(dest_root)
        device = os.stat(dest_root).st_dev
        free = stats.f_bavail * stats.f_frsize
        with self._lock:
            others = sum(size for dev, size in self._reserved.values() if dev == device)
            fits = free - others >= incoming + self.margin
            if fits:
                self._reserved[job_id] = (device, incoming)
        if not fits:
            held = f", {human_size(others)} reserved by running copies" if others else ""
            raise DestinationNotReady(
                f"not enough free space on {dest_root}: {human_size(free)} free{held}, "
                f"{human_size(incoming)} to copy plus a {human_size(self.margin)} margin")

    def release(self, job_id: str) -> None:
        with self._lock:
            self._reserved.pop(job_id, None)


def remove_partials(files: FileSet, dest_root: str, into: str | None = None) -> int:
    """Remove the partial files rsync kept for this attempt's files (under `into` when the
    attempt copied there instead of `dest_root`, as a replace copies into its staging
    folder); returns their bytes. Only rsync's own partial files are ever touched."""
    removed = 0
    for copy in files.copies:
        if copy.existed and into is None:
            continue
        relative = os.path.relpath(copy.dest, dest_root)
        folder, name = os.path.split(os.path.join(into or dest_root, relative))
        partial = os.path.join(folder, PARTIAL_DIR, name)
        with contextlib.suppress(OSError):
            size = os.lstat(partial).st_size
            os.unlink(partial)
            removed += size
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(folder, PARTIAL_DIR))  # only once it is empty
    return removed
