"""The syncer's commands for people, run as a user runs them."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.helpers import MqttWatcher
from tests.media import MediaTree
from tests.processes import Process
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
    assert "all good" in good.output()
    assert "rsync: rsync  version" in good.output()

    broken = [dict(m, require_mount=True) if m["name"] == "TV 4K" else m for m in media.mappings]
    config = write_config(broker, mqtt={"port": 1}, syncer={"mappings": broken})
    bad = run_command("arrsync-syncer", config, "check")
    assert bad.wait(30) == 1
    out = bad.output()
    assert "[FAIL] destination root" in out and "not a mount point" in out
    assert "[FAIL] broker 127.0.0.1:1 not reachable" in out
    assert "2 problem(s)" in out


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
    assert lines[0] == "queued: Season 1"
    assert lines[-1] == "succeeded: Season 1"
    assert media.dest_of("/tv/Show/Season 1/e2.mkv").read_bytes() == b"two"


def test_trigger_without_a_syncer_says_so(broker: LocalBroker, write_config: WriteConfig,
                                          run_command: RunCommand, media: MediaTree) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    trigger = run_command("arrsync-syncer", config, "trigger", "/tv/x", "--timeout", "1")
    assert trigger.wait(30) == 2
    assert "is arrsync-syncer running?" in trigger.output()
