"""What the status page and the metrics show, built only from what the MQTT topics carry.

The board subscribes, on the bridge's connection, to the job status messages, the syncers'
retained summaries and statistics (each named syncer's too, combined: `syncers`), and every
component's availability. The retained ones
arrive at once after a (re)start, so a restarted bridge shows the recent jobs and totals
without asking anyone; the live status messages then keep it up to the second. For each
job the newest message wins, whichever topic brought it.

Alerts (`<component>/alert`: a message the notifier could not deliver, an event set
aside, a store that cannot be written) are shown while active; one that says its problem is
over removes it. Not retained: the page shows those heard since the bridge started.

It also sends the page's one request: `{"retry": JOB}` on `<base>/sync/request`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import paho.mqtt.client as paho
from pydantic import ValidationError

from arrsync.mqtt import MqttConnection
from arrsync.topics import COMPONENTS
from arrsync.wire.alert import Alert
from arrsync.wire.job import JobState, JobStatus
from arrsync.wire.request import RetryRequest
from arrsync.wire.statistics import JobEntry, SyncerStats, parse_stats
from arrsync.wire.timestamps import utc_now_iso
from bridge.dashboard.syncers import combine_stats, combine_summaries

log = logging.getLogger(__name__)

KEEP_JOBS = 200
RECENT_SHOWN = 15
FAILED_SHOWN = 10
ALERTS_SHOWN = 5
RUNNING = (JobState.STARTED, JobState.PROGRESS)
RetryOutcome = Literal["requested", "refused", "no answer", "broker disconnected"]


@dataclass
class BoardView:
    """One consistent snapshot for the page, the JSON API and the metrics."""

    at: str
    broker_connected: bool
    availability: dict[str, str]            # component → online, offline or unknown
    broker_lost_at: str | None              # since when the broker is unreachable
    summary: dict[str, Any] | None          # <base>/syncer/state as published
    stats: SyncerStats | None               # <base>/syncer/stats as published
    running: list[JobEntry] = field(default_factory=list)
    recent: list[JobEntry] = field(default_factory=list)
    failed: list[JobEntry] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)  # active ones, newest first
    spooled: int | None = None              # webhooks in the bridge's spool, unsent
    catch_up: dict[str, dict[str, Any]] | None = None  # each arr's catch-up

    def as_json(self) -> dict[str, Any]:
        stats = self.stats or SyncerStats(at="")

        def entries(found: list[JobEntry]) -> list[dict[str, Any]]:
            return [entry.model_dump(mode="json") for entry in found]

        return {
            "at": self.at, "broker": "connected" if self.broker_connected else "disconnected",
            "broker_lost_at": self.broker_lost_at, "availability": self.availability,
            "spooled": self.spooled, "catch_up": self.catch_up, "summary": self.summary,
            "running": entries(self.running), "recent": entries(self.recent),
            "failed": entries(self.failed),
            "alerts": [alert.model_dump(mode="json") for alert in self.alerts],
            "today": stats.today.model_dump(), "week": stats.week.model_dump(),
            "mappings": [m.model_dump() for m in stats.mappings],
            "days": [d.model_dump() for d in stats.days],
            "stats_at": self.stats.at if self.stats else None,
        }


class StatusBoard:
    def __init__(self, mqtt: MqttConnection) -> None:
        self._mqtt = mqtt
        self._topics = mqtt.topics
        # Guards the fields below; messages are parsed before it is taken.
        self._lock = threading.Lock()
        self._jobs: dict[str, JobEntry] = {}
        self._availability: dict[str, str] = {}  # component, or "syncer <name>"
        self._summaries: dict[str, dict[str, Any]] = {}  # by syncer name ("": unnamed)
        self._stats: dict[str, SyncerStats] = {}
        self._lost_at: str | None = utc_now_iso()  # not connected yet: since the start
        self._alerts: dict[tuple[str, str], Alert] = {}  # (topic, problem) → active alert
        for topic in (self._topics.all_sync_states, self._topics.syncer_state,
                      self._topics.syncer_stats, self._topics.all_availability,
                      self._topics.every_syncer, self._topics.all_alerts):
            mqtt.subscribe(topic)
        mqtt.on_message(self.handle)
        mqtt.on_connection(self._connection)

    def _connection(self, connected: bool) -> None:
        with self._lock:
            self._lost_at = None if connected else self._lost_at or utc_now_iso()

    # -- in (network thread: parse, then a short update under the lock) ----------------------
    def handle(self, message: paho.MQTTMessage) -> None:
        topic, payload = message.topic, bytes(message.payload)
        syncer = self._topics.syncer_topic(topic)
        if label := self._topics.availability_label(topic):
            with self._lock:
                self._availability[label] = payload.decode(errors="replace") or "unknown"
        elif self._topics.alert_component(topic):
            self._take_alert(topic, payload)
        elif syncer and syncer.leaf == "stats":
            self._take_stats(topic, syncer.syncer or "", payload)
        elif syncer and syncer.leaf == "state":
            self._take_summary(topic, syncer.syncer or "", payload)
        elif self._topics.sync_state_name(topic):
            self._take_status(payload)

    def _take_stats(self, topic: str, syncer: str, payload: bytes) -> None:
        if not payload:
            return
        try:
            stats = parse_stats(payload)
        except ValidationError:
            log.warning("ignoring malformed statistics on %s", topic)
            return
        with self._lock:
            self._stats[syncer] = stats
            for entry in [*stats.recent, *stats.running]:
                self._keep(entry)

    def _take_alert(self, topic: str, payload: bytes) -> None:
        try:
            alert = Alert.model_validate_json(payload)
        except ValidationError:
            log.warning("ignoring a malformed alert on %s", topic)
            return
        with self._lock:
            if alert.active:
                self._alerts[(topic, alert.problem.value)] = alert
            else:
                self._alerts.pop((topic, alert.problem.value), None)

    def _take_summary(self, topic: str, syncer: str, payload: bytes) -> None:
        try:
            summary = json.loads(payload) if payload else None
        except ValueError:
            log.warning("ignoring a malformed summary on %s", topic)
            return
        with self._lock:
            if isinstance(summary, dict):
                self._summaries[syncer] = summary
            else:
                self._summaries.pop(syncer, None)

    def _take_status(self, payload: bytes) -> None:
        try:
            status = JobStatus.model_validate_json(payload)
        except ValidationError:
            log.warning("ignoring a malformed job status")
            return
        if status.state is JobState.TEST:
            return
        with self._lock:
            self._keep(JobEntry.from_status(status))

    def _keep(self, entry: JobEntry) -> None:
        """Under the lock: the newer message about a job wins; the oldest jobs go."""
        known = self._jobs.get(entry.job)
        if known and known.at > entry.at:
            return
        self._jobs[entry.job] = entry
        if len(self._jobs) > KEEP_JOBS:
            oldest = min(self._jobs.values(), key=lambda e: e.at)
            del self._jobs[oldest.job]

    # -- out ---------------------------------------------------------------------------------
    def view(self) -> BoardView:
        """The bridge is online while it serves the page; without the broker, what the
        others last said is no longer known."""
        connected = self._mqtt.connected.is_set()
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda e: e.at, reverse=True)
            named = sorted(c for c in self._availability if c not in COMPONENTS)
            shown = [c for c in COMPONENTS if c != "syncer" or "syncer" in self._availability
                     or not named]
            availability = {c: self._availability.get(c, "unknown") if connected
                            else "unknown" for c in [*shown, *named]}
            summary = combine_summaries(self._summaries)
            stats, lost_at = combine_stats(self._stats), self._lost_at
            alerts = sorted(self._alerts.values(), key=lambda a: a.at, reverse=True)
        availability["bridge"] = "online"
        return BoardView(
            at=utc_now_iso(), broker_connected=connected, availability=availability,
            broker_lost_at=None if connected else lost_at, summary=summary, stats=stats,
            running=[e for e in reversed(jobs) if e.state in RUNNING],
            recent=jobs[:RECENT_SHOWN],
            failed=[e for e in jobs if e.state is JobState.FAILED][:FAILED_SHOWN],
            alerts=alerts[:ALERTS_SHOWN],
        )

    def request_retry(self, job: str, timeout: float = 5.0) -> RetryOutcome:
        """Ask the syncer to run a failed job again; waits for the broker's answer."""
        if not self._mqtt.connected.is_set():
            return "broker disconnected"
        answered = threading.Event()
        accepted: list[bool] = []

        def done(ok: bool) -> None:
            accepted.append(ok)
            answered.set()

        request = RetryRequest(retry=job, id=f"web-{uuid.uuid4().hex[:12]}").payload()
        self._mqtt.publish(self._topics.sync_request, request, on_done=done)
        if not answered.wait(timeout):
            return "no answer"
        return "requested" if accepted[0] else "refused"
