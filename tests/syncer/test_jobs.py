"""The syncer's job handling with the real broker and rsync: manual triggers, refusals,
retries, concurrency, dry runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from arrsync.wire.timestamps import utc_now_iso
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, import_envelope, mosquitto_pub, publish_import
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic)


@pytest.mark.parametrize(
    "message",
    [
        "/movies/Dune (2021)",
        "{source}/Dune (2021)",
        "/movies/Dune (2021)/Dune (2021).mkv",
        '{{"path": "/movies/Dune (2021)", "id": "my-request-1"}}',
    ],
    ids=["arr-folder", "source-folder", "arr-file", "json"],
)
def test_manual_trigger_with_mosquitto_pub(message: str, settings: Settings, start_syncer: Start,
                                           broker: LocalBroker, media: MediaTree,
                                           base_topic: str) -> None:
    media.put("/movies/Dune (2021)/Dune (2021).mkv", b"spice")
    start_syncer(settings)
    text = message.format(source=media.mapping("Movies 1080p")["source"])
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", text)
        done = watcher.wait_for("/succeeded")[0].json()
    assert media.dest_of("/movies/Dune (2021)/Dune (2021).mkv").read_bytes() == b"spice"
    assert done["app"] == "manual"
    if "my-request-1" in text:
        assert done["trigger"] == "my-request-1"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("/movies/../../etc/passwd", "'..'"),
        ("/srv/elsewhere/file.mkv", "under no mapping"),
        ('{"nope": 1}', '"path"'),
        ("{broken", "not valid JSON"),
        ('{"retry": "no-such-job"}', "there is no job 'no-such-job'"),
    ],
)
def test_refused_requests_are_answered_with_a_reason_and_make_no_job(
    message: str, reason: str, settings: Settings, start_syncer: Start, broker: LocalBroker,
    media: MediaTree, base_topic: str,
) -> None:
    syncer = start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", message)
        answer = watcher.refusal()
    assert reason in answer["message"]
    assert answer["id"] is None  # the request had none
    states = [m.topic.rsplit("/", 1)[1] for m in watcher.messages]
    assert [s for s in states if s != "request"] == ["response"]  # no job, no 'failed'
    assert syncer.store.recent() == []
    assert not any(any(Path(m["dest"]).iterdir()) for m in media.mappings)


def test_unmapped_import_fails_with_reason(settings: Settings, start_syncer: Start,
                                           broker: LocalBroker, base_topic: str) -> None:
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "e1", ["/data/elsewhere/film.mkv"])
        failed = watcher.wait_for("/failed")[0].json()
    assert "under no mapping" in failed["error"]
    assert failed["trigger"] == "e1"


def test_source_appearing_late_is_synced_on_a_retry(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, retry_delay=0.3))
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "late", ["/movies/Late (2024)/Late (2024).mkv"])
        retrying = watcher.wait_for("/retrying")[0].json()
        assert "not there (yet)" in retrying["error"]
        media.put("/movies/Late (2024)/Late (2024).mkv", b"finally")
        done = watcher.wait_for("/succeeded")[0].json()
    assert done["attempt"] == 2
    assert media.dest_of("/movies/Late (2024)/Late (2024).mkv").read_bytes() == b"finally"


def test_attempts_run_out_then_failed(make_settings: Callable[..., Settings],
                                      broker: LocalBroker, media: MediaTree, base_topic: str,
                                      start_syncer: Start) -> None:
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, max_attempts=3,
                                 retry_delay=0.01))
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "never", ["/movies/Never/never.mkv"])
        failed = watcher.wait_for("/failed")[0].json()
        assert len(watcher.on("/retrying")) == 2
    assert failed["attempt"] == 3
    assert "gave up after 3 attempts" in failed["error"]


def test_fatal_rsync_error_fails_at_once(make_settings: Callable[..., Settings],
                                         broker: LocalBroker, media: MediaTree,
                                         base_topic: str, start_syncer: Start) -> None:
    start_syncer(syncer_settings(make_settings, broker, media, base_topic,
                                 rsync_extra_args=["--no-such-option"]))
    media.put("/movies/F/f.mkv")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "fatal", ["/movies/F/f.mkv"])
        failed = watcher.wait_for("/failed")[0].json()
    assert failed["attempt"] == 1
    assert "rsync exit 1" in failed["error"]


@pytest.mark.parametrize(("old", "state"), [(b"old", "skipped"), (b"older!", "failed")],
                         ids=["same-size", "other-size"])
def test_existing_destination_file_is_kept(old: bytes, state: str, settings: Settings,
                                           start_syncer: Start, broker: LocalBroker,
                                           media: MediaTree, base_topic: str) -> None:
    media.put("/movies/Keep/keep.mkv", b"new")
    kept = media.dest_of("/movies/Keep/keep.mkv")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(old)
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "keep", ["/movies/Keep/keep.mkv"])
        final = watcher.wait_for(f"/{state}")[0].json()
    assert kept.read_bytes() == old
    if state == "failed":
        assert "never overwrites" in final["error"]
        assert final["attempt"] == 1
    else:  # nothing was copied, nor even started: not announced as a sync
        assert "already has this file" in final["error"]
        assert (final["bytes"], final["action"]) == (0, "copy")
        assert not watcher.on("/started")


def test_dry_run_reports_and_writes_nothing(make_settings: Callable[..., Settings],
                                            broker: LocalBroker, media: MediaTree,
                                            base_topic: str, start_syncer: Start) -> None:
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, dry_run=True))
    media.put("/movies/Dry/dry.mkv")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "dry", ["/movies/Dry/dry.mkv"])
        done = watcher.wait_for("/succeeded")[0].json()
    assert done["dry_run"] is True
    assert "Dry/dry.mkv" in done["would_copy"]
    assert not media.dest_of("/movies/Dry").exists()


RSYNC_COUNTER = """\
import os, subprocess, sys
log = os.environ["ARRSYNC_TEST_RSYNC_LOG"]
def mark(sign):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, sign)
    os.close(fd)
