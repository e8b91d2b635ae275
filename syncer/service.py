"""The syncer process: MQTT intake → durable jobs → engine, acknowledging only what is stored.

Messages arrive on the network thread and are queued for one intake thread (`intake`),
which takes what has arrived together; each message is turned into jobs here, all of them are
committed at once (with the event ids, for de-duplication), and only then are the messages
acknowledged and the jobs handed to the workers; while the store cannot be written it waits
with them. A message that cannot be understood gets a `failed` status of bounded size; a
retained request is ignored.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from pydantic import ValidationError

from arrsync.limits import QUOTE_CHARS, clip, quote
from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.takeover import takeover_message
from arrsync.wire.event import EventEnvelope, EventKind, parse_envelope
from arrsync.wire.job import ACTIVE, JobAction, JobState
from arrsync.wire.parse import WireError, describe
from syncer.audit.runner import AuditRunner, BadAuditRequest, audit_request, replace_request
from syncer.engine.engine import Engine
from syncer.intake.changes import MIRRORED, jobs_for_change, mark_upgrades
from syncer.intake.inbox import Intake, IntakeBatch
from syncer.intake.plan import (
    Refusal,
    drop_claimed,
    job_for_request,
    jobs_for_event,
    refused_job,
    retry_refusal,
)
from syncer.intake.requests import BadRequest, parse_request
from syncer.jobs.health import StoreHealth, is_store_failure
from syncer.jobs.job import Job
from syncer.jobs.schedule import Gate
from syncer.jobs.store import JobStore
from syncer.mirror.recycle_bin import BinKeeper
from syncer.paths.mapping import PathMapper, PathRefused
from syncer.report.history import History
from syncer.report.homeassistant import Discovery
from syncer.report.stats import StatsPublisher
from syncer.report.status import StatusReporter

log = logging.getLogger(__name__)

DEDUP_WINDOW_S = 24 * 3600  # a path synced within this window is not synced again


class SyncerService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.store = JobStore(settings.syncer.state_path)  # DatabaseUnusable: damaged, locked
        self.fatal: str | None = None  # why this syncer must end (run_until_signalled asks)
        self.mqtt = MqttConnection(settings.mqtt, "syncer", client_id=settings.syncer.client_id,
                                   durable_session=True, manual_ack=True,
                                   on_takeover_loop=self._taken_over)
        self.topics = self.mqtt.topics
        self.mapper = PathMapper(settings.syncer.mappings, (settings.syncer.recycle_dir,))
        self.reporter = StatusReporter(self.mqtt, self.store, settings.syncer.mappings, clock)
        self.health = StoreHealth(settings.syncer.state_path, self.reporter.store_problem)
        self.engine = Engine(settings.syncer, self.store, self.reporter, self.health, clock)
        self.bins = BinKeeper(settings.syncer, self.engine.guard, clock)
        self.auditor = AuditRunner(settings, self.mqtt)
        self.stats = StatsPublisher(self.mqtt, self.store, History(settings.syncer.state_path),
                                    [m.name for m in settings.syncer.mappings], clock)
        self.reporter.observer = self.stats.note
        self.discovery = Discovery(settings) if settings.homeassistant.discovery else None
        keep_s = settings.syncer.keep_finished_days * 86400
        self.intake = Intake(self._handle, self.mqtt.ack, self.store, self.health,
                             prune_before=lambda: self.clock() - keep_s,
                             alone=lambda message: message.topic == self.topics.sync_request)
        self.mqtt.subscribe(self.topics.all_events)
        self.mqtt.subscribe(self.topics.sync_request)
        self.mqtt.on_message(self.intake.put)

    def start(self) -> None:
        self.engine.start()
        self.bins.start()
        self.intake.start()
        self.mqtt.start()
        self.reporter.start()
        self.stats.start()
        if self.discovery:
            self.discovery.start()

    def stop(self) -> None:
        """Stop taking messages (unacknowledged ones are redelivered), finish, say offline."""
        log.info("stopping: running copies may finish for up to %ss",
                 self.settings.syncer.shutdown_grace)
        self.intake.stop()
        self.engine.stop(self.settings.syncer.shutdown_grace)
        self.bins.stop()
        self.reporter.stop()
        self.stats.stop()
        if self.discovery:
            self.discovery.stop()
        self.mqtt.stop()
        self.store.close()

    # -- intake ------------------------------------------------------------------------------
    def _handle(self, messages: list[paho.MQTTMessage]) -> None:
        """Plan each message, store all their jobs at once, then announce them and hand the
        waiting ones to the workers (their 'started' waits for the 'queued' announced)."""
        batch = IntakeBatch(self.store)
        for message in messages:
            try:
                self._plan(message, batch)
            except Exception as exc:
                if is_store_failure(exc):
                    raise  # the whole batch waits for the store
                log.exception("could not handle a message on %s; dropping it", message.topic)
        kept = self.store.add_many([(e.key, e.jobs) for e in batch.entries], self.clock())
        entries = [entry for entry, ok in zip(batch.entries, kept, strict=True) if ok]
        jobs = [job for entry in entries for job in entry.announce]
        gate = Gate()  # the engine's own copies: a worker may change them while we announce
        self.engine.submit([copy.copy(job) for job in jobs if job.state in ACTIVE], gate)
        try:
            self._announce(jobs)
        finally:
            gate.open()

    def _plan(self, message: paho.MQTTMessage, batch: IntakeBatch) -> None:
        if message.topic != self.topics.sync_request:
            self._event(bytes(message.payload), message.topic, batch)
        elif message.retain:
            log.warning("ignoring a retained request on %s: it would run again at every start. "
                        "Clear it with: mosquitto_pub -r -n -t '%s'", message.topic,
                        message.topic)
        else:
            self._request(bytes(message.payload), batch)

    def _taken_over(self) -> None:
        """On the network thread: another client keeps taking our MQTT session."""
        self.fatal = self.fatal or takeover_message(self.settings.syncer.client_id)

    def _event(self, payload: bytes, topic: str, batch: IntakeBatch) -> None:
        try:
            envelope = parse_envelope(payload)
        except (WireError, ValidationError) as exc:
            self._refuse(None, None, topic, f"the event on {quote(topic)} cannot be read: "
                         f"{clip(describe(exc), QUOTE_CHARS)}", self.clock(), batch)
            return
        handled = envelope.kind in (EventKind.TEST, *MIRRORED) or (
            envelope.kind is EventKind.IMPORT and envelope.files)
        if handled and batch.seen(envelope.id):
            log.info("event %s was already handled; ignoring the repeat", envelope.id)
        elif envelope.kind is EventKind.TEST:
            self._test(envelope, batch)
        elif envelope.kind is EventKind.IMPORT and envelope.files:
            self._import(envelope, batch)
        elif envelope.kind in MIRRORED:
            self._mirror(envelope, batch)
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

    def _import(self, envelope: EventEnvelope, batch: IntakeBatch) -> None:
        now = self.clock()
        jobs, refusals = jobs_for_event(envelope, self.mapper,
                                        max_attempts=self.settings.syncer.max_attempts, now=now)
        mark_upgrades(jobs, envelope, self.mapper)
        for job in jobs:
            if job.action is JobAction.REPLACE:
                continue  # an upgrade replaces what an earlier sync of the path brought
            wanted = list(job.paths)
            owners = drop_claimed(job, batch.owners(job.mapping, wanted, now - DEDUP_WINDOW_S))
            if not job.paths:
                job.paths, job.state = wanted, JobState.SKIPPED
                job.error = f"already synced or queued by job {', '.join(owners)}"
        failed = [refused_job(envelope.id, envelope.app, envelope.title, r, now)
                  for r in refusals]
        for refusal in refusals:
            log.warning("%s import %r not synced: %s", envelope.app, envelope.title,
                        refusal.reason)
        batch.add(envelope.id, [*jobs, *failed])

    def _mirror(self, envelope: EventEnvelope, batch: IntakeBatch) -> None:
        """A rename or delete: jobs where the mapping's on_rename / on_delete asks for one."""
        now = self.clock()
        jobs = jobs_for_change(envelope, self.mapper,
                               max_attempts=self.settings.syncer.max_attempts, now=now)
        if not jobs:
            log.info("%s %s: nothing to mirror (mapping policy, or no mapping)", envelope.app,
                     envelope.event)
            return
        batch.add(envelope.id, jobs)

    def _request(self, payload: bytes, batch: IntakeBatch) -> None:
        now = self.clock()
        if self._audit(payload, now, batch):
            return
        try:
            request_id, path, about_job = parse_request(payload)
        except BadRequest as exc:
            self._refuse(None, "manual", payload.decode("utf-8", "replace"), str(exc), now,
                         batch)
            return
        if about_job is not None:
            verb, job_id = about_job
            if verb == "retry" and job_id == "last":  # Home Assistant's button: the last failure
                failed = self.store.recent(1, JobState.FAILED)
                job_id = failed[0].id if failed else job_id
            if verb == "retry" and self.engine.retry(job_id) is None:
                self._refuse(request_id, "manual", job_id,
                             retry_refusal(job_id, self.store.get(job_id)), now, batch)
            elif verb == "dismiss" and self.engine.dismiss(job_id) is None:
                self._refuse(request_id, "manual", job_id,
                             f"there is no job on hold {quote(job_id)} to dismiss", now, batch)
            return
        assert path is not None
        if batch.seen(request_id):
            log.info("request %s was already handled; ignoring the repeat", request_id)
            return
        try:
            route = self.mapper.route(path)
        except PathRefused as exc:
            self._refuse(request_id, "manual", path, str(exc), now, batch)
            return
        job = job_for_request(request_id, route, max_attempts=self.settings.syncer.max_attempts,
                              now=now)
        owners = drop_claimed(job, batch.owners(job.mapping, job.paths, float("inf")))
        if not job.paths:  # only active jobs count: a manual request may repeat a sync
            job.paths = [route.relative]
            job.state = JobState.SKIPPED
            job.error = f"already queued or running as job {', '.join(owners)}"
        batch.add(request_id, [job])

    def _audit(self, payload: bytes, now: float, batch: IntakeBatch) -> bool:
        """An audit, or a replacement an audit asks for (see syncer.audit_runner); False
        for any other request."""
        try:
            audit = audit_request(payload, self.settings.arrs)
        except BadAuditRequest as exc:
            self._refuse(None, "manual", "audit", str(exc), now, batch)
            return True
        if audit is not None:
            if not self.auditor.start(*audit):
                log.info("an audit is still running; the request for another is ignored")
            return True
        replacement = replace_request(
            payload, self.mapper, lambda name, paths: batch.owners(name, paths, float("inf")),
            max_attempts=self.settings.syncer.max_attempts, now=now)
        if replacement is None:
            return False
        request_id, outcome = replacement
        if isinstance(outcome, Refusal):
            self._refuse(request_id, "manual", outcome.path, outcome.reason, now, batch)
        elif not batch.seen(request_id):
            batch.add(request_id, [outcome])
        return True

    def _refuse(self, trigger: str | None, app: str | None, what: str, reason: str,
                now: float, batch: IntakeBatch) -> None:
        """A failed job for what cannot be done; it quotes at most a few hundred characters
        of what came in, so a megabyte request is not echoed back."""
        shown = clip(what, QUOTE_CHARS) or ""
        job = refused_job(trigger, app, shown, Refusal(shown, clip(reason, 1000) or ""), now)
        log.warning("refused %s: %s", quote(what), job.error)
        batch.add(None, [job])

    def _announce(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.reporter.job(job, job.state)
            if job.state in ACTIVE:
                log.info("queued %s job %s: %s (%d path(s), mapping %s)", job.action, job.id,
                         job.title, len(job.paths), job.mapping)
