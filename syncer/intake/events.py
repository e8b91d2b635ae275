"""Events into jobs: an import copies (or replaces, for an upgrade), a rename or delete
mirrors by the mapping's policy, a test proves the chain; anything else is not ours.

An event id already stored is a repeat (the broker redelivers until it has our
acknowledgement) and makes nothing. A path synced or queued within `DEDUP_WINDOW_S` is not
synced again. An event that cannot be read gets a `failed` status of bounded size.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from pydantic import ValidationError

from arrsync.limits import QUOTE_CHARS, clip, quote
from arrsync.wire.event import EventEnvelope, EventKind, parse_envelope
from arrsync.wire.job import JobAction, JobState
from arrsync.wire.parse import WireError, describe
from syncer.intake.changes import MIRRORED, jobs_for_change, mark_upgrades
from syncer.intake.inbox import IntakeBatch
from syncer.intake.peers import Peers
from syncer.intake.plan import Refusal, drop_claimed, jobs_for_event, refused_job
from syncer.jobs.job import Job
from syncer.paths.mapping import PathMapper

log = logging.getLogger(__name__)

DEDUP_WINDOW_S = 24 * 3600  # a path synced within this window is not synced again


class EventPlanner:
    def __init__(self, mapper: PathMapper, max_attempts: int, peers: Peers | None = None
                 ) -> None:
        """`peers`: the other syncers on the broker; an import one of them maps is theirs."""
        self.mapper = mapper
        self.max_attempts = max_attempts
        self.peers = peers

    def plan(self, payload: bytes, topic: str, batch: IntakeBatch, now: float) -> None:
        """The jobs of one event, added to `batch`."""
        try:
            envelope = parse_envelope(payload)
        except (WireError, ValidationError) as exc:
            reason = (f"the event on {quote(topic)} cannot be read: "
                      f"{clip(describe(exc), QUOTE_CHARS)}")
            log.warning("refused %s: %s", quote(topic), reason)
            if self.peers is None or self.peers.reports_unmapped():  # one report for all
                batch.add(None, [refused_job(None, None, clip(topic, QUOTE_CHARS),
                                             Refusal(topic, reason), now)])
            return
        handled = envelope.kind in (EventKind.TEST, *MIRRORED) or (
            envelope.kind is EventKind.IMPORT and envelope.files)
        if handled and batch.seen(envelope.id):
            log.info("event %s was already handled; ignoring the repeat", envelope.id)
        elif envelope.kind is EventKind.TEST:
            self._test(envelope, batch)
        elif envelope.kind is EventKind.IMPORT and envelope.files:
            self._import(envelope, batch, now)
        elif envelope.kind in MIRRORED:
            self._mirror(envelope, batch, now)
        elif envelope.kind is EventKind.IMPORT:
            log.warning("%s %s %r lists no files: nothing to sync", envelope.app, envelope.event,
                        envelope.title)
        else:
            log.debug("ignoring %s %s: not an import", envelope.app, envelope.event)

    def _test(self, envelope: EventEnvelope, batch: IntakeBatch) -> None:
        who = envelope.instance or envelope.app
        job = Job(id=f"test-{envelope.id[:12]}", trigger=envelope.id, app=envelope.app,
                  instance=envelope.instance, title=f"{who} webhook test", download_id=None,
                  mapping="", paths=[], state=JobState.TEST, max_attempts=0)
        log.info("test event from %s: the chain arr → bridge → syncer works", who)
        batch.add(envelope.id, [], announce=[job])

    def _import(self, envelope: EventEnvelope, batch: IntakeBatch, now: float) -> None:
        planned, refusals = jobs_for_event(envelope, self.mapper,
                                           max_attempts=self.max_attempts, now=now)
        refusals = [r for r in refusals if self._to_report(envelope, r)]
        jobs = []
        for job in mark_upgrades(planned, envelope, self.mapper):
            if job.action is not JobAction.REPLACE:  # an upgrade replaces an earlier sync
                wanted = job.paths
                job, owners = drop_claimed(
                    job, batch.owners(job.mapping, wanted, now - DEDUP_WINDOW_S))
                if not job.paths:
                    job = replace(job, paths=wanted, state=JobState.SKIPPED,
                                  error=f"already synced or queued by job {', '.join(owners)}")
            jobs.append(job)
        failed = [refused_job(envelope.id, envelope.app, envelope.title, r, now)
                  for r in refusals]
        for refusal in refusals:
            log.warning("%s import %r not synced: %s", envelope.app, envelope.title,
                        refusal.reason)
        batch.add(envelope.id, [*jobs, *failed])

    def _to_report(self, envelope: EventEnvelope, refusal: Refusal) -> bool:
        """An unmapped path is reported by one syncer only, and only when no online
        syncer maps it (`syncer.intake.peers`)."""
        if not refusal.unmapped or self.peers is None:
            return True
        if owner := self.peers.mapped_by(refusal.path):
            log.debug("%s import %r: %s is mapped by syncer %s", envelope.app, envelope.title,
                      quote(refusal.path), owner)
            return False
        if not self.peers.reports_unmapped():
            log.info("%s import %r: %s is under no mapping of an online syncer; syncer %s "
                     "reports it", envelope.app, envelope.title, quote(refusal.path),
                     self.peers.reporter() or "(unnamed)")
            return False
        return True

    def _mirror(self, envelope: EventEnvelope, batch: IntakeBatch, now: float) -> None:
        """A rename or delete: jobs where the mapping's on_rename / on_delete asks for one."""
        jobs = jobs_for_change(envelope, self.mapper, max_attempts=self.max_attempts, now=now)
        if not jobs:
            log.info("%s %s: nothing to mirror (mapping policy, or no mapping)", envelope.app,
                     envelope.event)
            return
        batch.add(envelope.id, jobs)
