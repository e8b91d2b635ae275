"""The notifier process: status topics in, grouped and de-duplicated Apprise messages out.

It subscribes with a clean session: status messages are not retained, so a restarted
notifier never sees, and never resends, what was sent before it stopped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from pydantic import ValidationError

from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.wire.alert import Alert, Problem
from arrsync.wire.job import JobState, JobStatus
from arrsync.wire.timestamps import utc_now_iso
from notifier.fanout import FanOut
from notifier.grouping import Batcher, RepeatFilter
from notifier.messages import Message, MessageBuilder
from notifier.sender import AppriseSender

log = logging.getLogger(__name__)

# A named syncer's jobs, from taken to ended: one message per release (`notifier.fanout`).
FANNED_OUT = (JobState.QUEUED, JobState.STARTED, JobState.SUCCEEDED, JobState.FAILED,
              JobState.SKIPPED)


class NotifierService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic,
                 retry_delay: float = 5.0) -> None:
        notify = settings.notify
        self.settings = settings
        self.clock = clock
        self.states = set(notify.states)
        self.builder = MessageBuilder(notify.title_template, notify.body_template)
        self.sender = AppriseSender([u.get_secret_value() for u in notify.urls],
                                    notify.config_file, attempts=notify.delivery_attempts,
                                    retry_delay=retry_delay, on_failed=self._undelivered)
        self.quiet = not len(self.sender)  # nothing to send to: say so once, then say nothing
        self.batcher = Batcher(notify.group_window)
        self.fanout = FanOut(notify.group_window)
        self.repeats = RepeatFilter()
        self._success_tag = notify.success_tag
        self._failure_tag = notify.failure_tag
        self.mqtt = MqttConnection(settings.mqtt, "notifier")
        self._inbox: queue.Queue[paho.MQTTMessage | None] = queue.Queue()
        self._worker = threading.Thread(target=self._process, name="notifier", daemon=True)
        self.mqtt.subscribe(self.mqtt.topics.all_sync_states)
        self.mqtt.subscribe(self.mqtt.topics.all_availability)
        self.mqtt.subscribe(self.mqtt.topics.named_syncer_availability)
        self.mqtt.subscribe(self.mqtt.topics.all_alerts)
        self.mqtt.subscribe(self.mqtt.topics.named_syncer_alerts)
        self.mqtt.on_message(self._inbox.put)

    def start(self) -> None:
        if self.quiet:
            log.info("no notify.urls and no notify.config_file: nothing to send notifications "
                     "to, so none are sent")
        self.sender.start()
        self._worker.start()
        self.mqtt.start()

    def stop(self) -> None:
        self._inbox.put(None)
        self._worker.join(timeout=10)
        self.mqtt.stop()
        self.sender.stop()

    # -- processing (one thread: no locks needed) --------------------------------------------
    def _process(self) -> None:
        while True:
            deadline = min((d for d in (self.batcher.next_deadline(),
                                        self.fanout.next_deadline()) if d is not None),
                           default=None)
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                pass  # a group's window closed
            else:
                if message is None:  # stop(): send what is gathered, then end
                    for group in self.batcher.flush():
                        self._send_group(group)
                    for group in self.fanout.flush():
                        self._send_destinations(group)
                    return
                try:
                    self._handle(message)
                except Exception:
                    log.exception("could not handle a message on %s", message.topic)
            for group in self.batcher.due(self.clock()):
                self._send_group(group)
            for group in self.fanout.due(self.clock()):
                self._send_destinations(group)

    def _handle(self, message: paho.MQTTMessage) -> None:
        topic = message.topic
        if label := self.mqtt.topics.availability_label(topic):
            self._availability(label, message)
            return
        if (component := self.mqtt.topics.alert_component(topic)) == "notifier":
            return  # our own: a URL that failed would be sent its own failure again
        if component:
            self._alert(message)
            return
        if not self.mqtt.topics.sync_state_name(topic):
            return  # sync/request and sync/response: not a job's status
        try:
            status = JobStatus.model_validate_json(message.payload)
        except ValidationError:
            log.warning("ignoring a malformed status on %s", topic)
            return
        if status.state is JobState.TEST:
            self._send(self.builder.test(status), None)
            return
        if status.state is JobState.SUCCEEDED:
            for mapping, reason in self.repeats.recovered(status):
                self._send(self.builder.recovered(mapping, reason), self._success_tag)
        if status.syncer is not None and status.state in FANNED_OUT:
            self.fanout.add(status, self.clock())  # told once every syncer has ended
            return
        # A job held by the destination guard (a dropped mount) is an alert, like a failure.
        alert = status.state is JobState.FAILED or (
            status.state is JobState.RETRYING and (status.held or status.on_hold))
        if status.state.value not in self.states and not (alert and "failed" in self.states):
            return
        if status.on_hold:  # the syncer publishes one per trip of the circuit breaker
            self._send(self.builder.on_hold(status), self._failure_tag)
            return
        if status.state in (JobState.FAILED, JobState.RETRYING) and \
                not self.repeats.first_time(status):
            log.info("not repeating the notification for %s: %s", status.mapping, status.error)
            return
        for group in self.batcher.add(status, self.clock()):
            self._send_group(group)

    def _undelivered(self, message: Message, url: str) -> None:
        """On the delivery thread: a message one URL never took, for the status page and
        whoever listens on `<base>/notifier/alert`."""
        alert = Alert(component="notifier", problem=Problem.NOTIFY, active=True,
                      message=f"the notification {message.title!r} could not be delivered to "
                              f"{url} after {self.settings.notify.delivery_attempts} attempts",
                      at=utc_now_iso())
        self.mqtt.publish(self.mqtt.topics.alert("notifier"), alert.model_dump_json())

    def _alert(self, message: paho.MQTTMessage) -> None:
        try:
            alert = Alert.model_validate_json(message.payload)
        except ValidationError:
            log.warning("ignoring a malformed alert on %s", message.topic)
            return
        self._send(self.builder.alert(alert),
                   self._failure_tag if alert.active else self._success_tag)

    def _availability(self, component: str, message: paho.MQTTMessage) -> None:
        if message.retain or component == "notifier":
            return  # a retained value is old news
        if "availability" in self.states:
            online = message.payload == b"online"
            self._send(self.builder.availability(component, online),
                       self._success_tag if online else self._failure_tag)

    def _send_destinations(self, statuses: list[JobStatus]) -> None:
        """A release that named syncers took: what the notify states ask for, a repeating
        failure once."""
        told = [s for s in statuses if s.state.value in self.states and (
            s.state is not JobState.FAILED or self.repeats.first_time(s))]
        if told:
            message = self.builder.destinations(told)
            self._send(message, self._success_tag if message.kind == "success"
                       else self._failure_tag)

    def _send_group(self, statuses: list[JobStatus]) -> None:
        message = self.builder.jobs(statuses)
        tag = self._failure_tag if message.kind in ("failure", "warning") else self._success_tag
        self._send(message, tag)

    def _send(self, message: Message, tag: str | None) -> None:
        log.debug("notify %s: %s", message.kind, message.title)
        if not self.quiet:
            self.sender.send(message, tag)
