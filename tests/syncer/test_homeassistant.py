"""Home Assistant MQTT discovery, on the real broker: configs retained with unique ids, a
device and availability; their topics are arrsync's and their templates give the right
values; re-announced after Home Assistant's birth message; gone entities removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pydantic import SecretStr

from arrsync.settings import Settings
from arrsync.topics import COMPONENTS, DiscoveryTopics, Topics
from syncer.service import SyncerService
from tests.arr_standin import StandInArr
from tests.helpers import (
    MqttWatcher,
    Received,
    mosquitto_pub,
    publish_import,
    secured_broker,
    wait_until,
)
from tests.media import MediaTree, syncer_settings
from tools.localbroker import CONFIG_DIR, LocalBroker

Start = Callable[[Settings], SyncerService]
CORE = {
    ("sensor", "queue_length"), ("sensor", "running_jobs"), ("sensor", "transfer_progress"),
    ("sensor", "transfer_speed"), ("sensor", "last_synced"), ("sensor", "last_failure"),
    ("sensor", "synced_today"), ("sensor", "synced_today_bytes"),
    ("binary_sensor", "bridge_online"), ("binary_sensor", "syncer_online"),
    ("binary_sensor", "notifier_online"), ("button", "retry_last_failure"),
}


@pytest.fixture
def prefix(base_topic: str) -> str:
    return f"{base_topic}-ha"  # each test its own Home Assistant


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str, prefix: str) -> Settings:
    settings = syncer_settings(make_settings, broker, media, base_topic, max_attempts=1)
    return settings.model_copy(update={"homeassistant": settings.homeassistant.model_copy(
        update={"prefix": prefix})})


def retained(broker: LocalBroker, topic_filter: str) -> dict[str, Received]:
    """Every retained message under the filter, as a new subscriber gets them: a control
    message published after subscribing arrives after all of them."""
    control = f"{topic_filter.split('/')[0]}/zz-control"
    with MqttWatcher(broker.port, [topic_filter, control]) as watcher:
        mosquitto_pub(broker.port, control, "control")
        watcher.wait_for("/zz-control")
        return {m.topic: m for m in watcher.messages if m.retain and m.payload}


def configs(broker: LocalBroker, discovery: DiscoveryTopics) -> dict[tuple[str, str], Any]:
    found = retained(broker, discovery.all_configs)
    return {key: message.json() for topic, message in found.items()
            if (key := discovery.parse_config(topic))}


def render(template: str, payload: bytes) -> str:
    """A value template as Home Assistant renders it (Jinja2, `value` and `value_json`)."""
    try:
        value_json = json.loads(payload)
    except ValueError:
        value_json = None
    return jinja2.Environment(autoescape=False).from_string(template).render(  # noqa: S701
        value=payload.decode(), value_json=value_json)


def test_configs_are_retained_with_ids_device_and_arrsync_topics(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, prefix: str,
) -> None:
    media.put("/movies/Dune (2021)/Dune (2021).mkv", size=5000)
    start_syncer(settings)
    topics, discovery = Topics(base_topic), DiscoveryTopics(prefix, base_topic)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        publish_import(broker.port, base_topic, "e1", ["/movies/Dune (2021)/Dune (2021).mkv"],
                       title="Dune (2021)")
        mosquitto_pub(broker.port, topics.sync_request, "/movies/Missing (1999)")
        watcher.wait_for("/syncer/stats", timeout=20,
                         where=lambda m: json.loads(m.payload)["today"]["count"] == 1
                         and len(json.loads(m.payload)["recent"]) == 2)
    found = configs(broker, discovery)

    assert set(found) == CORE
    arrsync_topics = {topics.syncer_state, topics.syncer_stats, topics.sync_request,
                      *(topics.availability(c) for c in COMPONENTS)}
    state = retained(broker, f"{base_topic}/#")
    unique_ids = set()
    for (component, object_id), config in found.items():
        unique_ids.add(config["unique_id"])
        assert config["device"]["identifiers"] == [f"arrsync_{base_topic}"]
        assert config["device"]["name"] == f"arrsync ({base_topic})"
        assert config["availability"] and all(
            a["topic"] in arrsync_topics for a in config["availability"])
        used = [config[k] for k in ("state_topic", "json_attributes_topic", "command_topic")
                if k in config]
        assert used and set(used) <= arrsync_topics, (object_id, used)
        if component == "sensor":  # the syncer's own topics are there, retained
            assert config["state_topic"] in state, config["state_topic"]
    assert len(unique_ids) == len(found)

    def value(object_id: str) -> str:
        config = found[("sensor", object_id)]
        return render(config["value_template"], state[config["state_topic"]].payload)

    assert value("queue_length") == "0"
    assert value("running_jobs") == "0"
    assert value("last_synced") == "Dune (2021)"
    assert value("last_failure") == "Missing (1999)"
    assert value("synced_today") == "1"
    assert value("synced_today_bytes") == "5000"
    assert value("transfer_progress") == "None"  # Home Assistant shows "unknown"
    assert value("transfer_speed") == "0"
    failure = found[("sensor", "last_failure")]
    attributes = json.loads(render(failure["json_attributes_template"],
                                   state[failure["json_attributes_topic"]].payload))
    assert "is not there (yet)" in attributes["error"]
    syncer_online = found[("binary_sensor", "syncer_online")]
    assert state[syncer_online["state_topic"]].payload == syncer_online["payload_on"].encode()
    known = syncer_online["availability"][0]["value_template"]
    assert [render(known, p) for p in (b"online", b"offline", b"")] == \
        ["online", "online", "offline"]


def test_reannounced_when_home_assistant_says_online(
    settings: Settings, start_syncer: Start, broker: LocalBroker, base_topic: str, prefix: str,
) -> None:
    discovery = DiscoveryTopics(prefix, base_topic)
    with MqttWatcher(broker.port, [discovery.all_configs]) as watcher:
        start_syncer(settings)
        first = watcher.wait_for("/config", count=len(CORE))
        mosquitto_pub(broker.port, discovery.status, "offline")  # its last will: nothing
        mosquitto_pub(broker.port, discovery.status, "online")   # its birth: all again
        again = watcher.wait_for("/config", count=2 * len(CORE))
    assert {m.topic for m in first} == {m.topic for m in again[len(CORE):]}
    assert all(m.payload for m in again)


def test_configs_of_entities_that_no_longer_exist_are_removed(
    settings: Settings, start_syncer: Start, broker: LocalBroker, base_topic: str, prefix: str,
) -> None:
    discovery = DiscoveryTopics(prefix, base_topic)
    gone = discovery.config("sensor", "renamed_in_an_older_version")
    neighbour = DiscoveryTopics(prefix, "another-device").config("sensor", "temperature")
    for topic in (gone, neighbour):
        mosquitto_pub(broker.port, topic, json.dumps({"name": "x", "state_topic": "y"}),
                      retain=True)
    with MqttWatcher(broker.port, [gone]) as watcher:
        start_syncer(settings)
        watcher.wait_for(gone, where=lambda m: m.payload == b"" and not m.retain)
    left = retained(broker, f"{prefix}/#")
    assert gone not in left
    assert neighbour in left  # another device's config is none of our business
    assert set(configs(broker, discovery)) == CORE


def test_a_configured_arr_gets_a_missing_files_sensor_and_the_audit_button_works(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, prefix: str,
) -> None:
    """With arrs configured: a sensor per arr from its audit summary and an "Audit now"
    button; pressing it runs a real audit (against a stand-in Radarr API) whose summary the
    sensor then shows. Without them, both are removed."""
    topics, discovery = Topics(base_topic), DiscoveryTopics(prefix, base_topic)
    sensor = discovery.config("sensor", "missing_radarr-4k")
    button = discovery.config("button", "audit")
    with StandInArr("radarr", "0123456789abcdef0123456789abcdef") as radarr:
        media.put("/movies4k/Ran (1985)/Ran (1985).mkv", size=3000)  # never copied: missing
        radarr.add_movie("Ran", 1985, "/movies4k/Ran (1985)/Ran (1985).mkv", 3000)
        arrs = [{"name": "Radarr 4K", "app": "radarr", "url": radarr.url,
                 "api_key": "0123456789abcdef0123456789abcdef"}]
        audited = settings.model_copy(update={"arrs": Settings(arrs=arrs).arrs})
        with MqttWatcher(broker.port, [sensor, button, topics.audit("Radarr 4K")]) as watcher:
            syncer = start_syncer(audited)
            config = watcher.wait_for(sensor)[0].json()
            press = watcher.wait_for(button)[0].json()
            assert config["state_topic"] == topics.audit("Radarr 4K")
            assert config["name"] == "Missing at destination (Radarr 4K)"
            assert (press["command_topic"], json.loads(press["payload_press"])) == \
                (topics.sync_request, {"audit": "all"})
            mosquitto_pub(broker.port, press["command_topic"], press["payload_press"])
            summary = watcher.wait_for("/audit/radarr-4k", timeout=30)[0]
        assert render(config["value_template"], summary.payload) == "1"
        assert summary.json()["files"] == 1
    syncer.stop()

    with MqttWatcher(broker.port, [sensor, button]) as watcher:
        start_syncer(settings)  # the arr is no longer configured
        watcher.wait_for(sensor, where=lambda m: m.payload == b"")
        watcher.wait_for(button, where=lambda m: m.payload == b"")
    assert set(configs(broker, discovery)) == CORE


def test_the_retry_button_retries_the_last_failure(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, prefix: str,
) -> None:
    topic = DiscoveryTopics(prefix, base_topic).config("button", "retry_last_failure")
    with MqttWatcher(broker.port, [topic]) as announced:
        start_syncer(settings)
        button = announced.wait_for(topic)[0].json()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/Late (2020)")
        failed = watcher.wait_for("/failed")[0].json()  # the source is not there yet
        media.put("/movies/Late (2020)/Late (2020).mkv", b"now it is")
        mosquitto_pub(broker.port, button["command_topic"], button["payload_press"])
        done = watcher.wait_for("/succeeded")[0].json()
    assert done["job"] == failed["job"]
    assert media.dest_of("/movies/Late (2020)/Late (2020).mkv").read_bytes() == b"now it is"


def test_nothing_is_announced_with_discovery_off(
    settings: Settings, start_syncer: Start, broker: LocalBroker, base_topic: str, prefix: str,
) -> None:
    off = settings.model_copy(update={"homeassistant": settings.homeassistant.model_copy(
        update={"discovery": False})})
    syncer = start_syncer(off)
    assert syncer.discovery is None
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/stats"]) as watcher:
        watcher.wait_for("/syncer/stats")  # the syncer is up and publishing
    assert retained(broker, f"{prefix}/#") == {}



def test_a_broker_that_refuses_the_configs_gets_one_clear_warning(
    settings: Settings, start_syncer: Start, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The project's ACL without the syncer's discovery rights, as an older one would be."""
    acl = "\n".join(line for line in (CONFIG_DIR / "acl").read_text().splitlines()
                    if not line.startswith("topic readwrite homeassistant/+/"))
    strict = secured_broker(tmp_path, {"syncer": "syncer-Secret-2"}, acl=acl + "\n")
    try:
        mqtt = settings.mqtt.model_copy(update={
            "port": strict.port, "username": "syncer", "base_topic": "arrsync",
            "password": SecretStr("syncer-Secret-2")})
        syncer = start_syncer(settings.model_copy(update={
            "mqtt": mqtt, "homeassistant": settings.homeassistant.model_copy(
                update={"prefix": "homeassistant"})}))
        wait_until(lambda: "refused the Home Assistant discovery" in caplog.text,
                   message="the warning")
        assert syncer.discovery is not None
        syncer.discovery.announce()  # again: every config is refused again...
        refused = "the broker refused the publish to homeassistant/"
        wait_until(lambda: caplog.text.count(refused) >= 2 * len(CORE))
        syncer.stop()
    finally:
        strict.stop()
    warnings = [r for r in caplog.records if "discovery configs" in r.getMessage()]
    assert len(warnings) == 1  # ...but said once
    assert "homeassistant/+/arrsync/#" in warnings[0].getMessage()
    assert "homeassistant.discovery: false" in warnings[0].getMessage()

