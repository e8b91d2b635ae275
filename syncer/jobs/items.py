"""What a job touches at the destination, and which jobs must not run at the same time.

An item is what one event is about: a movie's folder, an episode file with its sidecars
(its path without the extension: `Show/Season 1/Show - S01E01`), or a whole folder that a
request or a delete names. Two jobs of one mapping conflict when an item of one is, holds
or lies in an item of the other, unless both are copies: copies never overwrite and may
share one rsync run. Conflicting jobs run one at a time, in the order they arrived
(`syncer.jobs.schedule`), so the destination ends as the last event says.
"""

from __future__ import annotations

import posixpath
import re

from arrsync.units import ancestors
from arrsync.wire.job import JobAction
from syncer.jobs.job import Job

_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,5}$")  # .mkv, .mp4, .srt: a file, not a folder


def item_of(path: str, *, episode: bool) -> str:
    """The item a relative path belongs to."""
    folder, name = posixpath.split(path)
    stem, extension = posixpath.splitext(name)
    if not _EXTENSION.match(extension):
        return path  # a folder (or a name without an extension): itself
    if episode or not folder:
        return posixpath.join(folder, stem)  # the file and the sidecars named after it
    return folder  # a movie's folder


def items_of(job: Job) -> set[str]:
    """Every item the job reads or changes at the destination: its paths, what an upgrade
    replaces and the old names of a rename."""
    paths = [*job.paths, *job.replaced, *(old for old, _ in job.renames if old)]
    episode = bool(job.episodes or job.series)
    return {item_of(path, episode=episode) for path in paths}


class Claims:
    """The items of the jobs seen so far, per mapping; answers whether a later job must wait.
    Not thread-safe: the schedule's owner guards it."""

    def __init__(self) -> None:
        self._any: set[tuple[str, str]] = set()         # items of jobs that are not copies
        self._copy: set[tuple[str, str]] = set()        # items of copies
        self._below_any: set[tuple[str, str]] = set()   # folders above those items
        self._below_copy: set[tuple[str, str]] = set()

    def blocks(self, job: Job) -> bool:
        """Must `job` wait for a job claimed before it?"""
        copy = job.action is JobAction.COPY
        for item in items_of(job):
            above = [(job.mapping, a) for a in ancestors(item)]
            key = (job.mapping, item)
            if any(a in self._any for a in above) or key in self._below_any:
                return True
            if not copy and (any(a in self._copy for a in above) or key in self._below_copy):
                return True
        return False

    def add(self, job: Job) -> None:
        copy = job.action is JobAction.COPY
        for item in items_of(job):
            (self._copy if copy else self._any).add((job.mapping, item))
            below = self._below_copy if copy else self._below_any
            below.update((job.mapping, a) for a in ancestors(item)[1:])
