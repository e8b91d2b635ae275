"""Home Assistant MQTT discovery: one `arrsync` device per syncer, announced by the syncer.

The syncer announces it because it owns what the entities show (queue, jobs, statistics)
and its availability is the device's: when the syncer is offline, so are the sensors. The
configs are retained under `<prefix>/<component>/<node>/<object>/config` (the node is
the base topic, with `_<name>` for a named syncer) and published again when Home
Assistant says `online` on `<prefix>/status`.

It runs on an MQTT connection of its own with a clean session, so the job intake's durable
session never carries Home Assistant's traffic. Subscribing to the node's config topics
returns the configs retained by an earlier run: those of entities that no longer exist (an
arr no longer configured, an entity of an older version) are removed with an empty
retained message, as Home Assistant expects.
"""

from __future__ import annotations

import json
import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import paho.mqtt.client as paho

from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.topics import COMPONENTS, DiscoveryTopics, Topics, audit_level
from arrsync.wire.request import RETRY_LAST, AuditRequest, RetryRequest

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (component, object id)
KNOWN_TEMPLATE = "{{ 'online' if value in ('online', 'offline') else 'offline' }}"


def _version() -> str:
    try:
        return version("arrsync")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _sensor(name: str, topic: str, template: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "state_topic": topic, "value_template": template, **extra}


def _last_job(name: str, topic: str, key: str, icon: str) -> dict[str, Any]:
    """The summary's last success or failure: its title as the state, cut to the 255
    characters Home Assistant takes; the whole of it as attributes.

    Without one the state is `unknown`. A sensor with no unit or class takes the rendered
    text as its state verbatim (Home Assistant's mqtt/sensor.py turns `None` into unknown
    for numeric sensors only), and a sensor without a value has the state "unknown"
    (STATE_UNKNOWN): rendering that text gives the same state."""
    return _sensor(name, topic, f"{{{{ value_json.{key}.title[:255] if value_json.{key} "
                   "else 'unknown' }}", icon=icon, json_attributes_topic=topic,
                   json_attributes_template=f"{{{{ (value_json.{key} or {{}}) | tojson }}}}")


