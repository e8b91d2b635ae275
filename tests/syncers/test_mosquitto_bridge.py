"""A second site linked by Mosquitto's own bridging (docs/topologies.md): the off-site
syncer talks to its local broker, which bridges the arrsync topics to the home broker.
Imports published at home are copied off-site, and its statuses and availability reach
home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, publish_import
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

MOVIE = "/movies/Dune (2021)/Dune (2021).mkv"


def bridge_lines(home: LocalBroker, base: str) -> list[str]:
    """docs/topologies.md's bridge, for this test's base topic and without TLS."""
    return [f"connection {base}-home", f"address 127.0.0.1:{home.port}", "cleansession false",
            f"topic {base}/events/# in 1", f"topic {base}/sync/request in 1",
            f"topic {base}/sync/# out 1", f"topic {base}/syncer/# both 1"]


@pytest.fixture
def offsite_broker(tmp_path: Path, broker: LocalBroker, base_topic: str
                   ) -> Iterator[LocalBroker]:
    local = LocalBroker(tmp_path / "offsite-broker", extra=bridge_lines(broker, base_topic))
    local.start()
    yield local
    local.stop()


def test_an_offsite_syncer_behind_a_bridged_broker_copies_and_reports_home(
    broker: LocalBroker, offsite_broker: LocalBroker, base_topic: str, media: MediaTree,
    tmp_path: Path, make_settings: Callable[..., Settings],
    start_syncer: Callable[[Settings], SyncerService],
) -> None:
    offsite = dict(media.mapping("Movies 1080p"), dest=str(tmp_path / "offsite" / "Movies"))
    Path(offsite["dest"]).mkdir(parents=True)
    source = media.put(MOVIE, size=50_000)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+",
                                   f"{base_topic}/syncer/+/availability"]) as home:
        start_syncer(syncer_settings(make_settings, offsite_broker, media, base_topic,
                                     name="offsite", mappings=[offsite]))
        home.wait_for("/syncer/offsite/availability", where=lambda m: m.payload == b"online")
        publish_import(broker.port, base_topic, "dune", [MOVIE])
        done = home.wait_for("/sync/succeeded")[0].json()
    assert done["syncer"] == "offsite"
    assert (Path(offsite["dest"]) / "Dune (2021)" / "Dune (2021).mkv").read_bytes() == \
        source.read_bytes()
