"""Alerts of the bridge and the syncer reach people: real broker, real Apprise, local sink."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from arrsync.settings import Settings
from arrsync.wire.alert import Alert, Problem
from notifier.service import NotifierService
from tests.helpers import MqttWatcher
from tests.sink import NotificationSink
from tools.localbroker import LocalBroker


@pytest.fixture
def notifier(broker: LocalBroker, make_settings: Callable[..., Settings]) -> Iterator[
        tuple[NotifierService, NotificationSink]]:
    with NotificationSink() as sink:
        service = NotifierService(make_settings(broker, notify={"urls": [sink.url()]}),
                                  retry_delay=0.05)
        service.start()
        assert service.mqtt.wait_connected(10)
        yield service, sink
        service.stop()


def test_an_alert_and_its_end_are_notified_as_a_failure_and_a_success(
    notifier: tuple[NotifierService, NotificationSink], broker: LocalBroker, base_topic: str,
) -> None:
    _service, sink = notifier
    start = Alert(component="syncer", problem=Problem.STORE, active=True,
                  message="cannot write the job store /data/syncer.db", at="2026-01-01T00:00Z")
    end = start.model_copy(update={"active": False, "message": "the job store works again"})
    with MqttWatcher(broker.port, []) as publisher:
        publisher.client.publish(f"{base_topic}/syncer/alert", b"not an alert", qos=1)
        publisher.client.publish(f"{base_topic}/syncer/alert", start.model_dump_json(), qos=1)
        publisher.client.publish(f"{base_topic}/syncer/alert", end.model_dump_json(), qos=1)
        alert, recovered = sink.wait_for(count=2)
    assert (alert["type"], alert["title"]) == ("failure", "❌ arrsync syncer needs attention")
    assert "/data/syncer.db" in alert["message"]
    assert (recovered["type"], recovered["title"]) == ("success", "✅ arrsync syncer recovered")
