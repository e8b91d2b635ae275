"""What no user may write: a publication the ACL forbids is refused (PUBACK 0x87) and reaches
nobody, whatever the QoS; the viewer may publish nothing at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
    NOT_AUTHORIZED,
    SUCCESS,
    Session,
    code,
    mine,
    mosquitto_pub,
    wait_received,
)
from tests.helpers import MqttWatcher
from tools.localbroker import LocalBroker


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
