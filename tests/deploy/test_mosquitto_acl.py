"""The project's Mosquitto ACL and login rules, proved on the real broker.

One private Mosquitto for this module, started by LocalBroker from the production config with
the project's own `mosquitto/acl` (copied where the broker can read it) and a password file
made by the real `mosquitto_passwd`. The ACL is written for the base topic "arrsync", so these
tests use it as their prefix.

What Mosquitto 2.0.11 answers (and these tests pin):
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

import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.helpers import MqttWatcher, make_password_file, wait_until
from tools.localbroker import CONFIG_DIR, LocalBroker

ACL_FILE = CONFIG_DIR / "acl"
PASSWD_EXAMPLE = CONFIG_DIR / "passwd.example"
USERS = {
    "bridge": "bridge-Secret-1",
    "syncer": "syncer-Secret-2",
    "notifier": "notifier-Secret-3",
    "trigger": "trigger-Secret-4",
    "viewer": "viewer-Secret-5",
    "homeassistant": "homeassistant-Secret-6",
}
TIMEOUT = 5.0

SUCCESS = (0x00, "Success")
NO_SUBSCRIBERS = (0x10, "No matching subscribers")
NOT_AUTHORIZED = (0x87, "Not authorized")

EVENT = "arrsync/events/radarr/Download"
BRIDGE_ONLINE = "arrsync/bridge/availability"
SYNC_REQUEST = "arrsync/sync/request"
SUCCEEDED = "arrsync/sync/succeeded"
SYNCER_STATE = "arrsync/syncer/state"
SYNCER_STATS = "arrsync/syncer/stats"
NOTIFIER_ONLINE = "arrsync/notifier/availability"
AUDIT = "arrsync/audit/radarr-4k"
HA_CONFIG = "homeassistant/sensor/arrsync/queue_length/config"
HA_STATUS = "homeassistant/status"


def code(reason: ReasonCode) -> tuple[int, str]:
    return reason.value, reason.getName()


# -- the broker -------------------------------------------------------------------------------


def start_broker(folder: Path, make_passwd: Callable[[Path], object]) -> LocalBroker:
    """LocalBroker with the production config, a copy of the project's ACL and a `passwd`."""
    acl = folder / "acl"
    shutil.copyfile(ACL_FILE, acl)
    passwd = folder / "passwd"
    make_passwd(passwd)
    passwd.chmod(0o600)
    data = folder / "data"
    data.mkdir()
    broker = LocalBroker(data, password_file=passwd, acl_file=acl)
    broker.start()
    return broker


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    folder = tmp_path_factory.mktemp("mosquitto-acl")
    broker = start_broker(folder, lambda path: make_password_file(path, USERS))
    try:
        yield broker
    finally:
        broker.stop()


# -- clients ----------------------------------------------------------------------------------


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
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def session(acl_broker: LocalBroker) -> Iterator[Callable[..., Session]]:
    """A Session on the module's broker, not connected yet; closed after the test."""
    sessions: list[Session] = []

    def create(username: str | None, password: str | None = None) -> Session:
        sessions.append(Session(acl_broker.port, username, password))
        return sessions[-1]

    yield create
    for each in sessions:
        each.close()


@pytest.fixture
def login(session: Callable[..., Session]) -> Callable[[str], Session]:
    """A Session logged in as one of USERS."""

    def connect(user: str) -> Session:
        logged_in = session(user, USERS[user])
        assert code(logged_in.connect()) == SUCCESS, f"{user} could not log in"
        return logged_in

    return connect


@pytest.fixture
def watch(acl_broker: LocalBroker) -> Iterator[Callable[..., MqttWatcher]]:
    """A subscribed MqttWatcher as one of USERS (on arrsync/# and homeassistant/# unless
    told otherwise)."""
    with ExitStack() as stack:

        def open_watcher(user: str, *topics: str) -> MqttWatcher:
            chosen = list(topics or ["arrsync/#", "homeassistant/#"])
            watcher = MqttWatcher(acl_broker.port, chosen, user, USERS[user])
            return stack.enter_context(watcher)

        yield open_watcher


@pytest.fixture
def marker() -> str:
    """Payload prefix unique to one test: the module's tests share one broker."""
    return uuid.uuid4().hex


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


# -- logging in -------------------------------------------------------------------------------


@pytest.mark.parametrize("user", USERS)
def test_every_user_logs_in(session: Callable[..., Session], user: str) -> None:
    assert code(session(user, USERS[user]).connect()) == SUCCESS


