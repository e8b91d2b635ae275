"""Checks made at the moment of a removal or a rename at the destination, never before.

A check that fails holds the job for a person (`WaitsForPerson`: `arrsync-syncer retry JOB`
lets it run again and checks again, `dismiss JOB` drops it); nothing is guessed. The real
path staying inside the destination and out of arrsync's own folders is checked by
`syncer.mirror.destination.resolve` for every path moved.
"""

from __future__ import annotations

import os
import posixpath
import re

from arrsync.limits import quote
from arrsync.settings import Mapping
from syncer.copying.guard import mount_of
from syncer.jobs.job import Job
from syncer.jobs.outcome import WaitsForPerson

_EPISODE = re.compile(r"[Ss](\d{1,4})[Ee](\d{1,4})")


def _hold(reason: str) -> WaitsForPerson:
    return WaitsForPerson(f"{reason}; nothing was moved. Check it, then `arrsync-syncer retry "
                          "JOB` (checks again) or `arrsync-syncer dismiss JOB`", announce=True)


def source_is_there(mapping: Mapping) -> None:
    """The source root is readable, on a mounted share where `require_mount` is set, and not
    empty: an unmounted share (its mount point an empty folder) confirms every deletion."""
    try:
        with os.scandir(mapping.source) as entries:
            empty = next(entries, None) is None
    except OSError as exc:
        raise _hold(f"the source root {mapping.source} cannot be read ({exc.strerror})") from None
    if mapping.require_mount and mount_of(mapping.source).is_root_fs:
        raise _hold(f"the source root {mapping.source} is on the root filesystem, not on a "
                    "mounted share (require_mount: true)")
    if empty:
        raise _hold(f"the source root {mapping.source} is empty: is the share mounted?")


def replaced_belong_to_the_item(job: Job) -> None:
    """What an upgrade replaces lies in the folder of the new files, and, for episodes, names
    none but the event's episodes: an upgrade that names another movie's or episode's file
    (a buggy or forged event) removes nothing."""
    folders = {posixpath.dirname(path) for path in job.paths}
    episodes = {(int(s), int(e)) for s, e in job.episodes}
    for replaced in job.replaced:
        named = {(int(s), int(e)) for s, e in _EPISODE.findall(posixpath.basename(replaced))}
        if posixpath.dirname(replaced) not in folders:
            raise _hold(f"the upgrade of {job.title!r} names {quote(replaced)} as replaced, "
                        "which is not in the folder of its new file(s)")
        if episodes and named and not named <= episodes:
            raise _hold(f"the upgrade of {job.title!r} names {quote(replaced)} as replaced, "
                        "another episode than the event's")


def source_renamed(mapping: Mapping, old: str | None, new: str) -> None:
    """The source agrees with a rename: the new name is there and the old one is gone."""
    if not os.path.lexists(posixpath.join(mapping.source, new)):
        raise _hold(f"the source does not have {quote(new)}, the rename's new name")
    if old and os.path.lexists(posixpath.join(mapping.source, old)):
        raise _hold(f"the source still has {quote(old)} under its old name")
