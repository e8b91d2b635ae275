"""Paths at the destination, checked at the moment a rename or move uses them.

A folder at the destination may have become a symbolic link since the job was queued, so
every move resolves the real folder just before it acts and refuses anything outside the
destination root or inside arrsync's own folders (the recycle bin). Moves never replace a
file: a file is hard-linked to its new name, then unlinked from the old one, so a crash
between the two leaves one file under two names (same inode), which the next attempt sees
and finishes. Folders, and file systems without hard links, are renamed after a check.
"""

from __future__ import annotations

import errno
import os
import posixpath

from arrsync.units import is_within, relative_below
from syncer.errors import AttemptFailed, Decision

# link(2) errors that mean "this file system has no hard links here": rename instead.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def resolve(root: str, relative: str, own: tuple[str, ...]) -> str:
    """The destination path of `relative` with its folder's symbolic links resolved; refused
    (the job fails) if that leaves `root`, is `root` itself or lies in one of `own`."""
    if not relative:
        raise AttemptFailed(Decision.GIVE_UP, f"refusing to move the destination root {root}")
    path = posixpath.join(root, relative)
    real_root = os.path.realpath(root)
    folder = os.path.realpath(os.path.dirname(path))
    inside = relative_below(folder, real_root)
    if inside is None:
        raise AttemptFailed(Decision.GIVE_UP, (
            f"{path} leads outside the destination root {root} through a symbolic link; "
            "nothing was moved"))
    if inside.split("/", 1)[0] in own or (not inside and os.path.basename(path) in own):
        raise AttemptFailed(Decision.GIVE_UP, f"{path} is inside arrsync's own folders")
    return os.path.join(folder, os.path.basename(path))


def make_folder_for(root: str, path: str) -> None:
    """Create the folders above `path`, then check they are still inside `root`."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    if not is_within(os.path.realpath(folder), os.path.realpath(root)):
        raise AttemptFailed(Decision.GIVE_UP, (
            f"{folder} leads outside the destination root {root} through a symbolic link; "
            "nothing was moved"))


def same_file(one: str, other: str) -> bool:
    """Both names exist and are the same file (inode), symbolic links not followed."""
    try:
        a, b = os.lstat(one), os.lstat(other)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def move(source: str, target: str) -> None:
    """Give `source` the name `target`; FileExistsError if `target` is taken."""
    if os.path.isdir(source) and not os.path.islink(source):
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "already exists", target)
        os.rename(source, target)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        if not same_file(source, target):  # else: a crash came after the link: finish
            raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "already exists", target) from None
        os.rename(source, target)
        return
    os.unlink(source)


def link_or_rename(source: str, target: str) -> None:
    """Make `target` name the file `source` names: a hard link where the file system has
    them (`source` keeps its name), else a rename."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        os.rename(source, target)


def remove_empty_folders(root: str, folder: str) -> None:
    """Remove `folder` and the folders above it while they are empty, never `root`."""
    real_root = os.path.realpath(root)
    current = os.path.realpath(folder)
    while current != real_root and is_within(current, real_root):
        try:
            os.rmdir(current)
        except OSError:
            return
        current = os.path.dirname(current)


def move_failed(source: str, target: str, exc: OSError) -> AttemptFailed:
    return AttemptFailed(Decision.RETRY,
                         f"could not move {source} to {target}: {exc.strerror or exc}")
