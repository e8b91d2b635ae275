"""From events and requests to jobs, and from a job to the files one attempt copies.

An arr handler's knowledge ends here: the engine below only sees mappings and paths.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
import uuid
from dataclasses import dataclass

from arrsync.limits import quote
from arrsync.settings import Mapping
from arrsync.units import join_below
from arrsync.wire import EventEnvelope, JobState
from syncer.errors import AttemptFailed, Decision, SourceMissing, SourceRefused
from syncer.jobs import Ending, Job
from syncer.mapping import PathMapper, PathRefused, Route
from syncer.pathsafety import check_inside, files_below, locate
from syncer.sidecars import sidecars_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def jobs_for_event(envelope: EventEnvelope, mapper: PathMapper, *, max_attempts: int,
                   now: float) -> tuple[list[Job], list[Refusal]]:
    """One job per release and mapping; paths that map nowhere become refusals."""
    routes: dict[str, list[Route]] = {}
    refusals: list[Refusal] = []
    for imported in envelope.files:
        try:
            route = mapper.route(imported.path)
        except PathRefused as exc:
            refusals.append(Refusal(imported.path, str(exc)))
            continue
        routes.setdefault(route.mapping.name, []).append(route)
    jobs = [
        Job(id=new_job_id(), trigger=envelope.id, app=envelope.app, instance=envelope.instance,
            title=envelope.title, download_id=envelope.download_id, mapping=name,
            paths=list(dict.fromkeys(r.relative for r in found)), max_attempts=max_attempts,
            created_at=now, updated_at=now, next_attempt_at=now, series=envelope.series,
            episodes=[(e.season, e.episode) for e in envelope.episodes])
        for name, found in routes.items()
    ]
    return jobs, refusals


def job_for_request(request_id: str, route: Route, *, max_attempts: int, now: float) -> Job:
    title = posixpath.basename(route.relative) or route.mapping.name
    return Job(id=new_job_id(), trigger=request_id, app="manual", instance=None, title=title,
               download_id=None, mapping=route.mapping.name, paths=[route.relative],
               max_attempts=max_attempts, created_at=now, updated_at=now, next_attempt_at=now)


def refused_job(trigger: str | None, app: str | None, title: str | None, refusal: Refusal,
                now: float) -> Job:
    """A job that failed before it began, so `arrsync-syncer jobs` shows the refusal too."""
    return Job(id=new_job_id(), trigger=trigger, app=app, instance=None, title=title,
               download_id=None, mapping="", paths=[refusal.path], state=JobState.FAILED,
               max_attempts=0, error=refusal.reason, created_at=now, updated_at=now)


def retry_refusal(job_id: str, job: Job | None) -> str:
    """Why a retry request cannot run `job_id`: it is not there, not failed, or was refused
    before it began (its path is under no mapping, so it never had anything to retry)."""
    if job is None:
        return f"there is no job {job_id!r}; `arrsync-syncer jobs --failed` lists failed jobs"
    if job.state is not JobState.FAILED:
        return f"job {job_id} is {job.state.value}, not failed: only a failed job can be retried"
    if not job.mapping:
        return (f"job {job_id} was refused before it began ({job.error}), so it cannot be "
                "retried; a new request with a path under a mapping can (`arrsync-syncer "
                "explain PATH` shows how a path maps)")
    return f"the mapping {job.mapping!r} of job {job_id} is no longer configured"


def _covered(path: str, claimed: dict[str, str]) -> str | None:
    """The job that already has `path`, itself or a folder above it."""
    if path in claimed:
        return claimed[path]
    parts = path.split("/")
    for depth in range(len(parts) - 1, -1, -1):
        owner = claimed.get("/".join(parts[:depth]))
        if owner:
            return owner
    return None


def drop_claimed(job: Job, claimed: dict[str, str]) -> list[str]:
    """Remove paths another job already covers; returns the ids of those jobs."""
    owners = [_covered(path, claimed) for path in job.paths]
    job.paths = [p for p, owner in zip(job.paths, owners, strict=True) if owner is None]
    return sorted({owner for owner in owners if owner})


@dataclass(frozen=True)
class CopyItem:
    source: str
    dest: str
    size: int
    existed: bool  # the destination had this file before the attempt: never touched


@dataclass(frozen=True)
class FileSet:
    """What one attempt copies: rsync's relative entries and every file for verification."""

    entries: list[str]
    items: list[CopyItem]

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.items)


def _item(source: str, dest: str) -> CopyItem:
    return CopyItem(source, dest, os.lstat(source).st_size, os.path.lexists(dest))


