"""What the syncer and its commands say when something is wrong: the broker's refusals in
words, a retry that cannot be, imports that are not synced."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.helpers import RESTRICTED_USERS, MqttWatcher, publish_import, wait_until
from tests.media import MediaTree
from tests.processes import Process
from tools.localbroker import LocalBroker

RunCommand = Callable[..., Process]
WriteConfig = Callable[..., Path]


def as_user(user: str, password: str) -> dict[str, str]:
    return {"base_topic": "arrsync", "username": user, "password": password}


def test_trigger_as_a_user_without_the_right_says_the_broker_refused(
    restricted_broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree,
) -> None:
    config = write_config(restricted_broker, mqtt=as_user("viewer", RESTRICTED_USERS["viewer"]),
                          syncer={"mappings": media.mappings})
    trigger = run_command("arrsync-syncer", config, "trigger", "/movies/Dune (2021)",
                          "--timeout", "600")
    assert trigger.wait(60) == 2
    assert trigger.output().strip() == ("the broker refused: user viewer may not publish to "
                                        "arrsync/sync/request (use the trigger user)")
    retry = run_command("arrsync-syncer", config, "retry", "e82e9c1703e1", "--timeout", "600")
    assert retry.wait(60) == 2
    assert "may not publish to arrsync/sync/request" in retry.output()


def test_wrong_credentials_say_the_broker_refused_the_login(
    restricted_broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree,
) -> None:
    config = write_config(restricted_broker, mqtt=as_user("trigger", "not-the-password"),
                          syncer={"mappings": media.mappings})
    refused = (f"the broker at 127.0.0.1:{restricted_broker.port} refused the login as user "
               "trigger: Not authorized (check mqtt.username and mqtt.password)")
    trigger = run_command("arrsync-syncer", config, "trigger", "/movies/x", "--timeout", "600")
    assert trigger.wait(60) == 2
    assert trigger.output().strip() == refused
    check = run_command("arrsync-syncer", config, "check")
    assert check.wait(60) == 1
    assert f"[FAIL] {refused}" in check.output()
    assert "cannot reach" not in check.output()


def test_retry_of_a_refused_job_says_why_it_cannot_be_retried(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", timeout=20, where=lambda m: m.text == "online")
        publish_import(broker.port, base_topic, "unmapped", ["/downloads/Film.mkv"])
        job = watcher.wait_for("/sync/failed")[0].json()["job"]
        listed = run_command("arrsync-syncer", config, "jobs", "--failed")
        assert listed.wait(30) == 0 and job in listed.output()

        retry = run_command("arrsync-syncer", config, "retry", job, "--timeout", "30")
        assert retry.wait(60) == 1
        said = retry.output()
        assert f"job {job} was refused before it began ('/downloads/Film.mkv' is under no " \
               "mapping" in said
        assert "so it cannot be retried; a new request with a path under a mapping can" in said

        unknown = run_command("arrsync-syncer", config, "retry", "nope", "--timeout", "30")
        assert unknown.wait(60) == 1
        assert "there is no job 'nope'; `arrsync-syncer jobs --failed` lists failed jobs" in \
            unknown.output()
        assert syncer.signal(signal.SIGTERM) == 0


def test_imports_that_are_not_synced_are_in_the_syncer_log(
    broker: LocalBroker, write_config: WriteConfig, run_command: RunCommand,
    media: MediaTree, base_topic: str,
) -> None:
    config = write_config(broker, syncer={"mappings": media.mappings})
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/availability"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", timeout=20, where=lambda m: m.text == "online")
    publish_import(broker.port, base_topic, "unmapped", ["/downloads/Film.mkv"], "Film (2020)")
    publish_import(broker.port, base_topic, "no-files", [], "Empty (2020)")
    wait_until(lambda: "lists no files" in syncer.output(), timeout=20,
               message="the log line for the import without files")
    assert syncer.signal(signal.SIGTERM) == 0
    log = syncer.output()
    assert "WARNING syncer.intake.events: radarr import 'Film (2020)' not synced: " \
           "'/downloads/Film.mkv' is under no mapping (arr paths: /movies" in log
    assert "WARNING syncer.intake.events: radarr Download 'Empty (2020)' lists no files: " \
           "nothing to sync" in log
