"""The states Home Assistant makes of the discovery configs, from what the real syncer
publishes: never the text `None`, unknown where there is nothing to show, within the 255
characters a state may have.

`ha_state` renders as Home Assistant 2024.x does for an MQTT sensor:
- the template (helpers/template.py, `async_render_with_possible_json_value`): an immutable
  sandboxed Jinja2 environment, `value` and, when the payload is JSON, `value_json`; the
  result stripped. Home Assistant's environment adds its own filters and globals (none of
  which the configs use) and logs a WARNING for an undefined value: here that fails;
- the state (components/mqtt/sensor.py, `_update_state`): a sensor with a unit, a state
  class or a numeric device class turns "None" into unknown and ignores ""; any other
  sensor takes the text verbatim, so "None" would be shown as it is.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arrsync.settings import Settings
from arrsync.topics import Topics
from syncer.report.homeassistant import Discovery
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, Received, mosquitto_pub, publish_import
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

UNKNOWN = "unknown"  # homeassistant.const.STATE_UNKNOWN
NON_NUMERIC_CLASSES = {"date", "enum", "timestamp"}


class Warned(jinja2.Undefined):
    """Home Assistant logs a WARNING where a template meets an undefined value."""

    def __str__(self) -> str:
        raise AssertionError(f"Home Assistant would log a warning: {self._undefined_message}")

    __bool__ = __iter__ = __str__  # type: ignore[assignment]


ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=Warned)


def render(template: str, payload: bytes) -> str:
    variables: dict[str, Any] = {"value": payload.decode()}
    with contextlib.suppress(ValueError):  # as Home Assistant: value_json only for JSON
        variables["value_json"] = json.loads(payload)
    return ENVIRONMENT.from_string(template).render(**variables).strip()


def ha_state(config: dict[str, Any], payload: bytes, before: str = UNKNOWN) -> str:
    """The state a sensor has after `payload` arrives on its state topic."""
    rendered = render(config["value_template"], payload)
    numeric = config.get("device_class") not in NON_NUMERIC_CLASSES and any(
        config.get(k) is not None for k in
        ("unit_of_measurement", "state_class", "suggested_display_precision", "device_class"))
    if numeric:
        return before if rendered == "" else UNKNOWN if rendered == "None" else rendered
    return rendered


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic, max_attempts=1)


def latest(broker: LocalBroker, topics: list[str]) -> dict[str, Received]:
    """The newest message on each topic (the retained one, or a fresher one)."""
    with MqttWatcher(broker.port, topics) as watcher:
        for topic in topics:
            watcher.wait_for(topic)
        return {m.topic: m for m in watcher.messages}


def states(settings: Settings, broker: LocalBroker) -> dict[str, str]:
    sensors = {key: c for (component, key), c in Discovery(settings).entities().items()
               if component == "sensor"}
    payloads = latest(broker, sorted({c["state_topic"] for c in sensors.values()}))
    return {key: ha_state(c, payloads[c["state_topic"]].payload) for key, c in sensors.items()}


def test_before_any_job_nothing_says_none(
    settings: Settings, start_syncer: Callable[[Settings], SyncerService], broker: LocalBroker,
) -> None:
    start_syncer(settings)
    shown = states(settings, broker)
    assert "None" not in shown.values() and "none" not in shown.values(), shown
    assert shown["last_synced"] == UNKNOWN
    assert shown["last_failure"] == UNKNOWN
    assert shown["transfer_progress"] == UNKNOWN  # numeric: "None" is unknown there
    assert shown["queue_length"] == "0" and shown["synced_today"] == "0"


def test_after_a_success_and_a_failure_their_titles(
    settings: Settings, start_syncer: Callable[[Settings], SyncerService], broker: LocalBroker,
    media: MediaTree, base_topic: str,
) -> None:
    media.put("/movies/Dune (2021)/Dune (2021).mkv", size=5000)
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "e1", ["/movies/Dune (2021)/Dune (2021).mkv"],
                       title="Dune (2021)")
        watcher.wait_for("/succeeded")
        mosquitto_pub(broker.port, Topics(base_topic).sync_request, "/movies/Missing (1999)")
        watcher.wait_for("/failed")
    with MqttWatcher(broker.port, [Topics(base_topic).syncer_state]) as watcher:
        watcher.wait_for("/syncer/state", where=lambda m: bool(
            m.json()["last_success"] and m.json()["last_failure"]))
    shown = states(settings, broker)
    assert shown["last_synced"] == "Dune (2021)"
    assert shown["last_failure"] == "Missing (1999)"
    assert "None" not in shown.values(), shown


def test_a_long_title_is_cut_to_a_state_home_assistant_takes(settings: Settings) -> None:
    """States over 255 characters fail in Home Assistant; the whole title stays an
    attribute (json_attributes_template)."""
    configs = Discovery(settings).entities()
    summary = json.dumps({"last_success": {"title": "T" * 300, "job": "j"},
                          "last_failure": None}).encode()
    synced, failure = configs[("sensor", "last_synced")], configs[("sensor", "last_failure")]
    assert ha_state(synced, summary) == "T" * 255
    assert json.loads(render(synced["json_attributes_template"], summary))["title"] == "T" * 300
    assert ha_state(failure, summary) == UNKNOWN
    assert json.loads(render(failure["json_attributes_template"], summary)) == {}


def test_last_failure_after_a_retry_succeeds_is_what_a_restart_shows(
    settings: Settings, start_syncer: Callable[[Settings], SyncerService], broker: LocalBroker,
    media: MediaTree, base_topic: str,
) -> None:
    """A failure retried to success is no longer the last failure: the newest job still
    failed is, the same the summary rebuilt by a restarted syncer names."""
    topics = Topics(base_topic)
    syncer = start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+", topics.syncer_state]) as watcher:
        for n, title in enumerate(("Gone (1990)", "Late (2020)")):
            mosquitto_pub(broker.port, topics.sync_request, f"/movies/{title}")
            watcher.wait_for("/failed", count=n + 1)
        late = watcher.on("/failed")[-1].json()["job"]
        media.put("/movies/Late (2020)/Late (2020).mkv", b"here now")
        mosquitto_pub(broker.port, topics.sync_request, json.dumps({"retry": late}))
        summary = watcher.wait_for("/syncer/state", where=lambda m: (
            m.json()["last_success"] or {}).get("job") == late)[-1].json()
    assert summary["last_failure"]["title"] == "Gone (1990)"
    before = states(settings, broker)
    assert (before["last_failure"], before["last_synced"]) == ("Gone (1990)", "Late (2020)")
    syncer.stop()
    start_syncer(settings)
    after = states(settings, broker)
    assert (after["last_failure"], after["last_synced"]) == ("Gone (1990)", "Late (2020)")