def test_anonymous_client_is_refused(
    acl_broker: LocalBroker, session: Callable[..., Session]
) -> None:
    anonymous = session(None)
    assert code(anonymous.connect()) == NOT_AUTHORIZED
    assert anonymous.closed.is_set()  # the broker hung up

    # mosquitto_sub: its exit status is the CONNACK code (v5) or return code (3.1.1).
    v5 = mosquitto_sub_one(acl_broker.port, None, None, "-t", "arrsync/#")
    assert v5.returncode == 0x87, v5
    assert "Connection error: Not authorized" in v5.stderr
    v311 = mosquitto_sub_one(acl_broker.port, None, None, "-V", "311", "-t", "arrsync/#")
    assert v311.returncode == 5, v311
    assert "Connection Refused: not authorised" in v311.stderr


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("bridge", "wrong"),
        ("bridge", ""),
        ("bridge", USERS["syncer"]),  # another user's password
        ("viewer", USERS["viewer"].upper()),
        ("admin", "admin"),  # no such user
    ],
)
def test_wrong_credentials_are_refused(
    session: Callable[..., Session], user: str, password: str
) -> None:
    refused = session(user, password)
    # Mosquitto 2.0.11 answers 0x87 here too, not 0x86 Bad user name or password.
    assert code(refused.connect()) == NOT_AUTHORIZED
    assert refused.closed.is_set()


def test_wrong_password_is_refused_to_mosquitto_pub(acl_broker: LocalBroker) -> None:
    refused = mosquitto_pub(acl_broker.port, "trigger", "not-the-password", SYNC_REQUEST, "{}")
    assert refused.returncode == 0x87, refused
    assert "Connection error: Not authorized" in refused.stderr


def test_compose_healthcheck_command(acl_broker: LocalBroker) -> None:
    """docker-compose.yml's healthcheck: the viewer subscribes to arrsync/# with -E."""

    def healthcheck(password: str) -> Run:
        return mosquitto_cli(
            "mosquitto_sub",
            acl_broker.port,
            "viewer",
            password,
            "-V",
            "311",
            "-t",
            "arrsync/#",
            "-E",
        )

    healthy = healthcheck(USERS["viewer"])
    assert (healthy.returncode, healthy.stderr) == (0, ""), healthy
    assert healthcheck("stale-password").returncode != 0


# -- what each user may read ------------------------------------------------------------------

# Each publication by a user allowed to make it, and who may read it. Every user reads one of
# the last two, so once a watcher has its last one, everything before it has arrived too.
HA = "homeassistant"
PUBLICATIONS = [
    ("bridge", EVENT, {"syncer", "viewer", HA}),
    ("syncer", SUCCEEDED, {"bridge", "notifier", "trigger", "viewer", HA}),
    ("syncer", SYNCER_STATE, {"bridge", "syncer", "viewer", HA}),
    ("syncer", SYNCER_STATS, {"bridge", "syncer", "viewer", HA}),
    ("syncer", AUDIT, {"syncer", "viewer", HA}),
    ("bridge", "arrsync/bridge/alert", {"notifier", "viewer", HA}),
    ("syncer", "arrsync/syncer/alert", {"bridge", "syncer", "notifier", "viewer", HA}),
    ("syncer", HA_CONFIG, {"syncer", HA}),
    (HA, HA_STATUS, {"syncer", HA}),
    ("notifier", NOTIFIER_ONLINE, {"bridge", "notifier", "viewer", HA}),
    ("bridge", BRIDGE_ONLINE, {"bridge", "notifier", "viewer", HA}),
    ("trigger", SYNC_REQUEST, {"bridge", "syncer", "notifier", "trigger", "viewer", HA}),
]


def test_each_user_reads_exactly_its_topics(
    login: Callable[[str], Session], watch: Callable[..., MqttWatcher], marker: str
) -> None:
    # Everyone subscribes to everything (Mosquitto grants it); the ACL filters each message.
    watchers = {user: watch(user) for user in USERS}
    publishers = {user: login(user) for user in ("bridge", "syncer", "notifier", "trigger", HA)}
    for user, topic, _readers in PUBLICATIONS:
        # One at a time: the PUBACK means the broker has queued it for every reader.
        assert code(publishers[user].send(topic, f"{marker} {user}")) == SUCCESS, topic

    for user, watcher in watchers.items():
        expected = {
            (topic, f"{marker} {publisher}")
            for publisher, topic, readers in PUBLICATIONS
            if user in readers
        }
        last_topic, last_payload = next(
            (topic, f"{marker} {publisher}")
            for publisher, topic, readers in reversed(PUBLICATIONS)
            if user in readers
        )
        wait_received(watcher, last_topic, last_payload)
        assert mine(watcher, marker) == expected, user


