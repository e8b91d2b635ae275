"""The broker the Mosquitto ACL tests run against, its users and topics, and their fixtures.

One private Mosquitto per test module, started by LocalBroker from the production config with
the project's own `mosquitto/acl` (copied where the broker can read it) and a password file
made by the real `mosquitto_passwd`. The ACL is written for the base topic "arrsync", so the
tests use it as their prefix.

A test module uses the fixtures by importing them under their own names
(`from tests.deploy.acl_broker import login as login`): pytest finds fixtures by name in the
test module.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.deploy.acl_clients import SUCCESS, Session, code
from tests.helpers import MqttWatcher, secured_broker
from tools.localbroker import CONFIG_DIR, LocalBroker

ACL_FILE = CONFIG_DIR / "acl"
USERS = {
    "bridge": "bridge-Secret-1",
    "syncer": "syncer-Secret-2",
    "notifier": "notifier-Secret-3",
    "trigger": "trigger-Secret-4",
    "viewer": "viewer-Secret-5",
    "homeassistant": "homeassistant-Secret-6",
}
HA = "homeassistant"

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
    broker = secured_broker(tmp_path_factory.mktemp("mosquitto-acl"), USERS)
    try:
        yield broker
    finally:
        broker.stop()


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
