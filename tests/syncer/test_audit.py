"""`arrsync-syncer audit`: every file the arrs list, checked at its destination.

The command runs as a user runs it (a subprocess with a config file), against stand-in arrs
that answer as the Radarr/Sonarr API does, a real broker, a real syncer and real rsync.
"""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from arrsync.config import load_settings
from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.arr_standin import StandInArr
from tests.helpers import MqttWatcher, mosquitto_pub
from tests.media import MediaTree
from tests.processes import BIN, Process
from tools.localbroker import LocalBroker

RADARR_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SONARR_KEY = "0f9e8d7c6b5a49382716051a2b3c4d5e"
PRESENT = "/movies/Ran (1985)/Ran (1985).mkv"
MISSING = "/movies/Dune (2021)/Dune (2021).mkv"
DIFFERENT = "/movies/Heat (1995)/Heat (1995).mkv"
UNMAPPED = "/archive/Metropolis (1927)/Metropolis (1927).mkv"
EPISODE_PRESENT = "Season 1/Chernobyl S01E01.mkv"
EPISODE_MISSING = "Season 1/Chernobyl S01E02.mkv"


@dataclass
class Library:
    radarr: StandInArr
    sonarr: StandInArr
    media: MediaTree

    def arrs(self, radarr_url: str | None = None) -> list[dict[str, Any]]:
        return [{"name": "Radarr", "app": "radarr", "url": radarr_url or self.radarr.url,
                 "api_key": RADARR_KEY},
                {"name": "Sonarr HD", "app": "sonarr", "url": self.sonarr.url,
                 "api_key": SONARR_KEY}]


def mirrored(media: MediaTree, arr_path: str, size: int, dest_size: int | None) -> None:
    """The source file of `size` bytes and, unless None, a destination copy of `dest_size`."""
    source = media.put(arr_path, size=size)
    if dest_size is not None:
        dest = media.dest_of(arr_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes()[:dest_size].ljust(dest_size, b"x"))


@pytest.fixture
def library(media: MediaTree) -> Iterator[Library]:
    with StandInArr("radarr", RADARR_KEY) as radarr, \
            StandInArr("sonarr", SONARR_KEY, url_base="/sonarr") as sonarr:
        for title, year, path, size, dest_size in [
            ("Ran", 1985, PRESENT, 3000, 3000), ("Dune", 2021, MISSING, 5000, None),
            ("Heat", 1995, DIFFERENT, 7000, 6000), ("Metropolis", 1927, UNMAPPED, 100, None),
        ]:
            radarr.add_movie(title, year, path, size)
            if path != UNMAPPED:
                mirrored(media, path, size, dest_size)
        chernobyl = sonarr.add_series("Chernobyl", "/tv/Chernobyl (2019)")
        dark = sonarr.add_series("Dark", "/tv/Dark (2017)")
        for series, folder, relative, number, dest in [
            (chernobyl, "/tv/Chernobyl (2019)", EPISODE_PRESENT, 1, 900),
            (chernobyl, "/tv/Chernobyl (2019)", EPISODE_MISSING, 2, None),
            (dark, "/tv/Dark (2017)", "Season 1/Dark S01E01.mkv", 1, 900),
        ]:
            sonarr.add_episode_file(series, relative, 900, [(1, number)])
            mirrored(media, f"{folder}/{relative}", 900, dest)
        yield Library(radarr, sonarr, media)


@pytest.fixture
def config(broker: LocalBroker, write_config: Callable[..., Path], library: Library) -> Path:
    return write_config(broker, syncer={"mappings": library.media.mappings},
                        arrs=library.arrs())


def audit(run_command: Callable[..., Process], config: Path, *args: str) -> tuple[int, str]:
    process = run_command("arrsync-syncer", config, "audit", *args)
    code = process.wait(60)
    return code, process.output()


def summaries(port: int, base_topic: str, count: int) -> dict[str, dict[str, Any]]:
    """The retained audit summaries, by topic level."""
    with MqttWatcher(port, [f"{base_topic}/audit/#"]) as watcher:
        found = watcher.wait_for("", count=count, where=lambda m: "/audit/" in m.topic)
        assert all(m.retain for m in found)
        return {m.topic.rsplit("/", 1)[1]: m.json() for m in found}


