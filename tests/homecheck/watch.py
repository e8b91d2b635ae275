"""What the check hears on MQTT: the job states and answers, the retained summary. It logs in
as the `viewer` of the project's ACL (read-only, `arrsync/#`)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.homecheck.stack import USERS


class Watcher:
    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()  # guards messages and latest
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.latest: dict[str, Any] = {}
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        client.username_pw_set("viewer", USERS["viewer"])
        client.reconnect_delay_set(1, 2)
        client.on_connect = lambda c, *_: c.subscribe("arrsync/#", 1)
        client.on_message = self._on_message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self._client = client

    def _on_message(self, _client: Any, _data: Any, message: paho.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload) if message.payload else None
        except ValueError:
            payload = message.payload.decode(errors="replace")
        with self._lock:
            self.latest[message.topic] = payload
            if isinstance(payload, dict):
                self.messages.append((message.topic, payload))

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self._lock:
            return [payload for t, payload in self.messages if t == topic]

    def current(self, topic: str) -> Any:
        with self._lock:
            return self.latest.get(topic)

    def forget(self, *topics: str) -> None:
        """Forget the latest message on each topic: `current` waits for the next one."""
        with self._lock:
            for topic in topics:
                self.latest.pop(topic, None)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
