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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from arrsync.settings import Mapping, SyncerSettings
from arrsync.units import human_size
from arrsync.wire.job import JobState
from syncer.copying.exitcodes import rsync_error_line, rsync_outcome
from syncer.copying.files import (
    FileSet,
    already_there,
    collect_for_attempt,
    copy_ending,
    nothing_copied,
    verify_sizes,
)
from syncer.copying.rsync import Progress, RsyncResult
from syncer.copying.space import NO_SPACE, SpaceLedger, remove_partials
from syncer.jobs.job import Ending, Job
from syncer.jobs.outcome import AttemptFailed, Decision, DestinationNotReady
from syncer.paths.safety import SourceRefused, check_inside

PROGRESS_INTERVAL_S = 1.0
MAX_DETAIL = 300  # characters of rsync's own words in a job's error


@dataclass
class Member:
    """One job's part of a coalesced run."""

    job: Job
    files: FileSet
    relatives: list[str] = field(default_factory=list)  # its files below the mapping root

    @property
    def bytes(self) -> int:
        return self.files.bytes


@dataclass
class Verdict:
    """How a job's attempt ended: one of an ending (succeeded, skipped, on hold), a failure,
    a hold for the destination, or an interruption by a stop."""

    job: Job
    ending: Ending | None = None
    failure: AttemptFailed | None = None
    hold: str | None = None          # the destination is not ready: wait, no attempt spent
    interrupted: bool = False        # the syncer is stopping: try again at the next start


def member(job: Job, files: FileSet, mapping: Mapping) -> Member:
    relatives = [posixpath.relpath(item.dest, mapping.dest) for item in files.items]
    return Member(job, files, relatives)


def plan_run(jobs: list[Job], mapping: Mapping, settings: SyncerSettings,
             space: SpaceLedger) -> tuple[list[Member], list[Verdict]]:
    """Collect each job's files, and settle now the jobs that need no copy (the source is
    missing or refused, the destination has it all). Keep, in order, what one run may take
    and the space allows (reserved in `space`); their attempt begins. Jobs in neither list
    are left for the next run."""
    members, verdicts = [], []
    for job in jobs:
        try:
            files = collect_for_attempt(job, mapping, sidecars=settings.sidecars)
        except AttemptFailed as exc:
            verdicts.append(Verdict(job, failure=exc))
            continue
        job.bytes, job.files = files.bytes, len(files.items)
        if not settings.dry_run and already_there(files):
            job.bytes = 0
            verdicts.append(Verdict(job, ending=Ending(JobState.SKIPPED, nothing_copied(files))))
            continue
        members.append(member(job, files, mapping))
    members = members[:within_bounds(members, settings.batch_max_files,
                                     settings.batch_max_bytes)]
    if not settings.dry_run:
        members, held = _reserve(members, mapping, space)
        verdicts += held
    for one in members:
        one.job.attempt += 1
    inside = []
    for one in members:  # again, just before rsync: a path may be a link now
        try:
            for entry in one.files.entries:
                check_inside(mapping.source, "" if entry == "." else entry)
        except SourceRefused as exc:
            verdicts.append(Verdict(one.job, failure=AttemptFailed(Decision.GIVE_UP, str(exc))))
            continue
        inside.append(one)
    return inside, verdicts


def past_bounds(jobs: list[Job], members: list[Member], verdicts: list[Verdict]) -> list[Job]:
    """The jobs `plan_run` left for a later run: neither copied now nor settled."""
    planned = {one.job.id for one in members} | {verdict.job.id for verdict in verdicts}
    return [job for job in jobs if job.id not in planned]


def _reserve(members: list[Member], mapping: Mapping, space: SpaceLedger
             ) -> tuple[list[Member], list[Verdict]]:
    """Reserve each member's bytes in order; the first that does not fit waits for the
    destination if it is the first of all, else for the next run, with those after it."""
    kept: list[Member] = []
    for one in members:
        try:
            space.reserve(one.job.id, mapping.dest, one.bytes)
        except DestinationNotReady as exc:
            return (kept, []) if kept else ([], [Verdict(one.job, hold=str(exc))])
        kept.append(one)
    return kept, []


def within_bounds(members: list[Member], max_files: int, max_bytes: int) -> int:
    """How many of `members`, in order, one run takes: at least one, then while the files
    and bytes stay within the bounds."""
    files = size = 0
    for count, one in enumerate(members):
        files, size = files + len(one.files.items), size + one.bytes
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
                parts = clean.split("/")
                for depth in range(1, len(parts)):
                    self._above.setdefault("/".join(parts[:depth]), []).append(one)

    def of(self, name: str) -> list[Member]:
        clean = name.strip("/")
        if clean in self._above:
            return self._above[clean]
        parts = clean.split("/")
        for depth in range(len(parts), -1, -1):
            found = self._entry.get("/".join(parts[:depth]))
            if found:
                return found
        return []


