"""`GET /metrics` after a known sequence of webhooks and syncs, parsed with the official
client's parser: the bridge's own counters and the syncer's, relayed from its statistics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib.metadata import version

import pytest
from prometheus_client.parser import text_string_to_metric_families

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, http, mosquitto_pub, wait_until
from tests.media import FIXTURES, MediaTree
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

AUTH = ("radarr", "Metrics-Secret-7")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(bridge: RunningBridge) -> Samples:
    answer = http("GET", f"{bridge.url}/metrics", auth=AUTH)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.body.decode())
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> RunningBridge:
    settings = make_settings(
        broker,
        # ack_wait: "published" (not "spooled") for each webhook, however busy the machine.
        bridge={"username": AUTH[0], "password": AUTH[1], "ack_wait": 5},
        syncer={"mappings": media.mappings, "max_attempts": 1, "free_space_margin": 0,
                "client_id": f"{base_topic}-syncer"},
        homeassistant={"discovery": False},
    )
    start_syncer(settings)
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    return bridge


def test_metrics_need_the_credentials(stack: RunningBridge) -> None:
    answer = http("GET", f"{stack.url}/metrics")
    assert answer.status == 401 and "Basic" in answer.headers["www-authenticate"]


def test_metrics_after_a_known_sequence(
    stack: RunningBridge, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    started = time.time()
    radarr = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    movie = radarr["movieFile"]["path"]
    media.put(movie, size=40_000)
    second = json.loads(json.dumps(radarr).replace("Oppenheimer", "Dune"))
    media.put(second["movieFile"]["path"], size=2_000)
    missing = json.loads(json.dumps(radarr).replace("Oppenheimer", "Missing"))
    url = f"{stack.url}/webhook"
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        for body in (radarr, second, missing):
            assert http("POST", f"{url}/radarr", json.dumps(body), auth=AUTH).status == 200
        grab = (FIXTURES / "sonarr" / "grab.json").read_bytes()
        assert http("POST", f"{url}/sonarr", grab, auth=AUTH).status == 200
        odd = json.dumps({"eventType": "SomethingNew"})
        assert http("POST", f"{url}/radarr", odd, auth=AUTH).status == 200
        assert http("POST", f"{url}/radarr", "{nope", auth=AUTH).status == 400
        assert http("POST", f"{url}/radarr", json.dumps(radarr)).status == 401
        assert http("POST", f"{url}/plex", json.dumps(radarr), auth=AUTH).status == 404
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/srv/elsewhere/x.mkv")
        watcher.refusal()  # answered, and not a failed job
        watcher.wait_for("/sync/succeeded", count=2, timeout=20)
        watcher.wait_for("/sync/failed", count=1, timeout=20)

    def relayed() -> Samples | None:
        samples = scrape(stack)
        done = value(samples, "arrsync_syncer_jobs_total", mapping="Movies 1080p",
                     result="failed")
        return samples if done == 1 else None

    samples = wait_until(relayed, 15, "the syncer's statistics in /metrics")

    webhooks = "arrsync_webhooks_total"
    assert value(samples, webhooks, app="radarr", event="Download", outcome="published") == 3
    assert value(samples, webhooks, app="sonarr", event="Grab", outcome="published") == 1
    assert value(samples, webhooks, app="radarr", event="other", outcome="published") == 1
    assert value(samples, webhooks, app="radarr", event="unknown", outcome="bad_request") == 1
    assert value(samples, webhooks, app="radarr", event="unknown", outcome="unauthorized") == 1
    assert value(samples, webhooks, app="unknown", event="unknown", outcome="unknown_app") == 1
    assert value(samples, "arrsync_bridge_spool_depth") == 0
    assert value(samples, "arrsync_bridge_broker_connected") == 1
    assert value(samples, "arrsync_bridge_dead_letters") == 0
    latency = value(samples, "arrsync_bridge_publish_latency_seconds_count")
    assert latency is not None and latency >= 5  # the five events published
    assert value(samples, "arrsync_bridge_publish_latency_seconds_bucket", le="+Inf") == latency

    jobs = "arrsync_syncer_jobs_total"
    assert value(samples, jobs, mapping="Movies 1080p", result="succeeded") == 2
    assert value(samples, jobs, mapping="Movies 1080p", result="failed") == 1
    assert value(samples, jobs, mapping="Movies 1080p", result="skipped") == 0
    assert not any(dict(labels).get("mapping") == "(none)" for _name, labels in samples)
    assert value(samples, "arrsync_syncer_unmapped_imports_total") == 0  # a refusal: answered
    assert not any(name.endswith("_created") for name, _labels in samples)
    assert [dict(labels) for name, labels in samples if name == "arrsync_build_info"] == [
        {"version": version("arrsync")}]
    assert value(samples, "arrsync_syncer_copied_bytes_total", mapping="Movies 1080p") == 42_000
    duration = "arrsync_syncer_transfer_duration_seconds"
    assert value(samples, f"{duration}_count", mapping="Movies 1080p") == 2
    assert value(samples, f"{duration}_bucket", mapping="Movies 1080p", le="+Inf") == 2
    total = value(samples, f"{duration}_sum", mapping="Movies 1080p")
    assert total is not None and total > 0
    last = value(samples, "arrsync_syncer_last_success_timestamp_seconds",
                 mapping="Movies 1080p")
    assert last is not None and started <= last <= time.time()
    assert value(samples, "arrsync_syncer_queue_length") == 0
    assert value(samples, "arrsync_syncer_running_jobs") == 0
    assert value(samples, "arrsync_component_up", component="syncer") == 1
    assert value(samples, "arrsync_component_up", component="bridge") == 1
    assert value(samples, "arrsync_component_up", component="notifier") is None  # never seen
    made = value(samples, "arrsync_syncer_stats_timestamp_seconds")
    assert made is not None and started <= made <= time.time()


def test_dead_letters_come_from_the_relay_once_it_counts_them(
    stack: RunningBridge, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gauge reads `dead_letters()` of the relay when it has one (the dead-letter table
    of the spool), and says 0 while there is none."""
    assert value(scrape(stack), "arrsync_bridge_dead_letters") == 0
    monkeypatch.setattr(stack.service.relay, "dead_letters", lambda: 3, raising=False)
    assert value(scrape(stack), "arrsync_bridge_dead_letters") == 3
