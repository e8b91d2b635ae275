"""What the notifications say and when, end to end: real bridge, broker, syncer, rsync and
Apprise posting to a local HTTP sink through its json:// URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from notifier.service import NotifierService
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http
from tests.media import FIXTURES, MediaTree, syncer_settings
from tests.notifier.notifier_stack import radarr_import
from tests.processes import RunningBridge
from tests.sink import NotificationSink
from tools.localbroker import LocalBroker


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, sink: NotificationSink,
          start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService],
          start_notifier: Callable[[Settings], NotifierService]) -> Callable[..., RunningBridge]:
    def build(notify: dict[str, Any] | None = None, **syncer: Any) -> RunningBridge:
        settings = syncer_settings(make_settings, broker, media, base_topic, **syncer)
        settings = settings.model_copy(update={"notify": settings.notify.model_validate(
            {"urls": [sink.url()], "group_window": 0.5, **(notify or {})})})
        start_syncer(settings)
        start_notifier(settings)
        return start_bridge(settings)
    return build


def test_success_message_reads_well(stack: Callable[..., RunningBridge], media: MediaTree,
                                    sink: NotificationSink) -> None:
    bridge = stack()
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(radarr_import(media)))
    (message,) = sink.wait_for()
    assert message["type"] == "success"
    assert message["title"] == "✅ Oppenheimer (2023) → Movies 1080p"
    assert message["message"].startswith("1 file, 3.0 MB in ")
    assert "/s)" in message["message"]


def test_failure_is_sent_at_once_with_the_reason(stack: Callable[..., RunningBridge],
                                                 sink: NotificationSink) -> None:
    bridge = stack(notify={"group_window": 60})
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    payload["movieFile"]["path"] = "/elsewhere/film.mkv"
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(payload))
    (message,) = sink.wait_for(timeout=10)  # well before the 60 s group window
    assert message["type"] == "failure"
    assert "failed" in message["title"]
    assert "under no mapping" in message["message"]


def test_a_season_of_per_file_imports_is_one_message(
    stack: Callable[..., RunningBridge], media: MediaTree, sink: NotificationSink,
    broker: LocalBroker, base_topic: str,
) -> None:
    bridge = stack(notify={"group_window": 1.0})
    template = json.loads((FIXTURES / "sonarr" / "download.json").read_text())
    with MqttWatcher(broker.port, [f"{base_topic}/sync/succeeded"]) as watcher:
        for episode in range(1, 6):
            payload = json.loads(json.dumps(template))
            path = f"/tv/Chernobyl (2019)/Season 1/Chernobyl - S01E0{episode}.mkv"
            payload["episodeFile"]["path"] = path
            payload["episodes"] = [{"id": episode, "seasonNumber": 1, "episodeNumber": episode,
                                    "title": f"Episode {episode}"}]
            media.put(path, size=1_000_000)
            http("POST", f"{bridge.url}/webhook/sonarr", json.dumps(payload))
        watcher.wait_for("/succeeded", count=5)
    (message,) = sink.wait_for()
    assert message["title"] == "✅ Chernobyl S01 → TV 1080p"
    assert message["message"].startswith("5 episodes, 5.0 MB in ")
    # Nothing else arrives: a later test event is the only other message.
    http("POST", f"{bridge.url}/test")
    assert [m["title"] for m in sink.wait_for(2)][1] == "🔔 arrsync connected"


def test_repeating_failure_notifies_once_then_once_on_recovery(
    stack: Callable[..., RunningBridge], media: MediaTree, sink: NotificationSink,
    broker: LocalBroker, base_topic: str,
) -> None:
    movies = media.mapping("Movies 1080p")
    media.mappings[0] = dict(movies, anchors=[".share-mounted"])
    bridge = stack(notify={"group_window": 0.2})
    Path(movies["source"], ".share-mounted").touch()
    first = radarr_import(media)
    second = json.loads(json.dumps(first).replace("Oppenheimer", "Barbie"))
    second["downloadId"] = "another-download"
    media.put(second["movieFile"]["path"])
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        http("POST", f"{bridge.url}/webhook/radarr", json.dumps(first))
        http("POST", f"{bridge.url}/webhook/radarr", json.dumps(second))
        watcher.wait_for("/retrying", count=2)
        Path(movies["dest"], ".share-mounted").touch()  # the share is back
        watcher.wait_for("/succeeded", count=2)
    messages = sink.wait_for(4)
    titles = [m["title"] for m in messages]
    assert titles[0].startswith("⚠️ Oppenheimer (2023) → Movies 1080p")
    assert "anchor file .share-mounted is missing" in messages[0]["message"]
    assert titles.count("✅ Movies 1080p recovered") == 1
    assert sum("→ Movies 1080p: retrying" in t for t in titles) == 1
    assert len(messages) == 4  # one alert, one recovery, two successes


def test_test_route_sends_a_test_notification(stack: Callable[..., RunningBridge],
                                              sink: NotificationSink) -> None:
    bridge = stack()
    http("POST", f"{bridge.url}/webhook/radarr", (FIXTURES / "radarr" / "test.json").read_bytes())
    (message,) = sink.wait_for()
    assert message["type"] == "info"
    assert message["title"] == "🔔 arrsync connected"
    assert message["message"].startswith("Radarr webhook works")


def test_config_file_and_tags_route_success_and_failure(
    stack: Callable[..., RunningBridge], media: MediaTree, sink: NotificationSink,
    tmp_path: Path,
) -> None:
    config = tmp_path / "apprise.yml"
    config.write_text(
        "urls:\n"
        f"  - {sink.url('media')}:\n      tag: media\n"
        f"  - {sink.url('alerts')}:\n      tag: alerts\n")
    bridge = stack(notify={"urls": [], "config_file": str(config), "success_tag": "media",
                           "failure_tag": "alerts"})
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(radarr_import(media)))
    sink.wait_for(path="media")
    bad = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    bad["movieFile"]["path"] = "/nowhere/x.mkv"
    http("POST", f"{bridge.url}/webhook/radarr", json.dumps(bad))
    (alert,) = sink.wait_for(path="alerts")
    assert alert["type"] == "failure"
    assert [m["type"] for m in sink.received("media")] == ["success"]


def test_a_job_that_copied_nothing_is_not_announced_as_a_sync(
    stack: Callable[..., RunningBridge], broker: LocalBroker, media: MediaTree,
    base_topic: str, sink: NotificationSink,
) -> None:
    bridge = stack(notify={"group_window": 0})
    already = radarr_import(media)
    path = already["movieFile"]["path"]
    media.put_dest(path, media.source_of(path).read_bytes())
    fresh = json.loads(json.dumps(already).replace("Oppenheimer", "Barbie"))
    media.put(fresh["movieFile"]["path"], size=1000)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        http("POST", f"{bridge.url}/webhook/radarr", json.dumps(already))
        skipped = watcher.wait_for("/sync/skipped")[0].json()
        http("POST", f"{bridge.url}/webhook/radarr", json.dumps(fresh))
        watcher.wait_for("/sync/succeeded")
    (message,) = sink.wait_for()
    assert skipped["bytes"] == 0 and "already has" in skipped["error"]
    assert message["title"].startswith("✅ Barbie")
    assert len(sink.received()) == 1
