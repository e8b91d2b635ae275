"""What each user may write: every publication the ACL allows for the bridge, the syncer
and the trigger reaches the users who read it."""

from __future__ import annotations

from collections.abc import Callable

from tests.deploy.acl_broker import (
    AUDIT,
    BRIDGE_ONLINE,
    EVENT,
    HA,
    HA_CONFIG,
    SYNC_REQUEST,
    SYNCER_STATE,
    USERS,
)
from tests.deploy.acl_clients import (
    NO_SUBSCRIBERS,
    SUCCESS,
    Session,
    code,
    mine,
    mosquitto_pub,
    mosquitto_sub_one,
    received,
    wait_received,
)
from tests.helpers import MqttWatcher
from tools.localbroker import LocalBroker


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
