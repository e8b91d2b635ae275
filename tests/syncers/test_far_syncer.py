"""A syncer on another host (its own network namespace, a veth pair to the broker's):
imports that arrive while its link is cut wait in its broker session and are all copied,
byte for byte, once the link returns."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import import_envelope, wait_until
from tests.media import MediaTree
from tests.syncers.netns import MQTT_PORT, TwoHosts

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="network namespaces need root and iproute2")

MOVIES = [f"/movies/Film {n} (2020)/Film {n} (2020).mkv" for n in range(1, 5)]


def lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines() if log.exists() else []


def test_imports_during_a_cut_link_are_copied_when_it_returns(
    tmp_path: Path, media: MediaTree, base_topic: str,
) -> None:
    config = tmp_path / "far.yml"
    with TwoHosts(tmp_path / "hosts") as hosts:
        config.write_text(json.dumps({  # YAML is a superset of JSON
            "mqtt": {"host": hosts.hub_address, "port": MQTT_PORT, "base_topic": base_topic,
                     "keepalive": 5},
            "syncer": {"name": "far", "state_path": str(tmp_path / "far.db"),
                       "mappings": [media.mapping("Movies 1080p")], "retry_delay": 0.1,
                       "free_space_margin": 0, "client_id": f"{base_topic}-far"},
            "homeassistant": {"discovery": False}}))
        hosts.start_broker()
        seen = tmp_path / "seen.log"
        availability = f"{base_topic}/syncer/far/availability"
        hosts.subscribe([availability, f"{base_topic}/sync/succeeded"], seen)
        syncer_log = tmp_path / "syncer.log"
        hosts.start(hosts.far, [str(Path(sys.executable).parent / "arrsync-syncer"),
                                "--config", str(config)], syncer_log)
        wait_until(lambda: f"{availability} online" in lines(seen), timeout=30,
                   message="the far syncer online")
        sources = {path: media.put(path, path.encode() * 1000) for path in MOVIES}

        def publish(path: str) -> None:
            hosts.publish(f"{base_topic}/events/radarr/Download",
                          import_envelope(path.split("/")[2], [path]))

        publish(MOVIES[0])
        wait_until(lambda: media.dest_of(MOVIES[0]).exists(), message="the first copy")
        hosts.link(up=False)
        wait_until(lambda: f"{availability} offline" in lines(seen), timeout=60,
                   message="the broker to see the far syncer gone (its keepalive)")
        for path in MOVIES[1:]:
            publish(path)
        assert not any(media.dest_of(path).exists() for path in MOVIES[1:])
        hosts.link(up=True)
        wait_until(lambda: all(media.dest_of(p).exists() for p in MOVIES), timeout=90,
                   message=f"every copy after the link returned; syncer log:\n"
                           f"{syncer_log.read_text(errors='replace')[-3000:]}")
        wait_until(lambda: f"{availability} online" in lines(seen)[lines(seen).index(
            f"{availability} offline"):], message="the far syncer online again")

        def succeeded() -> list[dict[str, str]]:
            return [json.loads(line.split(" ", 1)[1]) for line in lines(seen)
                    if line.startswith(f"{base_topic}/sync/succeeded ")]
        wait_until(lambda: len(succeeded()) >= len(MOVIES), message="every success told")
    for path, source in sources.items():
        assert media.dest_of(path).read_bytes() == source.read_bytes()
    assert sorted(s["trigger"] for s in succeeded()) == sorted(p.split("/")[2] for p in MOVIES)
    assert {s["syncer"] for s in succeeded()} == {"far"}
