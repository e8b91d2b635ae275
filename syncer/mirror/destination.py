"""Paths at the destination, checked at the moment a rename or move uses them.

A folder at the destination may have become a symbolic link since the job was queued, so
every move resolves the real folder just before it acts and refuses anything outside the
destination root or inside arrsync's own folders (the recycle bin). Moves never replace a
file: a file is hard-linked to its new name, then unlinked from the old one, so a crash
between the two leaves one file under two names (same inode), which the next attempt sees
and finishes. Folders, and file systems without hard links, are renamed after a check.
Where a rename crosses file systems (EXDEV: a union file system such as mergerfs may say so
between two folders of one share), the file is copied under a hidden temporary name,
renamed into place, and only then removed from where it was.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil

from arrsync.units import real_inside, relative_below
from syncer.jobs.outcome import AttemptFailed, Decision

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
    if not real_inside(folder, root):
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


def _is_folder(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _copy_into_place(source: str, target: str) -> None:
    """Copy `source` beside `target` under a hidden name, then rename it to `target`."""
    temporary = os.path.join(os.path.dirname(target),
                             f".{os.path.basename(target)}.arrsync-tmp")
    if _is_folder(source):
        shutil.rmtree(temporary, ignore_errors=True)  # left by an interrupted attempt
        shutil.copytree(source, temporary, symlinks=True)
    else:
        shutil.copy2(source, temporary, follow_symlinks=False)
    os.rename(temporary, target)


def rename(source: str, target: str) -> None:
    """rename(2); across file systems a copy into place, then `source` removed."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_into_place(source, target)
        if _is_folder(source):
            shutil.rmtree(source)
        else:
            os.unlink(source)


def move(source: str, target: str) -> None:
    """Give `source` the name `target`; FileExistsError if `target` is taken."""
    if not _is_folder(source):
        try:
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            if not same_file(source, target):  # else: a crash came after the link: finish
                raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS | {errno.EXDEV}:
                raise
        else:
            os.unlink(source)
            return
        if same_file(source, target):
            os.unlink(source)
            return
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "already exists", target)
    rename(source, target)


def link_or_rename(source: str, target: str) -> None:
    """Make `target` name the file `source` names, which keeps its name: a hard link, or
    a copy across file systems; a rename where the file system has no hard links."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_into_place(source, target)
        elif exc.errno in _NO_HARD_LINKS:
            rename(source, target)
        else:
            raise


def remove_empty_folders(root: str, folder: str) -> None:
    """Remove `folder` and the folders above it while they are empty, never `root`."""
    real_root = os.path.realpath(root)
    current = os.path.realpath(folder)
    while current != real_root and real_inside(current, real_root):
        try:
            os.rmdir(current)
        except OSError:
            return
        current = os.path.dirname(current)


def move_failed(source: str, target: str, exc: OSError) -> AttemptFailed:
    return AttemptFailed(Decision.RETRY,
                         f"could not move {source} to {target}: {exc.strerror or exc}")