def test_retained_availability_reaches_viewer_and_notifier_through_mosquitto_sub(
    acl_broker: LocalBroker, login: Callable[[str], Session], marker: str
) -> None:
    bridge = login("bridge")
    answer = bridge.send(BRIDGE_ONLINE, f"{marker} online", retain=True)
    assert code(answer) in (SUCCESS, NO_SUBSCRIBERS)
    try:
        for user, topic in (("viewer", "arrsync/#"), ("notifier", "arrsync/+/availability")):
            got = mosquitto_sub_one(acl_broker.port, user, USERS[user], "-t", topic)
            assert got.returncode == 0, got
            assert got.stdout == f"{BRIDGE_ONLINE} {marker} online\n", user
    finally:
        bridge.send(BRIDGE_ONLINE, "", retain=True)  # clear it for the other tests


# -- what each user may write -----------------------------------------------------------------


def test_bridge_publishes_events_and_its_availability(
    login: Callable[[str], Session], watch: Callable[..., MqttWatcher], marker: str
) -> None:
    syncer = watch("syncer", "arrsync/events/#")
    notifier = watch("notifier", "arrsync/sync/#", "arrsync/+/availability")
    viewer = watch("viewer")
    bridge = login("bridge")

    assert code(bridge.send(EVENT, f"{marker} event")) == SUCCESS
    assert code(bridge.send("arrsync/events/arrsync/Test", f"{marker} test")) == SUCCESS
    assert code(bridge.send(BRIDGE_ONLINE, f"{marker} online")) == SUCCESS

    wait_received(syncer, "arrsync/events/arrsync/Test", f"{marker} test")
    wait_received(notifier, BRIDGE_ONLINE, f"{marker} online")
    wait_received(viewer, BRIDGE_ONLINE, f"{marker} online")
    assert received(syncer, EVENT, f"{marker} event")
    assert received(viewer, EVENT, f"{marker} event")


def test_bridge_asks_for_a_retry_for_its_status_page(
    login: Callable[[str], Session], watch: Callable[..., MqttWatcher], marker: str
) -> None:
    syncer = watch("syncer", SYNC_REQUEST)
    retry = f'{{"retry": "{marker}"}}'
    assert code(login("bridge").send(SYNC_REQUEST, retry)) == SUCCESS
    wait_received(syncer, SYNC_REQUEST, retry)


def test_syncer_keeps_its_discovery_configs_retained_for_home_assistant(
    acl_broker: LocalBroker, login: Callable[[str], Session], marker: str
) -> None:
    syncer = login("syncer")
    assert code(syncer.send(HA_CONFIG, f"{marker} config", retain=True)) in (
        SUCCESS, NO_SUBSCRIBERS)
    try:
        got = mosquitto_sub_one(acl_broker.port, HA, USERS[HA], "-t", HA_CONFIG)
        assert (got.returncode, got.stdout) == (0, f"{HA_CONFIG} {marker} config\n"), got
    finally:
        syncer.send(HA_CONFIG, "", retain=True)  # removed, as for a gone entity


def test_syncer_reads_events_and_requests_and_publishes_status_and_state(
    acl_broker: LocalBroker,
    login: Callable[[str], Session],
    watch: Callable[..., MqttWatcher],
    marker: str,
) -> None:
    # The syncer's own subscriptions (arrsync.topics): events/+/+ and sync/request.
    syncer_in = watch("syncer", "arrsync/events/+/+", SYNC_REQUEST)
    assert code(login("bridge").send(EVENT, f"{marker} event")) == SUCCESS
    request = mosquitto_pub(
        acl_broker.port, "trigger", USERS["trigger"], SYNC_REQUEST, f"{marker} request"
    )
    assert (request.returncode, request.stderr) == (0, ""), request
    wait_received(syncer_in, SYNC_REQUEST, f"{marker} request")
    assert received(syncer_in, EVENT, f"{marker} event")

    notifier = watch("notifier", "arrsync/sync/#")
    viewer = watch("viewer")
    syncer = login("syncer")
    states = ["queued", "started", "progress", "retrying", "succeeded", "failed", "skipped", "test"]
    for state in states:
        assert code(syncer.send(f"arrsync/sync/{state}", f"{marker} {state}")) == SUCCESS, state
    assert code(syncer.send(SYNCER_STATE, f"{marker} state")) == SUCCESS
    assert code(syncer.send("arrsync/syncer/availability", f"{marker} online")) == SUCCESS

    wait_received(viewer, "arrsync/syncer/availability", f"{marker} online")
    wait_received(notifier, "arrsync/sync/test", f"{marker} test")
    assert {topic for topic, _payload in mine(notifier, marker)} == {
        f"arrsync/sync/{state}" for state in states
    }
    assert received(viewer, SYNCER_STATE, f"{marker} state")


