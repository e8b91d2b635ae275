"""No single MQTT message wedges the syncer: a megabyte request, a retained request, a flood
of identical requests, a second syncer with the same client id. Real broker, real rsync."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from arrsync.takeover import SHORT_S
from syncer.service import SyncerService
from tests.helpers import (
    MqttWatcher,
    import_envelope,
    mosquitto_pub,
    publish_import,
    wait_until,
)
from tests.media import MediaTree, syncer_settings
from tests.processes import Process
from tests.syncer.test_jobs import RSYNC_COUNTER
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic)


def publish_file(port: int, topic: str, payload: Path, *, retain: bool = False) -> None:
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic,
                    "-f", str(payload), *(["-r"] if retain else [])], check=True, timeout=30)


@pytest.mark.parametrize("shape", ["text", "json-path", "json-id", "replace-id"])
def test_a_megabyte_request_gets_one_small_refusal_and_no_reconnect(
    shape: str, settings: Settings, start_syncer: Start, broker: LocalBroker,
    media: MediaTree, base_topic: str, tmp_path: Path,
) -> None:
    huge = "x" * 1_900_000
    payload = tmp_path / "request"
    payload.write_text({"text": huge, "json-path": json.dumps({"path": huge}),
                        "json-id": json.dumps({"path": "/movies/X", "id": huge}),
                        "replace-id": json.dumps({"replace": "/movies/X", "id": huge})}[shape])
    syncer = start_syncer(settings)
    media.put("/movies/After/after.mkv")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_file(broker.port, f"{base_topic}/sync/request", payload)
        refused = watcher.refusal()
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/After")
        watcher.wait_for("/succeeded")
    (answer,) = watcher.on("/sync/response")[:1]
    assert len(answer.payload) < 4000
    assert "more characters" in refused["message"] or "longer than" in refused["message"]
    assert watcher.on("/failed") == []
    # One connection all along: the refusal did not make the broker drop the syncer.
    assert broker.log_path.read_text().count(f" as {settings.syncer.client_id} (") == 1
    assert syncer.settings.syncer.state_path.stat().st_size < 1_000_000


def test_a_retained_request_is_ignored_with_a_warning(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, caplog: pytest.LogCaptureFixture,
) -> None:
    media.put("/movies/Retained/retained.mkv")
    media.put("/movies/Live/live.mkv")
    request = f"{base_topic}/sync/request"
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-r", "-t", request,
                    "-m", "/movies/Retained"], check=True, timeout=10)
    try:
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            start_syncer(settings)
            mosquitto_pub(broker.port, request, "/movies/Live")
            done = watcher.wait_for("/succeeded")[0].json()
    finally:
        subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-r", "-n", "-t", request],
                       check=True, timeout=10)
    assert done["title"] == "Live"
    assert not media.dest_of("/movies/Retained").exists()
    assert "ignoring a retained request" in caplog.text
    assert f"mosquitto_pub -r -n -t '{request}'" in caplog.text


def test_three_hundred_identical_requests_run_rsync_once_and_each_gets_an_answer(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = tmp_path / "rsync-counter"
    counter.write_text(f"#!{sys.executable}\n{RSYNC_COUNTER}")
    counter.chmod(0o755)
    log = tmp_path / "rsync.log"
    monkeypatch.setenv("ARRSYNC_TEST_RSYNC_LOG", str(log))
    start_syncer(syncer_settings(make_settings, broker, media, base_topic,
                                 rsync_path=str(counter)))
    media.put("/movies/Flood (2020)/Flood.mkv", size=100_000)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-l", "-t",
                        f"{base_topic}/sync/request"],
                       input=b"/movies/Flood (2020)\n" * 300, check=True, timeout=30)
        watcher.wait_for("", count=300, timeout=60,
                         where=lambda m: not m.topic.endswith(("/request", "/response"))
                         and m.json()["state"] in ("succeeded", "skipped"))
        answers = watcher.wait_for("/sync/response", count=300)
    assert all(answer.json()["ok"] for answer in answers)
    assert log.read_text() == "+-"  # one rsync
    assert len(watcher.on("/succeeded")) == 1
    reasons = {m.json()["error"].split(" job ")[0] for m in watcher.on("/skipped")}
    assert reasons <= {"already queued or running as",
                       "the destination already has this file (same size); nothing was copied"}


def test_a_second_syncer_with_the_same_client_id_ends_with_a_clear_message(
    broker: LocalBroker, write_config: Callable[..., Path], run_command: Callable[..., Process],
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    media.put("/movies/Still (2020)/Still.mkv", b"still works")
    media.put("/movies/Before (2020)/Before.mkv", b"before")
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        first = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", where=lambda m: m.text == "online")
        online = time.monotonic()
        publish_import(broker.port, base_topic, "before", ["/movies/Before (2020)/Before.mkv"])
        watcher.wait_for("/sync/succeeded")
        # The first syncer has been running a while, as a real one has, when the second comes.
        wait_until(lambda: time.monotonic() - online > SHORT_S, timeout=SHORT_S + 5,
                   message="the first syncer running for a while")
        second = run_command("arrsync-syncer", config)
        assert second.wait(40) == 1
        publish_import(broker.port, base_topic, "still", ["/movies/Still (2020)/Still.mkv"])
        watcher.wait_for("/sync/succeeded", count=2, timeout=30)
        assert first.popen.poll() is None  # the one that was there first goes on
        assert first.signal(signal.SIGTERM) == 0
    output = second.output()
    assert "another client uses the same MQTT client id" in output
    assert "syncer.client_id" in output and "Traceback" not in output
    assert media.dest_of("/movies/Still (2020)/Still.mkv").read_bytes() == b"still works"


@pytest.mark.parametrize(("request_text", "reason"), [
    ('{"path": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ('{"path": 1' + "0" * 5000 + "}", "number too large"),
    ('{"path": "/movies/\\ud800"}', "lone UTF-16 surrogate"),
], ids=["deep", "huge-number", "lone-surrogate"])
def test_a_request_python_json_would_choke_on_gets_a_small_refusal(
    request_text: str, reason: str, settings: Settings, start_syncer: Start,
    broker: LocalBroker, base_topic: str, tmp_path: Path,
) -> None:
    payload = tmp_path / "request"
    payload.write_text(request_text)
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_file(broker.port, f"{base_topic}/sync/request", payload)
        refused = watcher.refusal()
    assert reason in refused["message"]
    assert len(watcher.on("/sync/response")[0].payload) < 4000
    assert watcher.on("/failed") == []


def test_an_import_of_a_megabyte_path_gets_one_small_refusal(
    settings: Settings, start_syncer: Start, broker: LocalBroker, base_topic: str,
    tmp_path: Path,
) -> None:
    envelope = tmp_path / "envelope"
    envelope.write_text(import_envelope("huge-path", ["/elsewhere/" + "y" * 1_900_000]))
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_file(broker.port, f"{base_topic}/events/radarr/Download", envelope)
        (failed,) = watcher.wait_for("/failed")
    assert len(failed.payload) < 10_000
    assert "under no mapping" in failed.json()["error"]
    assert broker.log_path.read_text().count(f" as {settings.syncer.client_id} (") == 1
