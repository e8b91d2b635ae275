"""The syncer process: MQTT intake → durable jobs → engine, acknowledging only what is stored.

Messages arrive on the network thread and are queued for one intake thread, which turns
each into jobs, commits them (with the event id, for de-duplication) and only then
acknowledges the message. Anything not acknowledged is redelivered by the broker.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
from pydantic import ValidationError

from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.wire import ACTIVE, EventEnvelope, EventKind, JobAction, JobState, parse_envelope
from syncer.audit_runner import AuditRunner, BadAuditRequest, audit_request, replace_request
from syncer.changes import MIRRORED, jobs_for_change, mark_upgrades
from syncer.engine import Engine
from syncer.history import History
from syncer.homeassistant import Discovery
from syncer.jobs import Job
from syncer.mapping import PathMapper, PathRefused
from syncer.plan import (
    Refusal,
    drop_claimed,
    job_for_request,
    jobs_for_event,
    refused_job,
    retry_refusal,
)
from syncer.recycle import BinKeeper
from syncer.stats import StatsPublisher
from syncer.status import StatusReporter
from syncer.store import JobStore

log = logging.getLogger(__name__)

DEDUP_WINDOW_S = 24 * 3600  # a path synced within this window is not synced again
PRUNE_EVERY_S = 3600


class BadRequest(Exception):
    """A manual request that cannot be understood."""


JOB_VERBS = ("retry", "dismiss")  # {"retry": JOB}: run again or release; {"dismiss": JOB}


def parse_request(payload: bytes) -> tuple[str, str | None, tuple[str, str] | None]:
    """A request as (request id, path, (verb, job id) for a request about a job)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"the request is not valid JSON: {exc.msg}") from None
        request_id = data.get("id") if isinstance(data.get("id"), str) else None
        request_id = request_id or f"req-{uuid.uuid4().hex[:12]}"
        for verb in JOB_VERBS:
            if isinstance(data.get(verb), str):
                return request_id, None, (verb, data[verb])
        if not isinstance(data.get("path"), str):
            raise BadRequest('a JSON request needs "path" (a string), or "retry" or "dismiss" '
                             "(a job id)")
        return request_id, data["path"], None
    path = text.strip("\r\n")
    if not path.strip():
        raise BadRequest("the request is empty; send a path")
    return f"req-{uuid.uuid4().hex[:12]}", path, None