def collect(job: Job, mapping: Mapping, *, sidecars: bool) -> FileSet:
    """Expand the job's paths to the files one attempt copies: SourceMissing if one is not
    (yet) there, SourceRefused if it never can be (see `pathsafety`)."""
    entries: list[str] = []
    items: list[CopyItem] = []
    skipped: list[str] = []

    def add(relative: str) -> None:
        check_inside(mapping.source, relative)
        listing = files_below(mapping.source, relative)
        if not listing.files and listing.skipped == [relative]:
            raise SourceRefused(f"{quote(join_below(mapping.source, relative))} is not a file or a "
                                "folder (a FIFO, socket or device); arrsync does not copy those")
        entries.append(relative or ".")
        skipped.extend(listing.skipped)
        items.extend(_item(path, join_below(mapping.dest, inner)) for path, inner in listing.files)

    for wanted in job.paths:
        relative = locate(mapping.source, wanted)
        if relative != wanted:
            log.info("job %s: the share spells %s in another Unicode form than the arr; "
                     "copying it as the share spells it", job.id, quote(wanted))
        add(relative)
        source = join_below(mapping.source, relative)
        if sidecars and os.path.isfile(source) and not os.path.islink(source):
            folder = posixpath.dirname(relative)
            for sidecar in sidecars_of(source):
                add(posixpath.join(folder, sidecar) if folder else sidecar)
    if skipped:
        log.warning("job %s: not copying %d link(s) out of the tree or special file(s): %s",
                    job.id, len(skipped), ", ".join(quote(s, 80) for s in skipped[:5]))
    return FileSet(list(dict.fromkeys(entries)), items)


def collect_for_attempt(job: Job, mapping: Mapping, *, sidecars: bool,
                        paths: list[str] | None = None) -> FileSet:
    """`collect` (of `paths` only, if given) for an attempt about to begin: a missing source
    spends the attempt and retries (it may never come), a refused one spends it and gives up
    (AttemptFailed)."""
    try:
        return collect(job if paths is None else dataclasses.replace(job, paths=paths),
                       mapping, sidecars=sidecars)
    except (SourceMissing, SourceRefused) as exc:
        job.attempt += 1
        decision = Decision.RETRY if isinstance(exc, SourceMissing) else Decision.GIVE_UP
        raise AttemptFailed(decision, str(exc)) from None


def verify_sizes(files: FileSet) -> None:
    """Compare sizes after the copy. A bad copy of ours is removed and retried (the source
    may have grown while it was copied); a file that was there before is never touched."""
    for item in files.items:
        try:
            size = os.lstat(item.dest).st_size
        except FileNotFoundError:
            raise AttemptFailed(Decision.RETRY, f"{item.dest} is missing after the copy") from None
        if size == item.size:
            continue
        if item.existed:
            raise AttemptFailed(Decision.GIVE_UP, (
                f"{item.dest} already existed with {size} bytes but the source has "
                f"{item.size}; arrsync never overwrites a file (only an upgrade event replaces "
                "one, with on_upgrade: recycle): remove it to copy again"))
        os.unlink(item.dest)
        raise AttemptFailed(Decision.RETRY, (
            f"{item.dest} had {size} bytes after the copy but the source has {item.size}; "
            "the source may still be growing"))


def copied(files: FileSet, source_root: str, transferred: list[str]) -> list[CopyItem]:
    """The items rsync reported as transferred (its names are relative to the source root)."""
    names = set(transferred)
    return [item for item in files.items
            if os.path.relpath(item.source, source_root) in names]


def already_there(files: FileSet) -> bool:
    """Every file of the attempt is at the destination with the source's size: rsync, which
    never overwrites, would copy nothing, so it need not start (a repeated request)."""
    try:
        return bool(files.items) and all(
            item.existed and os.lstat(item.dest).st_size == item.size for item in files.items)
    except OSError:
        return False


def nothing_copied(files: FileSet) -> str:
    return (f"the destination already has "
            f"{'this file' if len(files.items) == 1 else 'these files'} (same size); "
            "nothing was copied")


def copy_ending(job: Job, files: FileSet, source_root: str, transferred: list[str], *,
                dry_run: bool) -> Ending:
    """Succeeded when something was copied; skipped when the destination had it all.
    `job.bytes` becomes the bytes actually copied."""
    done = copied(files, source_root, transferred)
    job.bytes = sum(item.size for item in done)
    extra: dict[str, object] = {"dry_run": True, "would_copy": transferred} if dry_run else {}
    if done or not files.items:
        return Ending(JobState.SUCCEEDED, None, extra)
    return Ending(JobState.SKIPPED, nothing_copied(files), extra)
