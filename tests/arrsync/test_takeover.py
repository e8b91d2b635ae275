"""Noticing another client that keeps taking our MQTT client id: the rule with an injected
clock and timings, then two real connections fighting over one id on a real broker."""

from __future__ import annotations

import time
import uuid

import pytest

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings
from arrsync.takeover import CONNECTION_LOST, LIMIT, SESSION_TAKEN_OVER, SHORT_S, TakeoverWatch
from tests.helpers import wait_until
from tools.localbroker import LocalBroker

KEEPALIVE_TIMEOUT = 0x8D  # a loss that says nothing about another client


class Clock:
    """A clock only the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class JumpingClock:
    """The real monotonic time plus `ahead`: the test makes it jump, then it runs on."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.ahead


def test_the_default_timings_are_the_documented_ones() -> None:
    watch = TakeoverWatch()
    assert (watch.short_s, watch.limit) == (SHORT_S, LIMIT) == (3.0, 3)


@pytest.mark.parametrize(("losses", "verdicts"), [
    # (seconds the connection lived, or None for a loss without a connect; reason code)
    ([(0.1, CONNECTION_LOST), (0.1, CONNECTION_LOST)], [False, True]),
    ([(0.1, SESSION_TAKEN_OVER), (0.1, SESSION_TAKEN_OVER)], [False, True]),
    ([(5.0, CONNECTION_LOST), (0.1, CONNECTION_LOST)], [False, False]),  # had lasted: no count
    ([(0.1, CONNECTION_LOST), (1.0, CONNECTION_LOST), (0.1, CONNECTION_LOST)],
     [False, False, False]),  # a long one breaks the row
    ([(0.1, CONNECTION_LOST), (0.1, KEEPALIVE_TIMEOUT), (0.1, CONNECTION_LOST)],
     [False, False, False]),  # another reason breaks the row
    ([(None, CONNECTION_LOST), (0.1, CONNECTION_LOST)], [False, False]),
], ids=["lost", "taken-over", "long-first", "long-between", "other-reason", "never-connected"])
def test_short_losses_in_a_row_are_a_takeover_loop(
    losses: list[tuple[float | None, int]], verdicts: list[bool],
) -> None:
    clock = Clock()
    watch = TakeoverWatch(clock, short_s=0.5, limit=2)
    seen = []
    for lived, reason in losses:
        if lived is not None:
            watch.connected()
            clock.now += lived
        seen.append(watch.disconnected(reason))
    assert seen == verdicts


def test_the_newcomer_to_a_client_id_gives_up_and_the_first_client_stays(
    broker: LocalBroker,
) -> None:
    """Two connections with one client id kick each other off at each reconnect (paho waits
    1 s). With a short connection under 2.5 s and two in a row, the newcomer gives up on its
    second loss, once, while the first client, whose first connection had lasted, goes on."""
    client_id = f"takeover-{uuid.uuid4().hex[:8]}"
    settings = MqttSettings(host="127.0.0.1", port=broker.port)
    gave_up: dict[str, int] = {"first": 0, "newcomer": 0}

    def connection(name: str, clock: JumpingClock) -> MqttConnection:
        def give_up() -> None:
            gave_up[name] += 1

        watch = TakeoverWatch(clock, short_s=2.5, limit=2)
        return MqttConnection(settings, name, client_id=client_id, announce=False,
                              on_takeover_loop=give_up, takeover_watch=watch)

    first_clock = JumpingClock()
    first = connection("first", first_clock)
    newcomer = connection("newcomer", JumpingClock())
    first.start()
    try:
        wait_until(first.connected.is_set, message="the first client connected")
        first_clock.ahead = 3600  # it has been connected an hour, as a real syncer has been
        newcomer.start()
        wait_until(lambda: gave_up["newcomer"], timeout=30, message="the newcomer giving up")
        wait_until(first.connected.is_set, message="the first client connected again")
    finally:
        newcomer.stop()
        first.stop()
    assert gave_up == {"first": 0, "newcomer": 1}
    assert not newcomer.connected.is_set()
