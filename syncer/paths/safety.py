"""Path safety at the moment of the copy: nothing outside a mapping's source is ever copied.

A path checked when a request arrives may be a symbolic link by the time rsync runs (a folder
created later as a link to /etc, a movie folder swapped for one). So the paths of an attempt
are resolved while its files are listed and once more just before rsync starts, and refused
if their real path leaves the source root. Inside a copied folder, a link is kept only where
rsync's `--safe-links` keeps it (a relative target that stays in the tree); rsync runs with
that option and `--no-devices --no-specials`, and `files_below` lists exactly what it copies.
What remains is the instant between the last check and rsync opening the path.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass, field

from arrsync.limits import quote
from arrsync.units import join_below, real_inside


class SourceMissing(Exception):
    """The source is not there (yet): NFS lag, or the arr is still moving the file. Retry."""


class SourceRefused(Exception):
    """The source can never be copied as asked (it leads outside the mapping, its name is
    longer than a file system allows). Give up."""


NAME_MAX = 255  # bytes per name on Linux file systems (ext4, xfs, btrfs, NFS, SMB)


def check_inside(root: str, relative: str) -> None:
    """SourceRefused unless the real path of `relative` lies within the real `root`."""
    path = join_below(root, relative)
    if not real_inside(path, root):
        raise SourceRefused(
            f"{quote(path)} leads outside the source root {root} through a symbolic link (to "
            f"{quote(os.path.realpath(path))}); arrsync copies nothing from outside a mapping")


def is_safe_link(relative_link: str, target: str) -> bool:
    """rsync's --safe-links rule: a relative target that never climbs above the tree root,
    counted from the link's own depth (`Film/extras/link` starts at depth 2)."""
    if not target or target.startswith("/"):
        return False
    depth = relative_link.count("/")
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


@dataclass
class Listing:
    """What rsync will copy below one path: (source, relative) pairs; what it will not."""

    files: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def files_below(root: str, relative: str) -> Listing:
    """Every regular file and safe link at or below `relative`, as rsync -a --safe-links
    --no-devices --no-specials copies them; links are never followed."""
    listing = Listing()

    def consider(path: str, inner: str) -> None:
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) or (stat.S_ISLNK(mode) and is_safe_link(inner, os.readlink(path))):
            listing.files.append((path, inner))
        elif not stat.S_ISDIR(mode):
            listing.skipped.append(inner)

    top = join_below(root, relative)
    if not os.path.isdir(top) or os.path.islink(top):
        consider(top, relative)
        return listing
    for folder, dirs, names in os.walk(top):
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
            path = os.path.join(folder, name)
            consider(path, os.path.relpath(path, root))
    return listing


def locate(root: str, relative: str) -> str:
    """The relative path as it is spelled on disk. SourceRefused if it can never exist here
    (a name over 255 bytes); SourceMissing if it is not there (yet). A name the arr spells in
    another Unicode form than the share (NFD against NFC) is found under the share's form."""
    if os.path.lexists(join_below(root, relative)):
        return relative
    parts = relative.split("/") if relative else []
    for part in parts:
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            raise SourceRefused(
                f"the name {quote(part, 60)} is {size} bytes long; file systems allow at most "
                f"{NAME_MAX} bytes per name, so {quote(join_below(root, relative), 120)} "
                "cannot exist")
    found: list[str] = []
    for part in parts:
        here = join_below(root, "/".join(found))
        if os.path.lexists(os.path.join(here, part)):
            found.append(part)
            continue
        spelled = _same_name(here, part)
        if spelled is None:
            raise SourceMissing(
                f"{join_below(root, relative)} is not there (yet): the arr may still be moving "
                "it, or the share is slow to show it")
        found.append(spelled)
    return "/".join(found)


def _same_name(folder: str, name: str) -> str | None:
    """The one entry of `folder` that is `name` in another Unicode normal form."""
    wanted = unicodedata.normalize("NFC", name)
    try:
        matches = [e for e in os.listdir(folder) if unicodedata.normalize("NFC", e) == wanted]
    except OSError:
        return None
    return matches[0] if len(matches) == 1 else None