def test_syncer_publishes_audit_summaries_retained_for_the_viewer(
    acl_broker: LocalBroker, login: Callable[[str], Session], marker: str
) -> None:
    syncer = login("syncer")
    answer = syncer.send(AUDIT, f"{marker} summary", retain=True)
    assert code(answer) in (SUCCESS, NO_SUBSCRIBERS)
    try:
        got = mosquitto_sub_one(acl_broker.port, "viewer", USERS["viewer"], "-t",
                                "arrsync/audit/+")
        assert (got.returncode, got.stdout) == (0, f"{AUDIT} {marker} summary\n"), got
    finally:
        syncer.send(AUDIT, "", retain=True)  # clear it for the other tests


def test_trigger_requests_a_sync_with_mosquitto_pub(
    acl_broker: LocalBroker, watch: Callable[..., MqttWatcher], marker: str
) -> None:
    syncer = watch("syncer", SYNC_REQUEST)
    request = f'{{"id": "{marker}"}}'
    done = mosquitto_pub(acl_broker.port, "trigger", USERS["trigger"], SYNC_REQUEST, request)
    assert (done.returncode, done.stderr) == (0, ""), done
    wait_received(syncer, SYNC_REQUEST, request)


def test_trigger_cannot_publish_an_event_with_mosquitto_pub(
    acl_broker: LocalBroker, watch: Callable[..., MqttWatcher], marker: str
) -> None:
    syncer = watch("syncer", "arrsync/events/#", SYNC_REQUEST)
    viewer = watch("viewer")
    forbidden = mosquitto_pub(acl_broker.port, "trigger", USERS["trigger"], EVENT, f"{marker} fake")
    # mosquitto_pub prints the PUBACK failure but exits 0: its status does not show a denial.
    assert forbidden.returncode == 0, forbidden
    assert forbidden.stderr.strip() == "Warning: Publish 1 failed: Not authorized."
    # mosquitto_pub -q 1 exits after the PUBACK: the fake was dropped before this is handled.
    control = mosquitto_pub(
        acl_broker.port, "trigger", USERS["trigger"], SYNC_REQUEST, f"{marker} control"
    )
    assert (control.returncode, control.stderr) == (0, ""), control

    for watcher in (syncer, viewer):
        wait_received(watcher, SYNC_REQUEST, f"{marker} control")
        assert mine(watcher, marker) == {(SYNC_REQUEST, f"{marker} control")}


# (user, forbidden topic, an allowed control topic, watchers that would read the forbidden
# message and do read the control one)
FORBIDDEN = [
    ("bridge", SUCCEEDED, BRIDGE_ONLINE, ("notifier", "viewer")),
    ("bridge", SYNCER_STATS, BRIDGE_ONLINE, ("viewer", HA)),
    ("bridge", HA_CONFIG, BRIDGE_ONLINE, (HA,)),
    ("bridge", NOTIFIER_ONLINE, BRIDGE_ONLINE, ("notifier", "viewer")),
    ("syncer", EVENT, SYNCER_STATE, ("syncer", "viewer")),
    ("syncer", "arrsync/events/arrsync/Test", SYNCER_STATE, ("syncer", "viewer")),
    ("syncer", BRIDGE_ONLINE, SYNCER_STATE, ("viewer",)),
    ("syncer", HA_STATUS, SYNCER_STATE, (HA,)),
    ("syncer", "homeassistant/sensor/another-device/x/config", SYNCER_STATE, (HA,)),
    ("notifier", SUCCEEDED, NOTIFIER_ONLINE, ("notifier", "viewer")),
    ("notifier", "arrsync/sync/failed", NOTIFIER_ONLINE, ("notifier", "viewer")),
    ("notifier", SYNC_REQUEST, NOTIFIER_ONLINE, ("notifier", "viewer")),
    ("notifier", BRIDGE_ONLINE, NOTIFIER_ONLINE, ("notifier", "viewer")),
    ("trigger", EVENT, SYNC_REQUEST, ("syncer", "viewer")),
    ("trigger", SUCCEEDED, SYNC_REQUEST, ("trigger", "notifier", "viewer")),
    ("bridge", AUDIT, BRIDGE_ONLINE, ("viewer", HA)),
    ("notifier", AUDIT, NOTIFIER_ONLINE, ("viewer", HA)),
    ("trigger", AUDIT, SYNC_REQUEST, ("viewer", HA)),
    ("trigger", HA_STATUS, SYNC_REQUEST, ("syncer", HA)),
    (HA, EVENT, SYNC_REQUEST, ("syncer", "viewer")),
    (HA, SUCCEEDED, SYNC_REQUEST, ("notifier", "viewer", "bridge")),
    (HA, SYNCER_STATS, SYNC_REQUEST, ("viewer", "bridge")),
]


