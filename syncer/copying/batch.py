"""Coalesced runs: the due jobs of one mapping copied by ONE rsync, judged job by job.

One rsync per job costs, in a burst, a spawn, rsync's own wait of some 30-40 ms before it
exits, and the bookkeeping, for every job. Here a free worker takes every due job of one
mapping (up to `batch_max_files` files and `batch_max_bytes`) and one rsync copies their
combined list. Each job keeps its own outcome. rsync prints a file's name *before* it sends
it, so a printed name proves nothing; what proves a file arrived is its final name at the
destination with the source's size (rsync renames a file into place only once it is whole).
A job whose files all arrived succeeded, whatever happened to the others; the others fail
or retry by the exit-code table, with rsync's messages about their own files.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field, replace
from functools import partial

from arrsync.settings import Mapping, SyncerSettings
from arrsync.units import ancestors
from syncer.copying.classify import classify
from syncer.copying.files import (
    FileSet,
    already_there,
    collect_for_attempt,
    copy_done,
    nothing_copied,
    problem_with,
)
from syncer.copying.rsync import RsyncResult
from syncer.copying.space import SpaceLedger, remove_partials
from syncer.jobs.job import Job
from syncer.jobs.outcome import (
    AttemptFailed,
    Decision,
    DestinationNotReady,
    Done,
    Failed,
    Held,
    Result,
)
from syncer.paths.safety import SourceRefused, check_inside


@dataclass
class Member:
    """One job's part of a coalesced run."""

    job: Job
    files: FileSet
    relatives: list[str] = field(default_factory=list)  # its files below the mapping root

    @property
    def bytes(self) -> int:
        return self.files.bytes


def member(job: Job, files: FileSet, mapping: Mapping) -> Member:
    relatives = [posixpath.relpath(copy.dest, mapping.dest) for copy in files.copies]
    return Member(job, files, relatives)


def plan_run(jobs: list[Job], mapping: Mapping, settings: SyncerSettings,
             space: SpaceLedger) -> tuple[list[Member], list[tuple[Job, Result]]]:
    """Collect each job's files, and settle now the jobs that need no copy (the source is
    missing or refused, the destination has it all). Keep, in order, what one run may take
    and the space allows (reserved in `space`). Jobs in neither list are left for the next
    run."""
    members: list[Member] = []
    results: list[tuple[Job, Result]] = []
    for job in jobs:
        try:
            files = collect_for_attempt(job, mapping, sidecars=settings.sidecars)
        except AttemptFailed as exc:
            results.append((job, Failed(exc.decision, exc.reason)))
            continue
        job = replace(job, bytes=files.bytes, files=len(files.copies))
        if not settings.dry_run and already_there(files):
            results.append((job, Done(skipped=nothing_copied(files), bytes=0)))
            continue
        members.append(member(job, files, mapping))
    members = members[:within_bounds(members, settings.batch_max_files,
                                     settings.batch_max_bytes)]
    if not settings.dry_run:
        members, held = _reserve(members, mapping, space)
        results += held
    inside = []
    for one in members:  # again, just before rsync: a path may be a link now
        try:
            for entry in one.files.entries:
                check_inside(mapping.source, "" if entry == "." else entry)
        except SourceRefused as exc:
            results.append((one.job, Failed(Decision.GIVE_UP, str(exc))))
            continue
        inside.append(one)
    return inside, results


def past_bounds(jobs: list[Job], members: list[Member],
                results: list[tuple[Job, Result]]) -> list[Job]:
    """The jobs `plan_run` left for a later run: neither copied now nor settled."""
    planned = {one.job.id for one in members} | {job.id for job, _ in results}
    return [job for job in jobs if job.id not in planned]


def _reserve(members: list[Member], mapping: Mapping, space: SpaceLedger
             ) -> tuple[list[Member], list[tuple[Job, Result]]]:
    """Reserve each member's bytes in order; the first that does not fit waits for the
    destination if it is the first of all, else for the next run, with those after it."""
    kept: list[Member] = []
    for one in members:
        try:
            space.reserve(one.job.id, mapping.dest, one.bytes)
        except DestinationNotReady as exc:
            return (kept, []) if kept else ([], [(one.job, Held(str(exc)))])
        kept.append(one)
    return kept, []


def within_bounds(members: list[Member], max_files: int, max_bytes: int) -> int:
    """How many of `members`, in order, one run takes: at least one, then while the files
    and bytes stay within the bounds."""
    files = size = 0
    for count, one in enumerate(members):
        files, size = files + len(one.files.copies), size + one.bytes
        if count and (files > max_files or size > max_bytes):
            return count
    return len(members)


def entries(members: list[Member]) -> list[str]:
    """The run's list for rsync: every member's entries, each once."""
    return list(dict.fromkeys(e for one in members for e in one.files.entries))


class Owners:
    """Which members a name rsync prints belongs to (a file, a folder of one, or a parent)."""

    def __init__(self, members: list[Member]) -> None:
        self._entry: dict[str, list[Member]] = {}
        self._above: dict[str, list[Member]] = {}  # folders above an entry
        for one in members:
            for entry in one.files.entries:
                clean = "" if entry == "." else entry.strip("/")
                self._entry.setdefault(clean, []).append(one)
                for above in ancestors(clean)[1:-1]:  # the folders between it and the root
                    self._above.setdefault(above, []).append(one)

    def of(self, name: str) -> list[Member]:
        clean = name.strip("/")
        if clean in self._above:
            return self._above[clean]
        return next((found for above in ancestors(clean)
                     if (found := self._entry.get(above))), [])


def judge(members: list[Member], result: RsyncResult | None, mapping: Mapping, *,
          dry_run: bool, stopping: bool) -> list[tuple[Job, Result]]:
    """Each member's result after the run (`classify`): copied, or skipped when the
    destination had it all, when its files are there whole; else what concerns it."""
    owners = Owners(members)
    results: list[tuple[Job, Result]] = []
    for one in members:
        outcome = classify(
            result, stopping=stopping,
            check=None if dry_run else partial(problem_with, one.files),
            remove_partials=partial(remove_partials, one.files, mapping.dest),
            relatives=one.relatives)
        if outcome is None:
            assert result is not None
            names = result.transferred if len(members) == 1 else [
                n for n in result.transferred
                if any(o.job.id == one.job.id for o in owners.of(n))]
            outcome = copy_done(one.files, mapping.source, names, dry_run=dry_run)
        results.append((one.job, outcome))
    return results


def hold_all(jobs: list[Job], error: DestinationNotReady) -> list[tuple[Job, Result]]:
    return [(job, Held(str(error))) for job in jobs]
