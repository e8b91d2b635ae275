"""How sizes, durations and paths are shown and compared: one way each, for every process."""

from __future__ import annotations

import os
import posixpath
from pathlib import PurePosixPath

_SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_size(count: float) -> str:
    """Bytes for people, in decimal units as disks and file managers count them: "4.2 GB"."""
    value = float(count)
    for unit in _SIZE_UNITS:
        if abs(value) < 1000 or unit == _SIZE_UNITS[-1]:
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    total = round(seconds)
    if total < 60:
        return f"{max(seconds, 0):.1f}s" if seconds < 10 else f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def relative_below(path: str, root: str) -> str | None:
    """`path` relative to `root` if it is `root` or lies below it (whole components), else
    None: `/movies4k/x` is not below `/movies`. "" means the root itself."""
    candidate, base = PurePosixPath(path), PurePosixPath(root)
    if not candidate.is_relative_to(base):
        return None
    relative = candidate.relative_to(base).as_posix()
    return "" if relative == "." else relative


def is_within(path: str, root: str) -> bool:
    return relative_below(path, root) is not None


def real_inside(path: str, root: str) -> bool:
    """Does `path`, its symbolic links resolved, lie within (or at) the real `root`? The one
    check of a path against the root it must not leave."""
    return is_within(os.path.realpath(path), os.path.realpath(root))


def ancestors(relative: str) -> list[str]:
    """A relative path and every folder above it, nearest first, ending with "" (the root):
    `a/b/c` → `a/b/c`, `a/b`, `a`, ""."""
    parts = relative.split("/") if relative else []
    return ["/".join(parts[:depth]) for depth in range(len(parts), -1, -1)]


def join_below(root: str, relative: str) -> str:
    """`root`/`relative`; the root itself for an empty relative path ("" is the root)."""
    return posixpath.join(root, relative) if relative else root
