"""The notifier delivers each status once and keeps going: no resends after a restart,
failed deliveries retried without blocking the rest, malformed statuses ignored."""

from __future__ import annotations

import json
from collections.abc import Callable

from arrsync.settings import Settings
from arrsync.wire.job import JobState
from notifier.service import NotifierService
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http
from tests.media import FIXTURES, MediaTree, syncer_settings
from tests.notifier.notifier_stack import radarr_import, status_message
from tests.processes import RunningBridge
from tests.sink import NotificationSink
from tools.localbroker import LocalBroker, free_port


def test_restart_does_not_resend_old_notifications(
    broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
    base_topic: str, sink: NotificationSink, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService],
    start_notifier: Callable[[Settings], NotifierService],
) -> None:
    settings = syncer_settings(make_settings, broker, media, base_topic)
    settings = settings.model_copy(update={"notify": settings.notify.model_validate(
        {"urls": [sink.url()], "group_window": 0})})
    start_syncer(settings)
    bridge = start_bridge(settings)
    first = start_notifier(settings)
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(radarr_import(media)))
    sink.wait_for(1)
    first.stop()
    start_notifier(settings)
    second = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    second["movieFile"]["path"] = "/movies/Second (2024)/Second.mkv"
    second["movie"]["title"], second["movie"]["year"] = "Second", 2024
    media.put(second["movieFile"]["path"])
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(second))
    titles = [m["title"] for m in sink.wait_for(2)]
    assert titles == ["✅ Oppenheimer (2023) → Movies 1080p", "✅ Second (2024) → Movies 1080p"]


def test_delivery_failures_are_retried_without_blocking(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    start_notifier: Callable[[Settings], NotifierService],
) -> None:
    with NotificationSink(failures=2) as flaky:
        settings = make_settings(broker, notify={"urls": [flaky.url()], "group_window": 0,
                                                 "delivery_attempts": 3})
        start_notifier(settings)
        with MqttWatcher(broker.port, []) as publisher:
            for n in range(3):
                status = status_message(f"job{n}", JobState.FAILED, error=f"boom {n}")
                publisher.client.publish(f"{base_topic}/sync/failed",
                                         status.model_dump_json(), qos=1)
            messages = flaky.wait_for(3)
    assert flaky.attempts == 5
    assert sorted(m["message"].split("\n")[0] for m in messages) == ["boom 0", "boom 1",
                                                                     "boom 2"]


def test_malformed_status_is_ignored(broker: LocalBroker, make_settings: Callable[..., Settings],
                                     base_topic: str, sink: NotificationSink,
                                     start_notifier: Callable[[Settings], NotifierService]) -> None:
    start_notifier(make_settings(broker, notify={"urls": [sink.url()], "group_window": 0}))
    with MqttWatcher(broker.port, []) as publisher:
        publisher.client.publish(f"{base_topic}/sync/failed", b"\xff not json", qos=1)
        publisher.client.publish(f"{base_topic}/sync/failed", '{"job": 1}', qos=1)
        good = status_message("j", JobState.FAILED, error="after the garbage")
        publisher.client.publish(f"{base_topic}/sync/failed", good.model_dump_json(), qos=1)
        (message,) = sink.wait_for()
    assert "after the garbage" in message["message"]


def test_a_url_that_fails_is_retried_alone_and_its_failure_published(
    broker: LocalBroker, make_settings: Callable[..., Settings], base_topic: str,
    sink: NotificationSink, start_notifier: Callable[[Settings], NotifierService],
) -> None:
    """Telegram unreachable beside a working URL: the working one gets each message once."""
    dead = f"json://127.0.0.1:{free_port()}/telegram-is-down"
    settings = make_settings(broker, notify={"urls": [sink.url(), dead], "group_window": 0,
                                             "delivery_attempts": 3})
    start_notifier(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/notifier/alert"]) as watcher:
        for n in range(2):
            status = status_message(f"job{n}", JobState.FAILED, error=f"boom {n}")
            watcher.client.publish(f"{base_topic}/sync/failed", status.model_dump_json(), qos=1)
        alerts = [m.json() for m in watcher.wait_for("/notifier/alert", count=2, timeout=30)]
    messages = sink.wait_for(2)
    assert sorted(m["message"].split("\n")[0] for m in messages) == ["boom 0", "boom 1"]
    assert sink.attempts == 2  # each once, though the other URL was tried three times
    assert all(a["problem"] == "notify" and a["component"] == "notifier" for a in alerts)
    assert "could not be delivered to json://127.0.0.1" in alerts[0]["message"]
    assert "telegram-is-down" in alerts[0]["message"] and "after 3 attempts" in alerts[0]["message"]