def test_audit_reports_then_fix_syncs_the_missing_and_the_next_audit_passes(
    broker: LocalBroker, config: Path, library: Library, base_topic: str,
    run_command: Callable[..., Process], start_syncer: Callable[[Settings], SyncerService],
) -> None:
    media = library.media
    code, output = audit(run_command, config)
    assert code == 1, output
    assert (f"Radarr (radarr, {library.radarr.url}): 4 files, 1 present, 1 missing, "
            "1 different size") in output
    assert f"  missing         Dune (2021): {media.dest_of(MISSING)}\n" in output
    assert (f"  different size  Heat (1995): {media.dest_of(DIFFERENT)} "
            "(arr 7 KB, 7000 bytes, destination 6 KB, 6000 bytes)\n") in output
    assert f"  1 file(s) under no mapping, not mirrored (e.g. {UNMAPPED})" in output
    assert (f"Sonarr HD (sonarr, {library.sonarr.url}): 3 files, 2 present, 1 missing, "
            "0 different size") in output
    missing_episode = media.dest_of(f"/tv/Chernobyl (2019)/{EPISODE_MISSING}")
    assert f"  missing         Chernobyl S01: {missing_episode}\n" in output
    found = summaries(broker.port, base_topic, 2)
    assert found["radarr"] | {"at": None} == {
        "arr": "Radarr", "app": "radarr", "files": 4, "present": 1, "missing": 1,
        "different_size": 1, "unmapped": 1, "queued": 0, "error": None, "at": None}
    assert found["sonarr-hd"]["missing"] == 1

    start_syncer(load_settings(config))
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        code, fixing = audit(run_command, config, "--fix")
        assert code == 1, fixing
        assert "Radarr: queued 2 sync(s) (1 missing, 1 to replace)" in fixing
        assert "Sonarr HD: queued 1 sync(s) (1 missing, 0 to replace)" in fixing
        assert "not replaced" not in fixing
        done = watcher.wait_for("/sync/succeeded", count=3)
    assert sorted((m.json()["action"], m.json()["title"]) for m in done) == [
        ("copy", "Chernobyl S01E02.mkv"), ("copy", "Dune (2021).mkv"),
        ("replace", "Heat (1995)")]
    for path in (MISSING, DIFFERENT):
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()
    assert missing_episode.stat().st_size == 900

    code, again = audit(run_command, config)
    assert code == 0, again
    assert "4 files, 3 present, 0 missing, 0 different size" in again
    assert "3 files, 3 present, 0 missing, 0 different size" in again
    assert summaries(broker.port, base_topic, 2)["radarr"]["missing"] == 0
    for text in (output, fixing, again):
        assert RADARR_KEY not in text and SONARR_KEY not in text
        assert "Traceback" not in text
    episode_reads = library.sonarr.seen("/api/v3/episodefile")
    assert sorted(r.query["seriesId"][0] for r in episode_reads[:2]) == sorted(
        str(s["id"]) for s in library.sonarr.series)
    assert len({r.connection for r in library.sonarr.seen("")[:3]}) == 1  # one connection


