"""The destination guard: never copy into a dropped mount, a missing share or a full disk.

A dropped NFS mount leaves an empty local folder behind; copying into it would fill the
host's own disk and hide the files from the real share. A failed check holds the job
(it waits without spending an attempt) until the check passes.
"""

from __future__ import annotations

import os

from arrsync.settings import Mapping
from arrsync.units import human_size
from syncer.errors import DestinationNotReady


class DestinationGuard:
    def __init__(self, free_space_margin: int) -> None:
        self.margin = free_space_margin

    def check(self, mapping: Mapping) -> None:
        """Raise DestinationNotReady with the reason if the mapping cannot be copied into."""
        if not os.path.isdir(mapping.source):
            raise DestinationNotReady(
                f"source root {mapping.source} is not there; is the share mounted?")
        if not os.path.isdir(mapping.dest):
            raise DestinationNotReady(
                f"destination root {mapping.dest} does not exist; is the share mounted?")
        if mapping.require_mount and not os.path.ismount(mapping.dest):
            raise DestinationNotReady(
                f"destination root {mapping.dest} is not a mount point (require_mount: true); "
                "the share may have dropped"
            )
        for anchor in mapping.anchors:
            for root in (mapping.source, mapping.dest):
                if not os.path.exists(os.path.join(root, anchor)):
                    raise DestinationNotReady(
                        f"anchor file {anchor} is missing in {root}; is the share mounted?")
        if not os.access(mapping.dest, os.W_OK | os.X_OK):
            raise DestinationNotReady(f"destination root {mapping.dest} is not writable")

    def check_space(self, mapping: Mapping, incoming: int) -> None:
        stats = os.statvfs(mapping.dest)
        free = stats.f_bavail * stats.f_frsize
        if free < incoming + self.margin:
            raise DestinationNotReady(
                f"not enough free space on {mapping.dest}: {human_size(free)} free, "
                f"{human_size(incoming)} to copy plus a {human_size(self.margin)} margin"
            )
