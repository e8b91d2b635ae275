"""A second copy off-site: two named syncers map the same arr folder to two destinations.
Both copy, byte for byte, and the notifier sends one message per release that names each
destination's outcome."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from arrsync.settings import Settings
from notifier.service import NotifierService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import, wait_until
from tests.media import MediaTree
from tests.sink import NotificationSink
from tests.syncers.stack import StartNamed, knows
from tools.localbroker import LocalBroker

MOVIE = "/movies/Dune (2021)/Dune (2021).mkv"


def press_test_button(broker: LocalBroker, base_topic: str, event_id: str = "t") -> None:
    """An arr's Test button, as the bridge publishes it: every syncer answers it."""
    mosquitto_pub(broker.port, f"{base_topic}/events/radarr/Test", json.dumps(
        {"id": event_id, "app": "radarr", "instance": "Radarr", "event": "Test", "title": "Test",
         "received_at": "2026-01-01T00:00:00Z", "files": [], "payload": {"eventType": "Test"}}))


def test_two_destinations_both_copy_and_one_message_names_both(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, media: MediaTree,
    tmp_path: Path, sink: NotificationSink, make_settings: Callable[..., Settings],
    start_notifier: Callable[[Settings], NotifierService],
) -> None:
    home = media.mapping("Movies 1080p")
    offsite = dict(home, dest=str(tmp_path / "offsite" / "Movies"))
    Path(offsite["dest"]).mkdir(parents=True)
    unraid = start_named("unraid", mappings=[home])
    start_named("offsite", mappings=[offsite])
    knows(unraid, MOVIE, "offsite")
    settings = make_settings(broker, notify={"urls": [sink.url()], "group_window": 0.5})
    start_notifier(settings)
    source = media.put(MOVIE, size=300_000)
    missing = "/movies/Gone (2020)/Gone (2020).mkv"  # never on the source: both fail it
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "dune", [MOVIE], "Dune (2021)",
                       downloadId="DUNE")
        watcher.wait_for("/sync/succeeded", count=2)
        publish_import(broker.port, base_topic, "gone", [missing], "Gone (2020)",
                       downloadId="GONE")
        watcher.wait_for("/sync/failed", count=2, timeout=30)
    assert media.dest_of(MOVIE).read_bytes() == source.read_bytes()
    assert (Path(offsite["dest"]) / "Dune (2021)" / "Dune (2021).mkv").read_bytes() == \
        source.read_bytes()
    sink.wait_for(2)
    # Nothing else comes: a test event afterwards is told by each syncer, and is last.
    press_test_button(broker, base_topic)
    messages = sink.wait_for(4)
    assert [m["title"] for m in messages[2:]] == ["🔔 arrsync connected"] * 2
    dune, gone = messages[:2]
    assert dune["type"] == "success"
    assert dune["title"] == "✅ Dune (2021) → offsite ✓ · → unraid ✓"
    assert dune["message"].splitlines()[0].startswith("offsite (Movies 1080p): 1 file, 300 KB in ")
    assert dune["message"].splitlines()[1].startswith("unraid (Movies 1080p): 1 file")
    assert gone["type"] == "failure"
    assert gone["title"] == "❌ Gone (2020) → offsite ❌ · → unraid ❌"
    assert "is not there (yet)" in gone["message"]


def test_a_named_syncer_going_offline_is_told_by_its_name(
    start_named: StartNamed, broker: LocalBroker, base_topic: str, sink: NotificationSink,
    make_settings: Callable[..., Settings],
    start_notifier: Callable[[Settings], NotifierService],
) -> None:
    offsite = start_named("offsite", ["Movies 1080p"])
    start_notifier(make_settings(broker, notify={"urls": [sink.url()],
                                                 "states": ["availability"]}))
    pressed: list[float] = []

    def listening() -> bool:
        """The notifier has told a test event (pressed again each second until then)."""
        if not pressed or time.monotonic() - pressed[-1] > 1:
            press_test_button(broker, base_topic, f"t{len(pressed)}")
            pressed.append(time.monotonic())
        return bool(sink.received())

    wait_until(listening, message="the notifier listening (a test event told)")
    offsite.stop()
    start_named("offsite", ["Movies 1080p"])
    titles = [m["title"] for m in sink.wait_for(3)]
    assert titles[-2:] == ["❌ arrsync syncer offsite went offline",
                           "✅ arrsync syncer offsite is back online"]