class SyncerService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.store = JobStore(settings.syncer.state_path)
        self.mqtt = MqttConnection(settings.mqtt, "syncer", client_id=settings.syncer.client_id,
                                   durable_session=True, manual_ack=True)
        self.topics = self.mqtt.topics
        self.mapper = PathMapper(settings.syncer.mappings, (settings.syncer.recycle_dir,))
        self.reporter = StatusReporter(self.mqtt, self.store, settings.syncer.mappings, clock)
        self.engine = Engine(settings.syncer, self.store, self.reporter, clock)
        self.bins = BinKeeper(settings.syncer, self.engine.guard, clock)
        self.auditor = AuditRunner(settings, self.mqtt)
        self.stats = StatsPublisher(self.mqtt, self.store, History(settings.syncer.state_path),
                                    [m.name for m in settings.syncer.mappings], clock)
        self.reporter.observer = self.stats.note
        self.discovery = Discovery(settings) if settings.homeassistant.discovery else None
        self._inbox: queue.Queue[paho.MQTTMessage | None] = queue.Queue()
        self._intake = threading.Thread(target=self._take_in, name="intake", daemon=True)
        self.mqtt.subscribe(self.topics.all_events)
        self.mqtt.subscribe(self.topics.sync_request)
        self.mqtt.on_message(self._inbox.put)

    def start(self) -> None:
        self.engine.start()
        self.bins.start()
        self._intake.start()
        self.mqtt.start()
        self.reporter.summary()
        self.stats.start()
        if self.discovery:
            self.discovery.start()

    def stop(self) -> None:
        """Stop taking messages (unacknowledged ones are redelivered), finish, say offline."""
        log.info("stopping: running copies may finish for up to %ss",
                 self.settings.syncer.shutdown_grace)
        self._inbox.put(None)
        self._intake.join(timeout=10)
        self.engine.stop(self.settings.syncer.shutdown_grace)
        self.bins.stop()
        self.reporter.summary()
        self.stats.stop()
        if self.discovery:
            self.discovery.stop()
        self.mqtt.stop()
        self.store.close()

    # -- intake ------------------------------------------------------------------------------
    def _take_in(self) -> None:
        next_prune = 0.0
        while True:
            if time.monotonic() >= next_prune:
                self._prune()
                next_prune = time.monotonic() + PRUNE_EVERY_S
            try:
                message = self._inbox.get(timeout=60)
            except queue.Empty:
                continue
            if message is None:
                return
            try:
                if message.topic == self.topics.sync_request:
                    self._request(bytes(message.payload))
                else:
                    self._event(bytes(message.payload))
            except Exception:
                log.exception("could not handle a message on %s; dropping it", message.topic)
            self.mqtt.ack(message.mid, message.qos)

    def _prune(self) -> None:
        cutoff = self.clock() - self.settings.syncer.keep_finished_days * 86400
        removed = self.store.prune(cutoff)
        if removed:
            log.info("pruned %d finished job(s)", removed)

    def _event(self, payload: bytes) -> None:
        try:
            envelope = parse_envelope(payload)
        except ValidationError as exc:
            log.warning("ignoring a malformed event envelope (%d problem(s))", exc.error_count())
            return
        if envelope.kind is EventKind.TEST:
            self._test(envelope)
        elif envelope.kind is EventKind.IMPORT and envelope.files:
            self._import(envelope)
        elif envelope.kind in MIRRORED:
            self._mirror(envelope)
        elif envelope.kind is EventKind.IMPORT:
            log.warning("%s %s %r lists no files: nothing to sync", envelope.app, envelope.event,
                        envelope.title)
        else:
            log.debug("ignoring %s %s: not an import", envelope.app, envelope.event)

    def _test(self, envelope: EventEnvelope) -> None:
        if not self.store.add(envelope.id, [], self.clock()):
            return
        who = envelope.instance or envelope.app
        job = Job(id=f"test-{envelope.id[:12]}", trigger=envelope.id, app=envelope.app,
                  instance=envelope.instance, title=f"{who} webhook test", download_id=None,
                  mapping="", paths=[], state=JobState.TEST, max_attempts=0)
        log.info("test event from %s: the chain arr → bridge → syncer works", who)
        self.reporter.job(job, JobState.TEST)

    def _import(self, envelope: EventEnvelope) -> None:
        now = self.clock()
        jobs, refusals = jobs_for_event(envelope, self.mapper,
                                        max_attempts=self.settings.syncer.max_attempts, now=now)
        mark_upgrades(jobs, envelope, self.mapper)
        for job in jobs:
            if job.action is JobAction.REPLACE:
                continue  # an upgrade replaces what an earlier sync of the path brought
            wanted = list(job.paths)
            owners = drop_claimed(job, self.store.claimed_paths(job.mapping,
                                                                now - DEDUP_WINDOW_S))
            if not job.paths:
                job.paths, job.state = wanted, JobState.SKIPPED
                job.error = f"already synced or queued by job {', '.join(owners)}"
        failed = [refused_job(envelope.id, envelope.app, envelope.title, r, now)
                  for r in refusals]
        if not self.store.add(envelope.id, [*jobs, *failed], now):
            log.info("event %s was already handled; ignoring the repeat", envelope.id)
            return
        for refusal in refusals:
            log.warning("%s import %r not synced: %s", envelope.app, envelope.title,
                        refusal.reason)
        self._announce([*jobs, *failed])

    def _mirror(self, envelope: EventEnvelope) -> None:
        """A rename or delete: jobs where the mapping's on_rename / on_delete asks for one."""
        now = self.clock()
        jobs = jobs_for_change(envelope, self.mapper,
                               max_attempts=self.settings.syncer.max_attempts, now=now)
        if not jobs:
            log.info("%s %s: nothing to mirror (mapping policy, or no mapping)", envelope.app,
                     envelope.event)
            return
        if not self.store.add(envelope.id, jobs, now):
            log.info("event %s was already handled; ignoring the repeat", envelope.id)
            return
        self._announce(jobs)

    def _request(self, payload: bytes) -> None:
        now = self.clock()
        if self._audit(payload, now):
            return
        try:
            request_id, path, about_job = parse_request(payload)
        except BadRequest as exc:
            self._refuse(None, payload.decode("utf-8", "replace")[:200], str(exc), now)
            return
        if about_job is not None:
            verb, job_id = about_job
            if verb == "retry" and job_id == "last":  # Home Assistant's button: the last failure
                failed = self.store.recent(1, JobState.FAILED)
                job_id = failed[0].id if failed else job_id
            if verb == "retry" and self.engine.retry(job_id) is None:
                self._refuse(request_id, job_id,
                             retry_refusal(job_id, self.store.get(job_id)), now)
            elif verb == "dismiss" and self.engine.dismiss(job_id) is None:
                self._refuse(request_id, job_id, f"there is no job on hold {job_id!r} to dismiss",
                             now)
            return
        assert path is not None
        try:
            route = self.mapper.route(path)
        except PathRefused as exc:
            self._refuse(request_id, path, str(exc), now)
            return
        job = job_for_request(request_id, route, max_attempts=self.settings.syncer.max_attempts,
                              now=now)
        owners = drop_claimed(job, self.store.claimed_paths(job.mapping, float("inf")))
        if not job.paths:  # only active jobs count: a manual request may repeat a sync
            job.paths = [route.relative]
            job.state = JobState.SKIPPED
            job.error = f"already queued or running as job {', '.join(owners)}"
        if not self.store.add(request_id, [job], now):
            log.info("request %s was already handled; ignoring the repeat", request_id)
            return
        self._announce([job])

    def _audit(self, payload: bytes, now: float) -> bool:
        """An audit, or a replacement an audit asks for (see syncer.audit_runner); False
        for any other request."""
        try:
            audit = audit_request(payload, self.settings.arrs)
        except BadAuditRequest as exc:
            self._refuse(None, "audit", str(exc), now)
            return True
        if audit is not None:
            if not self.auditor.start(*audit):
                log.info("an audit is still running; the request for another is ignored")
            return True
        replacement = replace_request(
            payload, self.mapper, lambda name: self.store.claimed_paths(name, float("inf")),
            max_attempts=self.settings.syncer.max_attempts, now=now)
        if replacement is None:
            return False
        request_id, outcome = replacement
        if isinstance(outcome, Refusal):
            self._refuse(request_id, outcome.path, outcome.reason, now)
        elif self.store.add(request_id, [outcome], now):
            self._announce([outcome])
        return True

    def _refuse(self, request_id: str | None, path: str, reason: str, now: float) -> None:
        job = refused_job(request_id, "manual", path, Refusal(path, reason), now)
        self.store.add(None, [job], now)
        log.warning("refused request %r: %s", path, reason)
        self._announce([job])

    def _announce(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.reporter.job(job, job.state)
            if job.state in ACTIVE:
                log.info("queued %s job %s: %s (%d path(s), mapping %s)", job.action, job.id,
                         job.title, len(job.paths), job.mapping)
        self.engine.wake()