class Discovery:
    def __init__(self, settings: Settings) -> None:
        self.topics = Topics(settings.mqtt.base_topic, settings.syncer.name)
        named = settings.syncer.name
        node = DiscoveryTopics.identifier(
            f"{settings.mqtt.base_topic}_{named}" if named else settings.mqtt.base_topic)
        self.discovery = DiscoveryTopics(settings.homeassistant.prefix, node)
        self.mqtt = MqttConnection(settings.mqtt, "syncer", announce=False,
                                   client_id=f"{settings.syncer.client_id}-homeassistant")
        self._arrs = [arr.name for arr in settings.arrs]  # each has an audit summary topic
        self._lock = threading.Lock()  # guards _told_refusal
        self._told_refusal = False
        label = f"arrsync {named}" if named else "arrsync"  # one device per syncer
        base = settings.mqtt.base_topic
        name = label if base == "arrsync" else f"{label} ({base})"
        self._device = {"identifiers": [f"arrsync_{node}"], "name": name,
                        "manufacturer": "arrsync", "model": "arr import syncer",
                        "sw_version": _version()}
        self.mqtt.subscribe(self.discovery.status)
        self.mqtt.subscribe(self.discovery.all_configs)
        self.mqtt.on_message(self._on_message)

    def start(self) -> None:
        self.mqtt.start()
        self.announce()

    def stop(self) -> None:
        self.mqtt.stop()

    # -- what is announced -------------------------------------------------------------------
    def entities(self) -> dict[Key, dict[str, Any]]:
        """Every entity's discovery config, by (component, object id)."""
        state, stats = self.topics.syncer_state, self.topics.syncer_stats
        sensors = {
            "queue_length": _sensor(
                "Queue length", state, "{{ value_json.queued + value_json.retrying }}",
                unit_of_measurement="jobs", state_class="measurement", icon="mdi:tray-full"),
            "running_jobs": _sensor(
                "Running jobs", state, "{{ value_json.running }}",
                unit_of_measurement="jobs", state_class="measurement", icon="mdi:sync"),
            "transfer_progress": _sensor(
                "Current transfer",
                stats, "{{ value_json.current.percent if value_json.current else None }}",
                unit_of_measurement="%", icon="mdi:progress-download",
                json_attributes_topic=stats,
                json_attributes_template="{{ (value_json.current or {}) | tojson }}"),
            "transfer_speed": _sensor(
                "Transfer speed",
                stats, "{{ value_json.current.bytes_per_s if value_json.current else 0 }}",
                unit_of_measurement="B/s", device_class="data_rate",
                state_class="measurement"),
            "last_synced": _last_job("Last synced", state, "last_success", "mdi:check-circle"),
            "last_failure": _last_job("Last failure", state, "last_failure", "mdi:alert-circle"),
            "synced_today": _sensor(
                "Synced today", stats, "{{ value_json.today.count }}",
                unit_of_measurement="jobs", state_class="total_increasing", icon="mdi:counter"),
            "synced_today_bytes": _sensor(
                "Synced today (size)", stats, "{{ value_json.today.bytes }}",
                unit_of_measurement="B", device_class="data_size",
                state_class="total_increasing"),
        }
        for arr in self._arrs:  # the audit's summary: unknown until the first audit
            topic = self.topics.audit(arr)
            sensors[f"missing_{DiscoveryTopics.identifier(audit_level(arr))}"] = _sensor(
                f"Missing at destination ({arr})", topic, "{{ value_json.missing }}",
                unit_of_measurement="files", state_class="measurement", icon="mdi:file-alert",
                json_attributes_topic=topic)
        configs = {("sensor", key): value for key, value in sensors.items()}
        for component in COMPONENTS:
            availability = self.topics.availability(component)
            configs[("binary_sensor", f"{component}_online")] = {
                "name": component.capitalize(), "state_topic": availability,
                "payload_on": "online", "payload_off": "offline",
                "device_class": "connectivity", "entity_category": "diagnostic",
                # Known once the component has announced itself, on or off.
                "availability": [{"topic": availability, "value_template": KNOWN_TEMPLATE}],
            }
        configs[("button", "retry_last_failure")] = {
            "name": "Retry last failure", "command_topic": self.topics.sync_request,
            "payload_press": RetryRequest(retry=RETRY_LAST, syncer=self.topics.syncer).payload(),
            "qos": 1, "icon": "mdi:restart"}
        if self._arrs:
            configs[("button", "audit")] = {
                "name": "Audit now", "command_topic": self.topics.sync_request,
                "payload_press": AuditRequest(audit="all", syncer=self.topics.syncer).payload(),
                "qos": 1, "icon": "mdi:clipboard-check"}
        return {key: self._complete(key, config) for key, config in configs.items()}

    def _complete(self, key: Key, config: dict[str, Any]) -> dict[str, Any]:
        """Add what every entity carries: unique id, device, availability, origin."""
        complete = {
            "unique_id": f"{self.discovery.node}_{key[1]}",
            "device": self._device,
            "availability": [{"topic": self.topics.availability("syncer")}],
            "origin": {"name": "arrsync", "sw_version": self._device["sw_version"]},
            **config,
        }
        return complete

    def announce(self) -> None:
        entities = self.entities()
        for (component, object_id), config in entities.items():
            self.mqtt.publish(self.discovery.config(component, object_id), json.dumps(config),
                              retain=True, on_done=self._published)
        log.info("announced %d entities to Home Assistant under %s/", len(entities),
                 self.discovery.prefix)

    def _published(self, ok: bool) -> None:
        """Say once, and how to fix it, when the broker refuses the configs (its ACL)."""
        if ok:
            return
        with self._lock:
            tell, self._told_refusal = not self._told_refusal, True
        if tell:
            log.warning("the broker refused the Home Assistant discovery configs: the "
                        "syncer's MQTT user needs write access to %s/+/%s/# (mosquitto/acl), "
                        "or set homeassistant.discovery: false", self.discovery.prefix,
                        self.discovery.node)

    def _remove(self, component: str, object_id: str) -> None:
        log.info("removing the Home Assistant entity %s %s", component, object_id)
        self.mqtt.publish(self.discovery.config(component, object_id), b"", retain=True)

    # -- what comes in (network thread: never block) -----------------------------------------
    def _on_message(self, message: paho.MQTTMessage) -> None:
        topic, payload = message.topic, bytes(message.payload)
        if topic == self.discovery.status:
            if payload.strip() == b"online":
                self.announce()
            return
        key = self.discovery.parse_config(topic)
        if key and payload and key not in self.entities():
            self._remove(*key)