class ProgressSplit:
    """Turns the run's progress into one job's: the job whose file rsync is sending now."""

    def __init__(self, members: list[Member], report: Callable[[Job, Progress], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._owners = Owners(members)
        self._sizes = {rel: item.size for one in members
                       for rel, item in zip(one.relatives, one.files.items, strict=True)}
        self._single = members[0] if len(members) == 1 else None
        self._done: dict[str, int] = {}  # job id → bytes of its files sent before the current
        self._current: tuple[Member, int, int] | None = None  # member, file size, run bytes
        self._run_bytes = 0
        self._report, self._clock = report, clock
        self._last = 0.0

    def name(self, name: str) -> None:
        """rsync is about to send `name` (or made a folder): the file before it is sent."""
        if name not in self._sizes:
            return
        if self._current:
            previous, size, _ = self._current
            self._done[previous.job.id] = self._done.get(previous.job.id, 0) + size
        owners = self._owners.of(name)
        self._current = (owners[0], self._sizes[name], self._run_bytes) if owners else None

    def progress(self, progress: Progress) -> None:
        self._run_bytes = progress.bytes
        now = self._clock()
        if now - self._last < PROGRESS_INTERVAL_S:
            return
        if self._single:
            self._last = now
            self._report(self._single.job, progress)
            return
        if not self._current:
            return
        self._last = now
        one, size, began = self._current
        done = self._done.get(one.job.id, 0) + min(max(progress.bytes - began, 0), size)
        left = max(one.bytes - done, 0)
        self._report(one.job, Progress(
            bytes=done, percent=min(100, done * 100 // one.bytes) if one.bytes else 100,
            bytes_per_s=progress.bytes_per_s,
            eta_s=left // progress.bytes_per_s if progress.bytes_per_s else 0))


def _problem(files: FileSet) -> AttemptFailed | None:
    """What `verify_sizes` finds wrong with the job's files at the destination, if anything."""
    try:
        verify_sizes(files)
    except AttemptFailed as exc:
        return exc
    except OSError as exc:  # e.g. a file where one of its folders should be
        return AttemptFailed(Decision.RETRY, f"could not check the copy: {exc}")
    return None


def rsync_failure(result: RsyncResult, relatives: Sequence[str] = ()) -> AttemptFailed:
    """The exit code's decision, with rsync's lines about these files (or its first own
    error line)."""
    outcome = rsync_outcome(result.exit_code)
    own = [line for line in result.stderr.splitlines() if any(rel in line for rel in relatives)]
    detail = "; ".join(own[:2]) if own else rsync_error_line(result.stderr)
    reason = f"{outcome.reason} (rsync exit {result.exit_code}"
    reason = f"{reason}: {detail[:MAX_DETAIL]})" if detail else f"{reason})"
    return AttemptFailed(outcome.decision, reason)


def judge(members: list[Member], result: RsyncResult, mapping: Mapping, *, dry_run: bool,
          stopping: bool) -> list[Verdict]:
    """Each member's verdict after the run: copied (or skipped: the destination had it
    all) when its files are there whole, else the failure that concerns it."""
    owners = Owners(members)
    verdicts = []
    for one in members:
        names = result.transferred if len(members) == 1 else [
            n for n in result.transferred if any(o.job.id == one.job.id for o in owners.of(n))]
        if dry_run:
            problem = None if result.exit_code == 0 else rsync_failure(result, one.relatives)
        else:
            problem = _problem(one.files)
        if problem is None:
            ending = copy_ending(one.job, one.files, mapping.source, names, dry_run=dry_run)
            verdicts.append(Verdict(one.job, ending=ending))
        elif result.exit_code == 0 or (problem.decision is Decision.GIVE_UP and not dry_run):
            verdicts.append(Verdict(one.job, failure=problem))  # its own files' problem
        elif stopping:
            verdicts.append(Verdict(one.job, interrupted=True))
        elif NO_SPACE in result.stderr:  # ours to clean up: the next job that fits may go
            freed = remove_partials(one.files)
            verdicts.append(Verdict(one.job, hold=(
                f"the destination filled up during the copy ({rsync_error_line(result.stderr)}"
                f"); removed this job's partial files ({human_size(freed)})")))
        else:
            verdicts.append(Verdict(one.job, failure=rsync_failure(result, one.relatives)))
    return verdicts


def hold_all(jobs: list[Job], error: DestinationNotReady) -> list[Verdict]:
    return [Verdict(job, hold=str(error)) for job in jobs]
