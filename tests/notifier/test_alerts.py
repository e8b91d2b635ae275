"""Alerts of the bridge and the syncer reach people: real broker, real Apprise, local sink."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.mark.parametrize(("url", "said"), [
    ("tgram://not-a-token/123", "notify.urls, URL 1: a tgram:// URL that Apprise cannot use: "
                                "it knows tgram://, so check the rest"),
    ("nosuchservice://x/y", "notify.urls, URL 1: Apprise does not know nosuchservice:// URL"),
])
def test_a_url_apprise_cannot_use_is_named_by_what_is_wrong(
        url: str, said: str, tmp_path: Path) -> None:
    config = tmp_path / "arrsync.yml"
    config.write_text(f"notify:\n  urls: ['{url}']\n")
    done = subprocess.run([str(Path(sys.executable).parent / "arrsync-notify"), "--config",
                           str(config)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert said in done.stderr
    assert "not-a-token" not in done.stderr and "x/y" not in done.stderr  # never the URL
    check = subprocess.run([str(Path(sys.executable).parent / "arrsync-syncer"), "--config",
                            str(config), "check"], capture_output=True, text=True, timeout=60,
                           check=False)
    assert f"  [FAIL] {said}" in check.stdout
