"""Requests get answers, not failures: every request on `sync/request` is answered on
`sync/response`; one that cannot run leaves no job, no `failed` status and no failure count.
Real broker, real syncer, the commands run as a user runs them."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub
from tests.media import MediaTree, syncer_settings
from tests.processes import Process
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic)


@pytest.mark.parametrize(("request_text", "reason"), [
    ('{"retry": "last", "id": "ha-button"}', "nothing has failed: there is no failure to retry"),
    ('{"retry": "no-such-job", "id": "typo"}', "there is no job 'no-such-job'"),
    ('{"dismiss": "no-such-job", "id": "typo"}', "there is no job on hold 'no-such-job'"),
], ids=["retry-last-with-nothing-failed", "retry-a-typo", "dismiss-a-typo"])
def test_a_request_that_cannot_run_is_an_answer_and_nothing_else(
    request_text: str, reason: str, settings: Settings, start_syncer: Start,
    broker: LocalBroker, base_topic: str,
) -> None:
    syncer = start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        watcher.wait_for("/syncer/state")
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", request_text)
        answer = watcher.refusal()
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/srv/nowhere/x.mkv")
        watcher.wait_for("/sync/response", count=2)  # answered in order: the first is done
    assert answer["id"] == json.loads(request_text)["id"] and reason in answer["message"]
    assert syncer.store.recent() == []  # no job
    assert [m.topic for m in watcher.messages if "/sync/" in m.topic and not m.topic.endswith(
        ("/request", "/response"))] == []  # no status of any kind
    state = watcher.on("/syncer/state")[-1].json()
    assert state["failed_total"] == 0 and state["last_failure"] is None


def test_a_request_that_runs_is_answered_with_its_job(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str,
) -> None:
    start_syncer(settings)
    media.put("/movies/Dune (2021)/Dune (2021).mkv", b"dune")
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      json.dumps({"path": "/movies/Dune (2021)", "id": "by-hand"}))
        answer = watcher.wait_for("/sync/response")[0].json()
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert answer["ok"] is True and answer["id"] == "by-hand"
    assert answer["jobs"] == [done["job"]] and done["trigger"] == "by-hand"
    assert media.dest_of("/movies/Dune (2021)/Dune (2021).mkv").read_bytes() == b"dune"


def test_the_commands_print_the_answer_and_a_refusal_ends_them_at_once(
    broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process], media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/availability"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", timeout=20, where=lambda m: m.text == "online")
    # a long --timeout: the refusal, not the timeout, ends the command
    trigger = run_command("arrsync-syncer", config, "trigger", "/srv/nowhere", "--timeout",
                          "600")
    assert trigger.wait(60) == 1
    assert "refused: '/srv/nowhere' is under no mapping" in trigger.output()
    retry = run_command("arrsync-syncer", config, "retry", "last", "--timeout", "600")
    assert retry.wait(60) == 1
    assert "refused: nothing has failed: there is no failure to retry" in retry.output()

    media.put("/movies/Heat (1995)/Heat.mkv", b"heat")
    ok = run_command("arrsync-syncer", config, "trigger", "/movies/Heat (1995)", "--timeout",
                     "600")
    assert ok.wait(60) == 0
    said = ok.output()
    assert "ok: queued job " in said and "succeeded: Heat (1995)" in said
    assert syncer.signal(signal.SIGTERM) == 0


def test_trigger_on_a_job_the_guard_holds_says_so_and_returns(
    broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process], media: MediaTree, base_topic: str,
) -> None:
    held = [{**m, "require_mount": True} for m in media.mappings]  # dest on the root fs
    config = write_config(broker, syncer={"mappings": held})
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/availability"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", timeout=20, where=lambda m: m.text == "online")
    media.put("/movies/Held (2020)/Held.mkv", b"held")
    trigger = run_command("arrsync-syncer", config, "trigger", "/movies/Held (2020)",
                          "--timeout", "600")
    assert trigger.wait(60) == 0  # seconds, not the 600 s of its timeout
    said = trigger.output()
    assert "retrying: Held (2020)" in said and "not on a mounted share" in said
    assert "it waits for the destination and will run by itself" in said
    assert syncer.signal(signal.SIGTERM) == 0
