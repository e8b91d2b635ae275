"""Test helpers: wait on conditions with deadlines, watch MQTT topics, send HTTP requests."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from arrsync.mqtt import close_wakeup_sockets
from tools.localbroker import CONFIG_DIR, LocalBroker

DEFAULT_TIMEOUT = 10.0


def wait_until(condition: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT,
               message: str = "condition") -> Any:
    """Poll `condition` until it is truthy; fail with `message` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.01)


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int

    def json(self) -> Any:
        return json.loads(self.payload)

    @property
    def text(self) -> str:
        return self.payload.decode()


def close_client(client: paho.Client) -> None:
    """Disconnect and stop a test's paho client, and close the wake-up socket pair paho
    otherwise leaves to the garbage collector, whose ResourceWarning would fail whichever
    test happens to run then (as `arrsync.mqtt.MqttConnection.stop` does)."""
    client.disconnect()
    client.loop_stop()
    close_wakeup_sockets(client)


@dataclass
class MqttWatcher:
    """A real MQTT client that records every message on the given topic filters."""

    port: int
    topics: list[str]
    username: str | None = None
    password: str | None = None
    durable_id: str | None = None  # keep a broker session: messages wait while away
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.durable_id or "",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.reconnect_delay_set(0.1, 0.5)
        if self.username:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()

    def __enter__(self) -> MqttWatcher:
        properties = None
        if self.durable_id:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", self.port, clean_start=not self.durable_id,
                            properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(DEFAULT_TIMEOUT):
            raise AssertionError("watcher could not subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        close_client(self.client)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.topics:
            client.subscribe([(t, 1) for t in self.topics])
        else:  # a publisher only
            self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, message.payload, message.retain,
                                          message.qos))

    def on(self, suffix: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def wait_for(self, suffix: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT,
                 where: Callable[[Received], bool] = lambda m: True) -> list[Received]:
        def enough() -> list[Received] | None:
            found = [m for m in self.on(suffix) if where(m)]
            return found if len(found) >= count else None
        return wait_until(enough, timeout, f"{count} message(s) on …{suffix}")


    def refusal(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The syncer's answer to a request it cannot run (`ok` false, no job made of it);
        needs a subscription to `<base>/sync/response` (or `<base>/sync/+`)."""
        answer: dict[str, Any] = self.wait_for(
            "/sync/response", timeout=timeout, where=lambda m: m.json()["ok"] is False)[0].json()
        assert answer["jobs"] == [], answer
        return answer


def _headers(message: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in message.items()}


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | str | None = None,
         headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
         timeout: float = DEFAULT_TIMEOUT) -> HttpAnswer:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in request.headers:
        request.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpAnswer(response.status, _headers(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, _headers(error.headers), error.read())


def mosquitto_pub(port: int, topic: str, message: str, *, retain: bool = False) -> None:
    """Publish with the real mosquitto_pub command, as a user or a script would. A retained
    empty message clears the topic's retained one."""
    command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic]
    command += ["-r"] if retain else []
    command += ["-m", message] if message else ["-n"]
    subprocess.run(command, check=True, timeout=10)


def import_envelope(event_id: str, paths: list[str], title: str | None = None,
                    **payload: Any) -> str:
    """An event envelope of a Radarr import, as the bridge would publish it."""
    return json.dumps({
        "id": event_id, "app": "radarr", "instance": "Radarr", "event": "Download",
        "received_at": "2026-01-01T00:00:00.000Z", "title": title or event_id,
        "files": [{"path": p, "size": None} for p in paths],
        "payload": {"eventType": "Download", **payload},
    })


def publish_import(port: int, base_topic: str, event_id: str, paths: list[str],
                   title: str | None = None, **payload: Any) -> None:
    mosquitto_pub(port, f"{base_topic}/events/radarr/Download",
                  import_envelope(event_id, paths, title, **payload))


@contextmanager
def tmpfs_mounted(path: Path, name: str = "arrsync-share") -> Iterator[Path]:
    """A real tmpfs mounted at `path`, like a share (needs root, as CI has); then unmounted."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", name, str(path)], check=True,
                   timeout=10)
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True, timeout=10)


def secured_broker(folder: Path, users: dict[str, str], acl: str | None = None) -> LocalBroker:
    """A started Mosquitto as in production: logins required (these users, hashed by the
    real mosquitto_passwd) and the project's ACL, written for the base topic `arrsync`, or
    the `acl` given as text."""
    folder.mkdir(parents=True, exist_ok=True)
    passwd, acl_file = folder / "passwd", folder / "acl"
    if acl is None:
        shutil.copyfile(CONFIG_DIR / "acl", acl_file)
    else:
        acl_file.write_text(acl)
    make_password_file(passwd, users)
    passwd.chmod(0o600)
    broker = LocalBroker(folder / "data", password_file=passwd, acl_file=acl_file)
    broker.start()
    return broker


# The two users with the fewest rights: the status page's reader and the manual trigger.
RESTRICTED_USERS = {"viewer": "viewer-Secret-5", "trigger": "trigger-Secret-4"}


def make_password_file(path: Path, users: dict[str, str]) -> None:
    """The real `mosquitto_passwd`: -c for the first user (creates the file), then add."""
    tool = shutil.which("mosquitto_passwd")
    assert tool, "mosquitto_passwd is missing (Debian package: mosquitto)"
    for index, (user, password) in enumerate(users.items()):
        create = ["-c"] if index == 0 else []
        done = subprocess.run(
            [tool, "-b", *create, str(path), user, password],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert done.returncode == 0, f"mosquitto_passwd failed for {user}: {done.stderr}"
        # 2.0.x answers a file it cannot parse with "Error: …" and exit status 0.
        assert "Error" not in done.stderr, done.stderr
