"""Notifications end to end: real bridge, broker, syncer, rsync and Apprise posting to a
local HTTP sink through its json:// URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from arrsync.units import human_size
from arrsync.wire import JobState, JobStatus
from notifier.messages import MessageBuilder, TemplateError, group_title
from notifier.sender import AppriseSender
from notifier.service import NotifierService
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http
from tests.media import FIXTURES, MediaTree, syncer_settings
from tests.processes import RunningBridge
from tests.sink import NotificationSink
from tools.localbroker import LocalBroker


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running


@pytest.fixture
def start_notifier() -> Iterator[Callable[[Settings], NotifierService]]:
    started: list[NotifierService] = []

    def start(settings: Settings) -> NotifierService:
        service = NotifierService(settings, retry_delay=0.05)
        service.start()
        started.append(service)
        assert service.mqtt.wait_connected(10)
        return service

    yield start
    for service in started:
        if service.mqtt.connected.is_set():
            service.stop()


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


def radarr_import(media: MediaTree, size: int = 3_000_000) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    media.put(payload["movieFile"]["path"], size=size)
    return payload


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


def status_message(job: str, state: JobState, **fields: Any) -> JobStatus:
    values: dict[str, Any] = dict(job=job, state=state, trigger="t", title="Film (2020)",
                                  app="radarr", mapping="Movies", source="/s", dest="/d",
                                  bytes=10**9, files=1, attempt=1, max_attempts=5,
                                  duration_s=10.0, error=None, at="2026-01-01T00:00:00Z")
    values.update(fields)
    return JobStatus(**values)


def test_templates_and_helpers() -> None:
    builder = MessageBuilder("{icon} {title}", "{size} · {speed} · {attempt}/{max_attempts}")
    message = builder.jobs([status_message("j", JobState.SUCCEEDED)])
    assert (message.title, message.body) == ("✅ Film (2020)", "1.0 GB · 100.0 MB/s · 1/5")
    with pytest.raises(TemplateError, match="unknown field"):
        MessageBuilder("{nope}", None)
    assert human_size(14_600_000_000) == "14.6 GB"
    episodes = [status_message(str(n), JobState.SUCCEEDED, title=f"Show (2020) S02E0{n}",
                               series="Show (2020)", episodes=[{"season": 2, "episode": n}])
                for n in range(1, 4)]
    assert group_title(episodes) == "Show (2020) S02"
    films = [status_message(str(n), JobState.SUCCEEDED, title=f"Film {n}") for n in range(3)]
    assert group_title(films) == "Film 0 and 2 more"


class FakeTelegram:
    """Stands in for api.telegram.org, the one thing that cannot exist here."""

    status_code = 200
    content = b'{"ok": true, "result": {}}'
    text = content.decode()

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def post(self, url: str, **kwargs: Any) -> FakeTelegram:
        self.requests.append((url, json.loads(kwargs.get("data") or "{}")))
        return self

    def json(self) -> dict[str, Any]:
        return {"ok": True, "result": {}}


def test_telegram_gets_markdown_that_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    import apprise.plugins.telegram

    telegram = FakeTelegram()
    monkeypatch.setattr(apprise.plugins.telegram.requests, "post", telegram.post)
    sender = AppriseSender(["tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"],
                           None, attempts=1)
    sender.start()
    builder = MessageBuilder(None, None)
    failed = status_message("j", JobState.FAILED, dest="/mnt/unraid/media/Movies/Film_2020",
                            error="rsync failed (exit 11)")
    sender.send(builder.jobs([failed]), None)
    sender.stop()
    ((url, payload),) = telegram.requests
    assert url.endswith("/sendMessage")
    assert payload["chat_id"] == 987654321
    assert payload["parse_mode"].lower().startswith("markdown")
    text = payload["text"]
    assert text.startswith("*❌ Film (2020) → Movies failed*\n")  # a bold title
    assert "Film\\_2020" in text  # Markdown-escaped, so the path renders as written


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


def test_mirror_actions_say_what_they_did() -> None:
    builder = MessageBuilder(None, None)
    moved = [{"from_path": "/a", "to_path": "/b"}, {"from_path": "/c", "to_path": "/d"}]
    rename = status_message("r", JobState.SUCCEEDED, action="rename", moved=moved, bytes=0)
    assert builder.jobs([rename]).body == "renamed 2 file(s) at the destination"
    recycle = status_message("d", JobState.SUCCEEDED, action="recycle", moved=moved[:1])
    assert builder.jobs([recycle]).body == "moved 1 file(s) or folder(s) to the recycle bin"
    replace = status_message("u", JobState.SUCCEEDED, action="replace", moved=moved[:1])
    assert builder.jobs([replace]).body.startswith("upgrade replaced: 1 file, 1.0 GB in ")
    dry = status_message("x", JobState.SUCCEEDED, action="recycle", moved=moved, dry_run=True)
    assert builder.jobs([dry]).body.startswith("dry run, nothing changed: moved 2")
    skipped = status_message("s", JobState.SKIPPED, error="the destination already has it")
    assert builder.jobs([skipped]).body == "the destination already has it"
