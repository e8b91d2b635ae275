"""The syncer process: MQTT intake → durable jobs → engine, acknowledging only what is stored.

Messages arrive on the network thread and are queued for one intake thread
(`syncer.intake.inbox`), which takes what has arrived together; each event is planned into
jobs (`syncer.intake.events`), each request answered (`syncer.intake.requests`), all the jobs
are committed at once (with the event ids, for de-duplication); only then are the jobs
handed to the workers, their 'queued' published, the answers published and, last, the
messages acknowledged (by the intake thread). While the store cannot be written the batch
waits, unacknowledged. A retained request is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

import paho.mqtt.client as paho

from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.takeover import takeover_message
from arrsync.topics import Topics
from arrsync.wire.alert import Problem
from arrsync.wire.job import ACTIVE
from syncer.audit.runner import AuditRunner
from syncer.engine.engine import Engine
from syncer.intake.events import EventPlanner
from syncer.intake.inbox import Intake, IntakeBatch
from syncer.intake.peers import Peers, announcement
from syncer.intake.requests import RequestHandler
from syncer.jobs.health import StoreHealth, is_store_failure
from syncer.jobs.job import Job
from syncer.jobs.schedule import Gate
from syncer.jobs.store import JobStore
from syncer.mirror.recycle_bin import BinKeeper
from syncer.paths.mapping import PathMapper
from syncer.report.history import History
from syncer.report.homeassistant import Discovery
from syncer.report.stats import StatsPublisher
from syncer.report.status import StatusReporter

log = logging.getLogger(__name__)


class SyncerService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        syncer = settings.syncer
        self.store = JobStore(syncer.state_path)  # DatabaseUnusable: damaged, locked
        self.fatal: str | None = None  # why this syncer must end (run_until_signalled asks)
        self.mqtt = MqttConnection(settings.mqtt, "syncer", client_id=syncer.client_id,
                                   topics=Topics(settings.mqtt.base_topic, syncer.name),
                                   durable_session=True, manual_ack=True,
                                   on_takeover_loop=self._taken_over)
        self.topics = self.mqtt.topics
        self.mapper = PathMapper(syncer.mappings, (syncer.recycle_dir,))
        self.reporter = StatusReporter(self.mqtt, self.store, syncer.mappings, clock)
        self.health = StoreHealth(syncer.state_path, self.reporter.store_problem)
        self.engine = Engine(syncer, self.store, self.reporter, self.health, clock)
        self.bins = BinKeeper(syncer, self.engine.guard, clock,
                              alert=partial(self.reporter.alert, Problem.RECYCLE_BIN))
        self.peers = Peers(self.topics)
        self.events = EventPlanner(self.mapper, syncer.max_attempts, self.peers)
        self.requests = RequestHandler(self.mapper, self.engine, self.store,
                                       AuditRunner(settings, self.mqtt), settings.arrs,
                                       syncer.max_attempts, self.peers)
        self.stats = StatsPublisher(self.mqtt, self.store, History(syncer.state_path),
                                    [m.name for m in syncer.mappings], clock)
        self.reporter.observer = self.stats.note
        self.discovery = Discovery(settings) if settings.homeassistant.discovery else None
        keep_s = syncer.keep_finished_days * 86400
        self.intake = Intake(self._handle, self.mqtt.ack, self.store, self.health,
                             prune_before=lambda: self.clock() - keep_s,
                             alone=lambda message: message.topic == self.topics.sync_request)
        self.mqtt.subscribe(self.topics.all_events)
        self.mqtt.subscribe(self.topics.sync_request)
        for topic in self.peers.subscriptions:
            self.mqtt.subscribe(topic, qos=0)
        self.mqtt.on_message(self._on_message)
        self.mqtt.on_connection(self._announce_mappings)

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

    def _handle(self, messages: list[paho.MQTTMessage]) -> None:
        """Plan each message, store all their jobs at once, then announce them, hand the
        waiting ones to the workers (their 'started' waits for the 'queued' announced) and
        publish the answers."""
        batch = IntakeBatch(self.store)
        now = self.clock()
        for message in messages:
            try:
                self._plan(message, batch, now)
            except Exception as exc:
                if is_store_failure(exc):
                    raise  # the whole batch waits for the store
                log.exception("could not handle a message on %s; dropping it", message.topic)
        kept = self.store.add_many([(e.key, e.jobs) for e in batch.entries], now)
        entries = [entry for entry, ok in zip(batch.entries, kept, strict=True) if ok]
        jobs = [job for entry in entries for job in entry.announce]
        gate = Gate()
        self.engine.submit([job for job in jobs if job.state in ACTIVE], gate)
        try:
            self._announce(jobs)
        finally:
            gate.open()
        for answer in batch.answers:
            self.mqtt.publish(self.topics.sync_response, answer.model_dump_json())

    def _on_message(self, message: paho.MQTTMessage) -> None:
        """On the network thread: the other syncers' news here, the rest to the intake."""
        if not self.peers.note(message):
            self.intake.put(message)

    def _announce_mappings(self, connected: bool) -> None:
        if connected:
            self.mqtt.publish(self.topics.syncer_mappings,
                              announcement(self.topics, self.settings.syncer.mappings),
                              retain=True)

    def _plan(self, message: paho.MQTTMessage, batch: IntakeBatch, now: float) -> None:
        if message.topic != self.topics.sync_request:
            self.events.plan(bytes(message.payload), message.topic, batch, now)
        elif message.retain:
            log.warning("ignoring a retained request on %s: it would run again at every start. "
                        "Clear it with: mosquitto_pub -r -n -t '%s'", message.topic,
                        message.topic)
        elif answer := self.requests.answer(bytes(message.payload), batch, now):
            batch.answers.append(answer)

    def _taken_over(self) -> None:
        """On the network thread: another client keeps taking our MQTT session."""
        self.fatal = self.fatal or takeover_message(self.settings.syncer.client_id)

    def _announce(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.reporter.job(job, job.state)
            if job.state in ACTIVE:
                log.info("queued %s job %s: %s (%d path(s), mapping %s)", job.action, job.id,
                         job.title, len(job.paths), job.mapping)
