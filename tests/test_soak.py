"""Soak: hundreds of imports through bridge, broker and syncer while the broker and the
syncer restart. Slow; run with `pytest -m slow`."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from tests.helpers import MqttWatcher, http, wait_until
from tests.media import FIXTURES, MediaTree
from tests.processes import Process, RunningBridge
from tools.localbroker import LocalBroker


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_imports_survive_restarts_of_broker_and_syncer(
    own_broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process], make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], media: MediaTree, base_topic: str,
) -> None:
    config = write_config(own_broker, syncer={"mappings": media.mappings, "workers": 3})
    bridge = start_bridge(make_settings(own_broker))
    template = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    paths = []
    with MqttWatcher(own_broker.port, [f"{base_topic}/syncer/availability"]) as watcher:
        syncer = run_command("arrsync-syncer", config)  # its first start creates its session
        watcher.wait_for("/availability", timeout=20, where=lambda m: m.text == "online")
    for n in range(300):
        path = f"/movies/Soak {n:03d} (2000)/Soak {n:03d}.mkv"
        media.put(path, size=50_000)
        template["movieFile"]["path"] = path
        assert http("POST", f"{bridge.url}/webhook/radarr", json.dumps(template)).status in (
            200, 202)
        paths.append(path)
        if n == 100:
            own_broker.restart()
        if n == 200:
            assert syncer.signal(signal.SIGKILL) == -signal.SIGKILL
            syncer = run_command("arrsync-syncer", config)
    wait_until(lambda: all(media.dest_of(p).exists() for p in paths), timeout=300,
               message="all 300 imports at the destination")
    for path in paths:
        assert media.dest_of(path).read_bytes() == media.source_of(path).read_bytes()
