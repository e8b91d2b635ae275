"""The MQTT connection reports the broker's refusals: a login (CONNACK) and a publish the ACL
forbids (a v5 PUBACK with 0x87, which only on_publish sees), in words and in the log."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings
from tests.helpers import RESTRICTED_USERS
from tools.localbroker import LocalBroker, free_port

PATIENT_S = 30.0  # far longer than an answer takes: a wait that lasts it was not ended early


def connect(broker: LocalBroker, user: str, password: str) -> MqttConnection:
    settings = MqttSettings(host="127.0.0.1", port=broker.port, username=user, password=password)
    connection = MqttConnection(settings, "test", announce=False)
    connection.start()
    return connection


@pytest.mark.parametrize(("user", "allowed"), [("viewer", False), ("trigger", True)])
def test_a_publish_the_acl_forbids_is_reported(restricted_broker: LocalBroker, user: str,
                                               allowed: bool,
                                               caplog: pytest.LogCaptureFixture) -> None:
    connection = connect(restricted_broker, user, RESTRICTED_USERS[user])
    try:
        assert connection.connection_problem(10) is None
        answered = threading.Event()
        outcome: list[bool] = []
        refused: list[ReasonCode] = []
        with caplog.at_level(logging.ERROR, logger="arrsync.mqtt"):
            connection.publish("arrsync/sync/request", "/movies/x", on_refused=refused.append,
                               on_done=lambda ok: (outcome.append(ok), answered.set()))
            assert answered.wait(10)
    finally:
        connection.stop()
    assert outcome == [allowed]
    assert [(r.value, r.getName()) for r in refused] == ([] if allowed else
                                                        [(0x87, "Not authorized")])
    logged = [r.getMessage() for r in caplog.records]
    refusal = "the broker refused the publish to arrsync/sync/request by user viewer: " \
              "Not authorized"
    assert (refusal in logged) is not allowed


def test_a_refused_login_is_told_apart_from_an_unreachable_broker(
    restricted_broker: LocalBroker, tmp_path: Path,
) -> None:
    connection = connect(restricted_broker, "viewer", "wrong")
    try:
        problem = connection.connection_problem(10)
    finally:
        connection.stop()
    assert problem == (f"the broker at 127.0.0.1:{restricted_broker.port} refused the login as "
                       "user viewer: Not authorized (check mqtt.username and mqtt.password)")
    nobody = LocalBroker(tmp_path / "unused")  # a free port nobody listens on
    connection = MqttConnection(MqttSettings(host="127.0.0.1", port=nobody.port), "test",
                                announce=False)
    connection.start()
    try:
        assert connection.connection_problem(2) == \
            f"cannot reach the broker at 127.0.0.1:{nobody.port}"
    finally:
        connection.stop()


@pytest.mark.parametrize("refusal", ["login", "connection"])
def test_a_refusal_ends_the_wait_at_once(restricted_broker: LocalBroker, refusal: str) -> None:
    """A refused login (CONNACK) or a refused TCP connection is the answer: the wait ends with
    it, not at its timeout (`arrsync-syncer check` would make a user wait that long)."""
    port = restricted_broker.port if refusal == "login" else free_port()  # nobody listens
    settings = MqttSettings(host="127.0.0.1", port=port, username="viewer", password="wrong")
    connection = MqttConnection(settings, "test", announce=False)
    started = time.monotonic()
    connection.start()
    try:
        problem = connection.connection_problem(PATIENT_S)
        waited = time.monotonic() - started
    finally:
        connection.stop()
    assert problem == {
        "login": f"the broker at 127.0.0.1:{port} refused the login as user viewer: Not "
                 "authorized (check mqtt.username and mqtt.password)",
        "connection": f"cannot reach the broker at 127.0.0.1:{port}",
    }[refusal]
    assert waited < PATIENT_S


def test_a_broker_that_never_answers_is_waited_for_until_the_timeout() -> None:
    """A listener that accepts the connection and sends no CONNACK: no answer, no early end."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        connection = MqttConnection(MqttSettings(host="127.0.0.1", port=port), "test",
                                    announce=False)
        connection.start()
        try:
            started = time.monotonic()
            problem = connection.connection_problem(0.5)
            waited = time.monotonic() - started
        finally:
            connection.stop()
    assert problem == f"cannot reach the broker at 127.0.0.1:{port}"
    assert waited >= 0.5
