"""From what the arr changed (upgrades, renames, deletes) to jobs, by each mapping's policy.

`on_upgrade`, `on_rename` and `on_delete` are read here, and nowhere else: with `keep`
there is no job at all. A change under no mapping is nothing to mirror (nothing of it was
ever synced), so it is logged, not refused.
"""

from __future__ import annotations

import dataclasses
import logging

from arrsync.wire.event import EventEnvelope, EventKind
from arrsync.wire.job import JobAction
from syncer.intake.plan import new_job_id
from syncer.jobs.job import Job
from syncer.paths.mapping import PathMapper, PathRefused, Route

log = logging.getLogger(__name__)

MIRRORED = (EventKind.RENAME, EventKind.FILE_DELETE, EventKind.FOLDER_DELETE)
# A file deleted as part of an import: the import's own event (its `replaced_files`) says
# what to do with it, by `on_upgrade`.
UPGRADE_REASONS = ("upgrade", "manualOverride")


def _route(mapper: PathMapper, path: str) -> Route | None:
    try:
        return mapper.route(path)
    except PathRefused as exc:
        log.info("nothing to mirror for %s: %s", path, exc)
        return None


def mark_upgrades(jobs: list[Job], envelope: EventEnvelope, mapper: PathMapper) -> list[Job]:
    """Import jobs of an upgrade become replace jobs where the mapping says `recycle`."""
    if not (envelope.is_upgrade or envelope.replaced_files):
        return jobs
    replaced = [r for f in envelope.replaced_files if (r := _route(mapper, f.path))]
    policies = {m.name: m.on_upgrade for m in mapper.mappings}
    return [dataclasses.replace(job, action=JobAction.REPLACE, replaced=[
                r.relative for r in replaced
                if r.mapping.name == job.mapping and r.relative not in job.paths])
            if policies.get(job.mapping) == "recycle" else job
            for job in jobs]


def replace_job(route: Route, *, trigger: str | None, app: str | None, title: str | None,
                max_attempts: int, now: float) -> Job | None:
    """A job that puts the source's file at the destination in place of the copy there
    (which goes to the recycle bin), as an upgrade does; None where the mapping says
    `on_upgrade: keep`. For callers that find a destination copy out of date (the audit)."""
    if route.mapping.on_upgrade != "recycle" or not route.relative:
        return None
    return Job(id=new_job_id(), trigger=trigger, app=app, instance=None, title=title,
               download_id=None, mapping=route.mapping.name, paths=[route.relative],
               max_attempts=max_attempts, created_at=now, updated_at=now, next_attempt_at=now,
               action=JobAction.REPLACE)


def jobs_for_change(envelope: EventEnvelope, mapper: PathMapper, *, max_attempts: int,
                    now: float) -> list[Job]:
    """Rename or recycle jobs for a rename or delete event, one per mapping."""
    if envelope.kind is EventKind.RENAME:
        return [_job(envelope, name, JobAction.RENAME, [new for _old, new in pairs], now,
                     max_attempts, renames=pairs)
                for name, pairs in _renames(envelope, mapper).items()]
    if envelope.kind is EventKind.FILE_DELETE:
        if envelope.delete_reason in UPGRADE_REASONS:
            log.debug("%s %s: deleted for an upgrade; the import handles it", envelope.app,
                      envelope.event)
            return []
        paths = [f.path for f in envelope.deleted_files]
    elif envelope.kind is EventKind.FOLDER_DELETE and envelope.deleted_folder:
        paths = [envelope.deleted_folder]
    else:
        return []
    removals: dict[str, list[str]] = {}
    for path in paths:
        route = _route(mapper, path)
        if route is None or route.mapping.on_delete != "recycle":
            continue
        if not route.relative:
            log.warning("not recycling %s: it is a mapping's whole root", path)
            continue
        removals.setdefault(route.mapping.name, []).append(route.relative)
    return [_job(envelope, name, JobAction.RECYCLE, relatives, now, max_attempts)
            for name, relatives in removals.items()]


def _renames(envelope: EventEnvelope,
             mapper: PathMapper) -> dict[str, list[tuple[str | None, str]]]:
    """Mapping name → (old, new) relative paths; old is None when it was not under the same
    mapping (nothing to rename there: the new name is copied)."""
    found: dict[str, list[tuple[str | None, str]]] = {}
    for renamed in envelope.renamed_files:
        new = _route(mapper, renamed.path)
        if new is None or new.mapping.on_rename != "rename" or not new.relative:
            continue
        old = _route(mapper, renamed.previous_path)
        same = old is not None and old.mapping.name == new.mapping.name and old.relative
        found.setdefault(new.mapping.name, []).append(
            (old.relative if same and old else None, new.relative))
    return found


def _job(envelope: EventEnvelope, mapping: str, action: JobAction, paths: list[str],
         now: float, max_attempts: int,
         renames: list[tuple[str | None, str]] | None = None) -> Job:
    return Job(id=new_job_id(), trigger=envelope.id, app=envelope.app,
               instance=envelope.instance, title=envelope.title,
               download_id=envelope.download_id, mapping=mapping,
               paths=list(dict.fromkeys(paths)), max_attempts=max_attempts, created_at=now,
               updated_at=now, next_attempt_at=now, series=envelope.series,
               episodes=[(e.season, e.episode) for e in envelope.episodes], action=action,
               renames=renames or [])