paths = sys.stdin.buffer.read()  # a standby rsync waits here for its list
if not paths:
    sys.exit(0)  # a standby closed unused: not a run
mark(b"+")
code = subprocess.run(["rsync", *sys.argv[1:]], input=paths).returncode
mark(b"-")
sys.exit(code)
"""


def count_runs(log: Path) -> tuple[int, int]:
    """(rsync runs, most at once) from the counting wrapper's log."""
    running = peak = 0
    for sign in log.read_text():
        running += 1 if sign == "+" else -1
        peak = max(peak, running)
    return log.read_text().count("+"), peak


def rsync_counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A wrapper around the real rsync that logs each run; returns (wrapper, its log)."""
    counter = tmp_path / "rsync-counter"
    counter.write_text(f"#!{sys.executable}\n{RSYNC_COUNTER}")
    counter.chmod(0o755)
    log = tmp_path / "rsync.log"
    monkeypatch.setenv("ARRSYNC_TEST_RSYNC_LOG", str(log))
    return counter, log


def test_forty_imports_at_once_land_in_far_fewer_runs_within_the_worker_limit(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter, log = rsync_counter(tmp_path, monkeypatch)
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, workers=3,
                                 rsync_path=str(counter)))
    paths = [f"/movies/Film {n:02d} (20{n:02d})/Film {n:02d}.mkv" for n in range(40)]
    for path in paths:
        media.put(path, size=200_000)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+", f"{base_topic}/syncer/state"]
                     ) as watcher:
        for n, path in enumerate(paths):  # back to back, as a burst of imports arrives
            watcher.client.publish(f"{base_topic}/events/radarr/Download",
                                   import_envelope(f"burst-{n}", [path], f"Film {n}"), qos=1)
        done = watcher.wait_for("/succeeded", count=40, timeout=60)
        # The retained summary, published at most twice a second, ends up telling it all.
        watcher.wait_for("/syncer/state", where=lambda m: (
            m.json()["succeeded_total"], m.json()["queued"], m.json()["running"]) == (40, 0, 0))
        for n in range(40):
            states = [m.topic.rsplit("/", 1)[1] for m in watcher.messages
                      if "/sync/" in m.topic and m.json()["trigger"] == f"burst-{n}"]
            assert [s for s in states if s != "progress"] == ["queued", "started", "succeeded"]
    runs, peak = count_runs(log)
    assert runs < 40  # the jobs that wait for a worker go together in one rsync
    assert 1 <= peak <= 3
    assert sorted(m.json()["trigger"] for m in done) == sorted(f"burst-{n}" for n in range(40))
    assert all(m.json()["attempt"] == 1 and m.json()["files"] == 1 for m in done)
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()


@pytest.mark.parametrize("garbage", ["not json", '{"id": 5}', '{"event": "Download"}', "[]"])
def test_malformed_envelopes_fail_with_a_reason_and_later_events_still_sync(
    garbage: str, settings: Settings, start_syncer: Start, broker: LocalBroker,
    media: MediaTree, base_topic: str,
) -> None:
    start_syncer(settings)
    media.put("/movies/After/after.mkv", b"after")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/events/radarr/Download", garbage)
        publish_import(broker.port, base_topic, "after", ["/movies/After/after.mkv"])
        done = watcher.wait_for("/succeeded")[0].json()
        statuses = [m.json() for m in watcher.messages
                    if not m.topic.endswith(("/request", "/progress"))]
        # one bounded failure for the garbage, then queued, started, succeeded of the good one
        assert [(s["trigger"], s["state"]) for s in statuses] == [
            (None, "failed"), ("after", "queued"), ("after", "started"), ("after", "succeeded")]
    assert done["trigger"] == "after"
    assert "cannot be read" in statuses[0]["error"]


def test_a_mappings_own_rsync_args_apply_to_that_mapping_only(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    mappings = [{**m, "rsync_extra_args": ["--no-such-option"]} if m["name"] == "Movies 4K"
                else m for m in media.mappings]
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, mappings=mappings))
    media.put("/movies4k/Slow/slow.mkv")
    media.put("/movies/Fast/fast.mkv")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "slow", ["/movies4k/Slow/slow.mkv"])
        publish_import(broker.port, base_topic, "fast", ["/movies/Fast/fast.mkv"])
        failed = watcher.wait_for("/failed")[0].json()
        done = watcher.wait_for("/succeeded")[0].json()
    assert (failed["trigger"], done["trigger"]) == ("slow", "fast")
    assert "rsync exit 1" in failed["error"]


def test_the_last_success_and_failure_outlive_a_restart(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    settings = syncer_settings(make_settings, broker, media, base_topic, max_attempts=1)
    first = start_syncer(settings)
    media.put("/movies/Good/good.mkv")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "good", ["/movies/Good/good.mkv"], "Good")
        publish_import(broker.port, base_topic, "bad", ["/movies/Bad/bad.mkv"], "Bad")
        watcher.wait_for("/succeeded")
        watcher.wait_for("/failed")
    first.stop()
    restarted = utc_now_iso()
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/state"]) as watcher:
        state = watcher.wait_for("/syncer/state", where=lambda m: m.json()["at"] >= restarted
                                 )[-1].json()  # published by the new syncer
    assert state["last_success"]["title"] == "Good"
    assert state["last_failure"]["title"] == "Bad" and "not there" in state["last_failure"][
        "error"]
