"""The bridge's alerts (`arrsync.wire.alert.Alert` on `<base>/bridge/alert`), sent once connected.

The bridge's MQTT connection forgets unacknowledged messages at each reconnect (the relay
re-sends events from the spool), so alerts wait here until the broker is there to take them.
"""

from __future__ import annotations

import threading

from arrsync.mqtt import MqttConnection
from arrsync.wire.alert import Alert, Problem
from arrsync.wire.timestamps import utc_now_iso

MAX_WAITING = 100  # alerts kept while the broker is away; the oldest go first


class AlertOutbox:
    def __init__(self, mqtt: MqttConnection) -> None:
        self._mqtt = mqtt
        self._lock = threading.Lock()  # guards _waiting
        self._waiting: list[Alert] = []

    def add(self, problem: Problem, active: bool, message: str) -> None:
        alert = Alert(component="bridge", problem=problem, active=active, message=message,
                      at=utc_now_iso())
        with self._lock:
            self._waiting = [*self._waiting, alert][-MAX_WAITING:]
        if self._mqtt.connected.is_set():
            self.flush()

    def flush(self) -> None:
        """Publish what waits; call while connected (the sender does, at each round)."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        topic = self._mqtt.topics.alert("bridge")
        for alert in waiting:
            self._mqtt.publish(topic, alert.model_dump_json())
