"""The destination guard: never copy into a dropped mount, a missing share or a full disk.

A dropped NFS mount leaves an empty local folder behind; copying into it would fill the
host's own disk and hide the files from the real share. With `require_mount`, the
destination must be on a mounted filesystem other than the root filesystem: the mount at
or above it, read from /proc/self/mountinfo, so one mount per share and one mount for the
whole server both pass, and a bare folder on the root disk never does. A failed check holds
the job (it waits without spending an attempt) until the check passes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from arrsync.settings import Mapping
from arrsync.units import is_within
from syncer.jobs.outcome import DestinationNotReady

MOUNTINFO = "/proc/self/mountinfo"
# In a container, Docker bind-mounts these files from the host's disk: a share's bind mount
# on that same device is a bare host folder, not the share.
CONTAINER_FILES = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo, as people read it."""

    point: str
    fstype: str
    source: str
    device: str        # major:minor of the filesystem
    is_root_fs: bool   # the filesystem at / (or, in a container, the host's), wherever mounted

    def __str__(self) -> str:
        return f"{self.fstype} {self.source} at {self.point}"


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def read_mounts(mountinfo: str = MOUNTINFO) -> list[tuple[str, str, str, str]]:
    """(mount point, device, fstype, source) for each mount, in the kernel's order."""
    mounts = []
    with open(mountinfo, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            before, _, after = line.partition(" - ")
            fields, tail = before.split(), after.split()
            if len(fields) >= 5 and len(tail) >= 2:
                mounts.append((_unescape(fields[4]), fields[2], _unescape(tail[0]),
                               _unescape(tail[1])))
    return mounts


def _mount_by_stat(real: str) -> Mount:
    """Without a mount table (not Linux): the nearest mount point above, compared by device."""
    point = real
    while not os.path.ismount(point):
        point = os.path.dirname(point)
    device = os.stat(real).st_dev
    return Mount(point, "unknown", "unknown", str(device), device == os.stat("/").st_dev)


def mount_of(path: str, mountinfo: str = MOUNTINFO) -> Mount:
    """The mount at or above `path` (the last one listed wins: it is on top)."""
    real = os.path.realpath(path)
    try:
        mounts = read_mounts(mountinfo)
    except OSError:
        return _mount_by_stat(real)
    tops = {point: device for point, device, _fs, _src in mounts}  # the last one wins
    root_devices = {tops[point] for point in ("/", *CONTAINER_FILES) if point in tops}
    covering = [m for m in mounts if is_within(real, m[0])]
    if not covering:  # a chroot whose / is not in the table
        return _mount_by_stat(real)
    point, device, fstype, source = max(reversed(covering), key=lambda m: len(m[0]))
    return Mount(point, fstype, source, device, point == "/" or device in root_devices)


class DestinationGuard:
    def check(self, mapping: Mapping) -> None:
        """Raise DestinationNotReady with the reason if the mapping cannot be copied into."""
        self.check_source(mapping)
        self.check_dest(mapping)

    def check_source(self, mapping: Mapping) -> None:
        if not os.path.isdir(mapping.source):
            raise DestinationNotReady(
                f"source root {mapping.source} is not there; is the share mounted?")
        if not os.access(mapping.source, os.R_OK | os.X_OK):
            raise DestinationNotReady(f"source root {mapping.source} is not readable")
        for anchor in mapping.anchors:
            if not os.path.exists(os.path.join(mapping.source, anchor)):
                raise DestinationNotReady(
                    f"anchor file {anchor} is missing in {mapping.source}; is the share mounted?")

    def check_dest(self, mapping: Mapping) -> None:
        if not os.path.isdir(mapping.dest):
            raise DestinationNotReady(
                f"destination root {mapping.dest} does not exist; is the share mounted?")
        if mapping.require_mount and (mount := mount_of(mapping.dest)).is_root_fs:
            raise DestinationNotReady(
                f"destination root {mapping.dest} is on the root filesystem ({mount}), "
                "not on a mounted share (require_mount: true); is the share mounted?"
            )
        for anchor in mapping.anchors:
            if not os.path.exists(os.path.join(mapping.dest, anchor)):
                raise DestinationNotReady(
                    f"anchor file {anchor} is missing in {mapping.dest}; is the share mounted?")
        if not os.access(mapping.dest, os.W_OK | os.X_OK):
            raise DestinationNotReady(f"destination root {mapping.dest} is not writable")
