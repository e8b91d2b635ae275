"""From events and requests to jobs: one job per release and mapping.

An arr handler's knowledge ends here: the engine below only sees mappings and paths.
"""

from __future__ import annotations

import dataclasses
import logging
import posixpath
import re
import uuid
from dataclasses import dataclass

from arrsync.units import ancestors
from arrsync.wire.event import EventEnvelope
from arrsync.wire.job import JobState
from syncer.jobs.job import Job
from syncer.paths.mapping import PathMapper, PathRefused, Route, Unmapped

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str
    unmapped: bool = False  # under none of this syncer's mappings (maybe another's)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def new_request_id() -> str:
    """The trigger of a request's jobs when the request has no "id"."""
    return f"req-{uuid.uuid4().hex[:12]}"


def jobs_for_event(envelope: EventEnvelope, mapper: PathMapper, *, max_attempts: int,
                   now: float) -> tuple[list[Job], list[Refusal]]:
    """One job per release and mapping; paths that map nowhere become refusals."""
    routes: dict[str, list[Route]] = {}
    refusals: list[Refusal] = []
    for imported in envelope.files:
        try:
            route = mapper.route(imported.path)
        except PathRefused as exc:
            refusals.append(Refusal(imported.path, str(exc), isinstance(exc, Unmapped)))
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


def request_title(relative: str, fallback: str) -> str:
    """What a manual request is called: the file or folder, with its parent where the name
    alone says little ("Chernobyl (2019) Season 1", not "Season 1")."""
    parent, name = posixpath.split(relative)
    if parent and re.match(r"(?i)(season|specials|extras|featurettes)\b|s\d+$", name):
        return f"{posixpath.basename(parent)} {name}"
    return name or fallback


def job_for_request(request_id: str, route: Route, *, max_attempts: int, now: float) -> Job:
    title = request_title(route.relative, route.mapping.name)
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
    return next((owner for above in ancestors(path) if (owner := claimed.get(above))), None)


def drop_claimed(job: Job, claimed: dict[str, str]) -> tuple[Job, list[str]]:
    """The job without the paths another job already covers, and the ids of those jobs."""
    owners = [_covered(path, claimed) for path in job.paths]
    paths = [p for p, owner in zip(job.paths, owners, strict=True) if owner is None]
    return dataclasses.replace(job, paths=paths), sorted({owner for owner in owners if owner})
