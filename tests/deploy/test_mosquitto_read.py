"""What each user may read: everyone subscribes to everything (Mosquitto grants it) and the
ACL filters each message at delivery, retained ones included."""

from __future__ import annotations

from collections.abc import Callable

from tests.deploy.acl_broker import (
    AUDIT,
    BRIDGE_ONLINE,
    EVENT,
    HA,
    HA_CONFIG,
    HA_STATUS,
    NOTIFIER_ONLINE,
    SUCCEEDED,
    SYNC_REQUEST,
    SYNCER_STATE,
    SYNCER_STATS,
    USERS,
)
from tests.deploy.acl_clients import (
    NO_SUBSCRIBERS,
    SUCCESS,
    Session,
    code,
    mine,
    mosquitto_sub_one,
    wait_received,
)
from tests.helpers import MqttWatcher
from tools.localbroker import LocalBroker

# Each publication by a user allowed to make it, and who may read it. Every user reads one of
# the last two, so once a watcher has its last one, everything before it has arrived too.
PUBLICATIONS = [
    ("bridge", EVENT, {"syncer", "viewer", HA}),
    ("syncer", SUCCEEDED, {"bridge", "notifier", "trigger", "viewer", HA}),
    ("syncer", SYNCER_STATE, {"bridge", "syncer", "viewer", HA}),
    ("syncer", SYNCER_STATS, {"bridge", "syncer", "viewer", HA}),
    ("syncer", AUDIT, {"syncer", "viewer", HA}),
    ("bridge", "arrsync/bridge/alert", {"bridge", "notifier", "viewer", HA}),
    ("notifier", "arrsync/notifier/alert", {"bridge", "notifier", "viewer", HA}),
    ("syncer", "arrsync/syncer/alert", {"bridge", "syncer", "notifier", "viewer", HA}),
    # A named syncer's (syncer.name: offsite): the notifier reads its alerts and availability.
    ("syncer", "arrsync/syncer/offsite/alert", {"bridge", "syncer", "notifier", "viewer", HA}),
    ("syncer", "arrsync/syncer/offsite/availability",
     {"bridge", "syncer", "notifier", "viewer", HA}),
    ("syncer", "arrsync/syncer/offsite/mappings", {"bridge", "syncer", "viewer", HA}),
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