@pytest.mark.parametrize(("user", "topic", "control", "readers"), FORBIDDEN)
@pytest.mark.parametrize("qos", [1, 0])
def test_forbidden_publish_is_refused_and_reaches_nobody(
    login: Callable[[str], Session],
    watch: Callable[..., MqttWatcher],
    marker: str,
    user: str,
    topic: str,
    control: str,
    readers: tuple[str, ...],
    qos: int,
) -> None:
    watchers = [watch(reader) for reader in readers]
    publisher = login(user)

    mid = publisher.publish(topic, f"{marker} fake", qos=qos)
    # Same client, after the fake: the broker handles its packets in order.
    assert code(publisher.send(control, f"{marker} control")) == SUCCESS
    if qos == 1:
        assert code(publisher.answer(mid)) == NOT_AUTHORIZED

    for watcher in watchers:
        wait_received(watcher, control, f"{marker} control")
        assert mine(watcher, marker) == {(control, f"{marker} control")}


VIEWER_TRIES = [
    EVENT,
    BRIDGE_ONLINE,
    SYNC_REQUEST,
    SUCCEEDED,
    SYNCER_STATE,
    NOTIFIER_ONLINE,
    "arrsync/viewer/availability",
    "homeassistant/status",
]


def test_viewer_cannot_publish_anything(
    login: Callable[[str], Session], watch: Callable[..., MqttWatcher], marker: str
) -> None:
    observers = [watch("viewer", "#"), watch("notifier"), watch("syncer")]
    viewer = login("viewer")
    for topic in VIEWER_TRIES:
        assert code(viewer.send(topic, f"{marker} fake")) == NOT_AUTHORIZED, topic
        assert code(viewer.send(topic, f"{marker} fake", retain=True)) == NOT_AUTHORIZED, topic

    # Every fake has been answered (dropped): a later message from anyone queues behind it.
    trigger = login("trigger")
    assert code(trigger.send(SYNC_REQUEST, f"{marker} control")) == SUCCESS
    for watcher in observers:
        wait_received(watcher, SYNC_REQUEST, f"{marker} control")
        assert mine(watcher, marker) == {(SYNC_REQUEST, f"{marker} control")}


def test_qos2_denial_is_invisible_to_paho(
    login: Callable[[str], Session], watch: Callable[..., MqttWatcher], marker: str
) -> None:
    """Publish with QoS 1 to see denials: with QoS 2 paho reports a denied message as sent.

    Mosquitto answers PUBREC 0x87; paho-mqtt 2.2 ignores PUBREC reason codes, sends PUBREL,
    and reports the broker's PUBCOMP, which is Success.
    """
    notifier = watch("notifier")
    bridge = login("bridge")
    assert code(bridge.send(SUCCEEDED, f"{marker} fake", qos=2)) == SUCCESS  # yet dropped:
    assert code(bridge.send(BRIDGE_ONLINE, f"{marker} control")) == SUCCESS
    wait_received(notifier, BRIDGE_ONLINE, f"{marker} control")
    assert mine(notifier, marker) == {(BRIDGE_ONLINE, f"{marker} control")}


# -- passwd.example ---------------------------------------------------------------------------


def test_passwd_example_is_comments_only_and_lets_nobody_in(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Used by mistake as the password file, the example starts a broker nobody can use."""
    lines = [line for line in PASSWD_EXAMPLE.read_text().splitlines() if line.strip()]
    assert lines
    assert all(line.startswith("#") for line in lines)

    folder = tmp_path_factory.mktemp("mosquitto-example")
    broker = start_broker(folder, lambda path: shutil.copyfile(PASSWD_EXAMPLE, path))
    try:
        for user, password in USERS.items():
            refused = Session(broker.port, user, password)
            try:
                assert code(refused.connect()) == NOT_AUTHORIZED, user
            finally:
                refused.close()
    finally:
        broker.stop()
