"""MQTT clients for the Mosquitto ACL tests: a paho Session that keeps the broker's answers,
the real mosquitto_pub / mosquitto_sub, and checks on what a watcher received.

What Mosquitto 2.0.11 answers (and the tests pin):
- a refused login (anonymous, wrong password, unknown user) gets CONNACK 0x87 Not authorized
  with MQTT v5 (return code 5 with 3.1.1), never 0x86 Bad user name or password;
- a QoS 1 publish the ACL forbids gets PUBACK 0x87 Not authorized (v5) and goes nowhere;
- subscriptions are always granted: read rights are checked per message, at delivery.

"Did not arrive" is proved without sleeping: after the forbidden message, an allowed control
message follows from the same client (or from any client once the broker has answered the
forbidden one: by then it was routed or dropped). The broker queues messages for a subscriber
in the order it handles them, so once the control message is in, anything routed before it
would be in too.
"""

from __future__ import annotations

import subprocess
import threading

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.helpers import MqttWatcher, close_client, wait_until

TIMEOUT = 5.0

SUCCESS = (0x00, "Success")
NO_SUBSCRIBERS = (0x10, "No matching subscribers")
NOT_AUTHORIZED = (0x87, "Not authorized")


def code(reason: ReasonCode) -> tuple[int, str]:
    return reason.value, reason.getName()


class Session:
    """A paho-mqtt 2.x MQTT v5 client that keeps what the broker answered: CONNACK, PUBACKs."""

    def __init__(self, port: int, username: str | None, password: str | None = None) -> None:
        self.port = port
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack: ReasonCode | None = None
        self.closed = threading.Event()
        self._acks: dict[int, ReasonCode] = {}
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.closed.set()
        self.client.on_publish = self._on_publish

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connack = reason_code

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._acks[mid] = reason_code

    def connect(self) -> ReasonCode:
        """The CONNACK reason code. No retries: a refused client is closed by the broker."""
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        wait_until(lambda: self.connack is not None, TIMEOUT, "CONNACK")
        assert self.connack is not None
        if self.connack.is_failure:
            wait_until(self.closed.is_set, TIMEOUT, "the broker to close a refused connection")
            self.client.loop_stop()
        return self.connack

    def publish(self, topic: str, payload: str, *, qos: int = 1, retain: bool = False) -> int:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        assert info.rc == paho.MQTT_ERR_SUCCESS, f"publish on {topic}: {info.rc}"
        return info.mid

    def answer(self, mid: int) -> ReasonCode:
        """The reason code of the PUBACK (QoS 1) or PUBCOMP (QoS 2) for `mid`."""
        wait_until(lambda: self._answered(mid), TIMEOUT, f"the broker's answer to mid {mid}")
        with self._lock:
            return self._acks[mid]

    def _answered(self, mid: int) -> bool:
        with self._lock:
            return mid in self._acks

    def send(self, topic: str, payload: str, *, qos: int = 1, retain: bool = False) -> ReasonCode:
        """Publish and wait for the broker's answer."""
        return self.answer(self.publish(topic, payload, qos=qos, retain=retain))

    def close(self) -> None:
        close_client(self.client)


def received(watcher: MqttWatcher, topic: str, payload: str) -> bool:
    return any(m.topic == topic and m.payload == payload.encode() for m in watcher.on(topic))


def wait_received(watcher: MqttWatcher, topic: str, payload: str) -> None:
    watcher.wait_for(
        topic, timeout=TIMEOUT, where=lambda m: m.topic == topic and m.payload == payload.encode()
    )


def mine(watcher: MqttWatcher, marker: str) -> set[tuple[str, str]]:
    """(topic, payload) of what this test's publishers sent and the watcher got."""
    return {(m.topic, m.text) for m in watcher.on("") if m.payload.startswith(marker.encode())}


Run = subprocess.CompletedProcess[str]


def mosquitto_cli(tool: str, port: int, user: str | None, password: str | None, *args: str) -> Run:
    """The real mosquitto_pub / mosquitto_sub, MQTT v5 unless `args` say otherwise."""
    command = [tool, "-h", "127.0.0.1", "-p", str(port), "-V", "5", *args]
    if user is not None:
        command += ["-u", user, "-P", password or ""]
    return subprocess.run(command, capture_output=True, text=True, timeout=15, check=False)


def mosquitto_pub(port: int, user: str, password: str, topic: str, message: str) -> Run:
    """One QoS 1 message: mosquitto_pub exits once the broker has answered it (PUBACK)."""
    return mosquitto_cli(
        "mosquitto_pub", port, user, password, "-q", "1", "-t", topic, "-m", message
    )


def mosquitto_sub_one(port: int, user: str | None, password: str | None, *args: str) -> Run:
    """mosquitto_sub for the first message ("topic payload"), 5 s at most."""
    return mosquitto_cli("mosquitto_sub", port, user, password, "-v", "-C", "1", "-W", "5", *args)
