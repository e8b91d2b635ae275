"""Home Assistant gets one device per named syncer: its own node, ids, availability and
buttons that ask that syncer alone; both devices' configs live side by side."""

from __future__ import annotations

import json

from arrsync.topics import DiscoveryTopics
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, wait_until
from tests.syncers.stack import StartNamed
from tools.localbroker import LocalBroker


def discovery_configs(broker: LocalBroker, prefix: str) -> dict[str, dict[str, object]]:
    """The retained configs, read up to a control message published after subscribing."""
    with MqttWatcher(broker.port, [f"{prefix}/#"]) as watcher:
        mosquitto_pub(broker.port, f"{prefix}/zz-control", "control")
        watcher.wait_for("/zz-control")
        return {m.topic: m.json() for m in watcher.messages if m.retain and m.payload}


def test_each_named_syncer_is_its_own_device(start_named: StartNamed, broker: LocalBroker,
                                             base_topic: str) -> None:
    prefix = f"{base_topic}-ha"
    started: list[SyncerService] = [
        start_named(name, ["Movies 1080p"] if name == "unraid" else ["TV 1080p"],
                    homeassistant_prefix=prefix) for name in ("unraid", "offsite")]
    announced = {len(s.discovery.entities()) for s in started if s.discovery}
    nodes = {name: DiscoveryTopics.identifier(f"{base_topic}_{name}")
             for name in ("unraid", "offsite")}

    def per_node() -> dict[str, dict[str, dict[str, object]]]:
        found = discovery_configs(broker, prefix)
        return {name: {t: c for t, c in found.items() if t.split("/")[2] == node}
                for name, node in nodes.items()}

    # Each syncer announces on a connection of its own: wait until the broker holds them all.
    found = wait_until(lambda: (got := per_node()) and {len(v) for v in got.values()} ==
                       announced and got, message="both devices' configs retained")
    for name, node in nodes.items():
        own = found[name]
        assert len(own) >= 12, sorted(own)
        devices = {json.dumps(c["device"], sort_keys=True) for c in own.values()}
        assert len(devices) == 1
        device = json.loads(devices.pop())
        assert device["identifiers"] == [f"arrsync_{node}"]
        assert name in device["name"]
        assert all(c["unique_id"].startswith(f"{node}_") for c in own.values())
        assert all(c["availability"][0]["topic"] == f"{base_topic}/syncer/{name}/availability"
                   for t, c in own.items() if t.split("/")[1] in ("sensor", "button"))
        online = next(c for t, c in own.items() if t.endswith("/syncer_online/config"))
        assert online["state_topic"] == f"{base_topic}/syncer/{name}/availability"
        retry = next(c for t, c in own.items() if t.endswith("/retry_last_failure/config"))
        assert json.loads(retry["payload_press"]) == {"retry": "last", "syncer": name}
        state = next(c for t, c in own.items() if t.endswith("/queue_length/config"))
        assert state["state_topic"] == f"{base_topic}/syncer/{name}/state"