def test_a_different_size_under_on_upgrade_keep_is_reported_not_replaced(
    broker: LocalBroker, write_config: Callable[..., Path], library: Library,
    run_command: Callable[..., Process], base_topic: str,
    start_syncer: Callable[[Settings], SyncerService],
) -> None:
    mappings = [{**m, "on_upgrade": "keep"} for m in library.media.mappings]
    config = write_config(broker, syncer={"mappings": mappings}, arrs=library.arrs())
    start_syncer(load_settings(config))
    before = library.media.dest_of(DIFFERENT).read_bytes()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        code, output = audit(run_command, config, "--fix", "--arr", "Radarr")
        assert code == 1, output
        assert "Radarr: queued 1 sync(s) (1 missing, 0 to replace)" in output
        assert ("Radarr: 1 file(s) of a different size were not replaced: their mapping has "
                "on_upgrade: keep") in output
        watcher.wait_for("/sync/succeeded")
        # Asked directly, the syncer refuses too.
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      json.dumps({"replace": DIFFERENT, "id": "by-hand"}))
        refused = watcher.refusal()
    assert refused["id"] == "by-hand"
    assert refused["message"] == ("mapping 'Movies 1080p' has on_upgrade: keep, so its "
                                  "destination copies are never replaced")
    assert watcher.on("/sync/failed") == []
    assert library.media.dest_of(DIFFERENT).read_bytes() == before


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_arr_exits_2_naming_it_without_a_traceback(
    broker: LocalBroker, write_config: Callable[..., Path], library: Library,
    run_command: Callable[..., Process], base_topic: str,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    config = write_config(broker, syncer={"mappings": library.media.mappings},
                          arrs=library.arrs(radarr_url=url))
    code, output = audit(run_command, config)
    assert code == 2, output
    assert f"Radarr (radarr, {url}): cannot be read: cannot connect (" in output
    assert "Sonarr HD (sonarr, " in output  # the other arr is still audited
    assert "Traceback" not in output and RADARR_KEY not in output
    found = summaries(broker.port, base_topic, 2)
    assert found["radarr"]["missing"] is None
    assert found["radarr"]["error"].startswith("cannot be read: cannot connect (")


def test_a_wrong_key_exits_2_and_never_shows_the_key(
    broker: LocalBroker, write_config: Callable[..., Path], library: Library,
    run_command: Callable[..., Process],
) -> None:
    arrs = library.arrs()
    arrs[1]["api_key"] = "wrong-but-long-key-0123456789"
    config = write_config(broker, syncer={"mappings": library.media.mappings}, arrs=arrs,
                          log_level="DEBUG")
    code, output = audit(run_command, config, "--arr", "sonarr-hd")  # its topic level
    assert code == 2, output
    assert "refused the API key (HTTP 401)" in output
    assert "Radarr (" not in output  # --arr chose one
    assert "wrong-but-long-key" not in output and "Traceback" not in output


def test_an_unknown_arr_name_or_no_arrs_exit_2(
    broker: LocalBroker, write_config: Callable[..., Path], library: Library,
    run_command: Callable[..., Process], tmp_path: Path,
) -> None:
    config = write_config(broker, syncer={"mappings": library.media.mappings},
                          arrs=library.arrs())
    code, output = audit(run_command, config, "--arr", "Lidarr")
    assert code == 2
    assert "audit: no arr named Lidarr (configured: Radarr, Sonarr HD)" in output
    code, output = audit(run_command, write_config(broker, arrs=[]))
    assert code == 2 and "no arrs are configured" in output


def test_a_destination_that_is_not_ready_fails_the_audit_instead_of_counting_all_missing(
    broker: LocalBroker, write_config: Callable[..., Path], library: Library,
    run_command: Callable[..., Process],
) -> None:
    mappings = [{**m, "require_mount": True} for m in library.media.mappings]
    config = write_config(broker, syncer={"mappings": mappings}, arrs=library.arrs())
    code, output = audit(run_command, config, "--fix")
    assert code == 2, output
    assert "): cannot check the destinations: destination root " in output
    assert "(require_mount: true)" in output and "queued" not in output


def test_a_progress_bar_on_a_terminal(config: Path) -> None:
    controller, terminal = pty.openpty()
    with subprocess.Popen([str(BIN / "arrsync-syncer"), "--config", str(config), "audit"],
                          stdout=subprocess.PIPE, stderr=terminal) as process:
        os.close(terminal)
        report = process.stdout.read().decode() if process.stdout else ""
        assert process.wait(60) == 1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal is gone with the process
                break
            if not chunk:
                break
            shown += chunk
    os.close(controller)
    assert b"Sonarr HD: series read" in shown and b"100%" in shown
    assert b"files checked at their destinations" in shown
    assert "1 missing" in report and "series read" not in report


def test_an_audit_over_mqtt_publishes_the_summary_and_fixes(
    broker: LocalBroker, config: Path, library: Library, base_topic: str,
    start_syncer: Callable[[Settings], SyncerService],
) -> None:
    start_syncer(load_settings(config))
    request = f"{base_topic}/sync/request"
    with MqttWatcher(broker.port, [f"{base_topic}/audit/#", f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, request, json.dumps({"audit": "nobody"}))
        refused = watcher.refusal()
        assert refused["message"] == ("no arr named 'nobody' to audit (configured: Radarr, "
                                      "Sonarr HD)")
        mosquitto_pub(broker.port, request,
                      json.dumps({"audit": "radarr", "fix": True, "id": "audit-1"}))
        started = watcher.wait_for("/sync/response", where=lambda m: m.json()["ok"])[0].json()
        assert started["id"] == "audit-1" and "audit of Radarr started" in started["message"]
        summary = watcher.wait_for("/audit/radarr")[0].json()
        assert (summary["missing"], summary["different_size"], summary["queued"]) == (1, 1, 2)
        watcher.wait_for("/sync/succeeded", count=2)
        assert library.media.dest_of(MISSING).exists()
        mosquitto_pub(broker.port, request, json.dumps({"audit": "all"}))
        watcher.wait_for("/audit/sonarr-hd")
        after = watcher.wait_for("/audit/radarr", count=2)[-1].json()
        assert (after["missing"], after["different_size"], after["present"]) == (0, 0, 3)

