"""The syncer's commands for people, run as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from syncer.copying.guard import mount_of
from tests.helpers import MqttWatcher
from tests.media import MediaTree
from tests.processes import BIN, Process
from tools.localbroker import LocalBroker

RunCommand = Callable[..., Process]
WriteConfig = Callable[..., Path]


def test_explain_shows_the_route(broker: LocalBroker, write_config: WriteConfig,
                                 run_command: RunCommand, media: MediaTree) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    media.put("/movies4k/Dune (2021)/Dune.mkv")
    done = run_command("arrsync-syncer", config, "explain", "/movies4k/Dune (2021)/")
    assert done.wait(30) == 0
    out = done.output()
    assert "mapping:  Movies 4K (arr_path /movies4k)" in out
    assert f"source:   {media.source_of('/movies4k/Dune (2021)')}  [exists]" in out
    assert f"dest:     {media.dest_of('/movies4k/Dune (2021)')}" in out


def test_explain_refuses_with_the_reason(broker: LocalBroker, write_config: WriteConfig,
                                         run_command: RunCommand, media: MediaTree) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    done = run_command("arrsync-syncer", config, "explain", "/movies/../etc/passwd")
    assert done.wait(30) == 1
    assert "refused:" in done.output() and "'..'" in done.output()


def test_check_passes_and_then_names_each_problem(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand, media: MediaTree,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    good = run_command("arrsync-syncer", config, "check")
    assert good.wait(30) == 0, good.output()
    lines = good.output().splitlines()
    assert lines[0] == f"config: {config}"
    assert "all good" in lines
    assert "rsync: rsync  version" in good.output()
    movies = media.mapping("Movies 1080p")
    assert f"  [ok  ] destination {movies['dest']} is writable, on {mount_of(movies['dest'])}" \
        in lines

    broken = [dict(m, require_mount=True) if m["name"] == "TV 4K" else m for m in media.mappings]
    Path(movies["source"]).rmdir()  # the source share is away
    config = write_config(broker, mqtt={"port": 1}, syncer={"mappings": broken})
    bad = run_command("arrsync-syncer", config, "check")
    assert bad.wait(30) == 1
    lines = bad.output().splitlines()
    movie_lines = lines[lines.index(f"- Movies 1080p: /movies -> {movies['source']} -> "
                                    f"{movies['dest']}") + 1:][:2]
    assert movie_lines == [  # one FAIL for one problem, and the destination is still checked
        f"  [FAIL] source root {movies['source']} is not there; is the share mounted?",
        f"  [ok  ] destination {movies['dest']} is writable, on {mount_of(movies['dest'])}",
    ]
    tv4k = media.mapping("TV 4K")["dest"]
    assert f"  [FAIL] destination root {tv4k} is on the root filesystem" in bad.output()
    assert "  [FAIL] cannot reach the broker at 127.0.0.1:1" in lines
    assert lines[-1] == "3 problem(s)"


def test_check_without_a_config_file_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARRSYNC_")}
    env["ARRSYNC_MQTT__PORT"] = "1"  # not whatever broker this machine runs on 1883
    done = subprocess.run([str(BIN / "arrsync-syncer"), "check"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[:2] == ["config: none: defaults (no --config and no $ARRSYNC_CONFIG)",
                         "overridden from the environment: ARRSYNC_MQTT__PORT"]
    assert "  [FAIL] no mappings configured: nothing would be synced" in lines


def test_trigger_prints_the_result(broker: LocalBroker, write_config: WriteConfig,
                                   run_command: RunCommand, media: MediaTree,
                                   base_topic: str) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    media.put("/tv/Show/Season 1/e1.mkv", b"one")
    media.put("/tv/Show/Season 1/e2.mkv", b"two")
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/availability"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/availability", timeout=20, where=lambda m: m.text == "online")
        trigger = run_command("arrsync-syncer", config, "trigger", "/tv/Show/Season 1",
                              "--timeout", "30")
        assert trigger.wait(60) == 0, trigger.output()
        assert syncer.signal(signal.SIGTERM) == 0
    lines = trigger.output().splitlines()
    assert lines[0] == "queued: Show Season 1"
    assert lines[-1] == "succeeded: Show Season 1"
    assert media.dest_of("/tv/Show/Season 1/e2.mkv").read_bytes() == b"two"


def test_trigger_without_a_syncer_says_so(broker: LocalBroker, write_config: WriteConfig,
                                          run_command: RunCommand, media: MediaTree) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    trigger = run_command("arrsync-syncer", config, "trigger", "/tv/x", "--timeout", "1")
    assert trigger.wait(30) == 2
    assert "is arrsync-syncer running?" in trigger.output()


def test_retry_with_a_job_and_held_says_not_both(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand, media: MediaTree,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    done = run_command("arrsync-syncer", config, "retry", "abc123", "--held")
    assert done.wait(30) == 2
    assert "give a JOB id or --held, not both" in done.output()


def test_the_space_margin_reads_as_a_round_number() -> None:
    from arrsync.settings import SyncerSettings
    from arrsync.units import human_size

    assert human_size(SyncerSettings().free_space_margin) == "1.0 GB"
