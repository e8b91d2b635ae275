"""The MQTT connection sends small packets at once (TCP_NODELAY), with the real broker."""

from __future__ import annotations

import os
import socket

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings
from tests.helpers import wait_until
from tools.localbroker import CONFIG_DIR, LocalBroker


def test_the_client_socket_does_not_wait_to_fill_packets(broker: LocalBroker) -> None:
    connection = MqttConnection(MqttSettings(host="127.0.0.1", port=broker.port), "test",
                                announce=False)
    connection.start()
    try:
        wait_until(connection.connected.is_set, message="connected")
        sock = connection._client.socket()
        assert isinstance(sock, socket.socket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        connection.stop()


def test_the_broker_config_sends_small_packets_at_once() -> None:
    lines = (CONFIG_DIR / "mosquitto.conf").read_text().splitlines()
    assert "set_tcp_nodelay true" in lines


def test_stop_closes_every_socket_the_connection_opened(broker: LocalBroker) -> None:
    """The broker connection and loop_start()'s wake-up pair are closed by stop(), not left to
    the garbage collector (whose ResourceWarning would fail some later test)."""
    before = set(os.listdir("/proc/self/fd"))
    connection = MqttConnection(MqttSettings(host="127.0.0.1", port=broker.port), "test",
                                announce=False)
    connection.start()
    wait_until(connection.connected.is_set, message="connected")
    assert len(set(os.listdir("/proc/self/fd")) - before) >= 3  # the connection and the pair
    connection.stop()
    assert set(os.listdir("/proc/self/fd")) - before == set()
