"""Without anywhere to send to, the notifier says so once and then stays quiet; with a
failing service it stops without waiting out its retries."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrsync.wire.job import JobState, JobStatus
from notifier.messages import Message
from notifier.sender import AppriseSender
from tests.helpers import MqttWatcher, wait_until
from tests.processes import Process
from tests.sink import NotificationSink
from tools.localbroker import LocalBroker

NOTHING_TO_SEND = "nothing to send notifications to"


def status_message(job: str, state: JobState, **fields: Any) -> JobStatus:
    return JobStatus(job=job, state=state, trigger="t", title="Film (2020)", app="radarr",
                     mapping="Movies", source="/s", dest="/d", bytes=10**9, files=1,
                     attempt=1, max_attempts=5, duration_s=10.0, at="2026-01-01T00:00:00Z",
                     **fields)


def test_without_urls_the_notifier_says_so_once_and_stays_quiet(
    broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process], base_topic: str,
) -> None:
    config = write_config(broker, notify={"urls": [], "group_window": 0, "states": [
        "queued", "started", "retrying", "succeeded", "failed", "skipped", "availability"]})
    config.write_text(config.read_text().replace("log_level: INFO", "log_level: DEBUG"))
    notifier = run_command("arrsync-notify", config)
    wait_until(lambda: "connected to broker" in notifier.output(), timeout=20,
               message="the notifier to connect")
    statuses = [
        status_message("a", JobState.FAILED, error="rsync failed"),
        status_message("b", JobState.SUCCEEDED),
        status_message("c", JobState.RETRYING, error="share dropped", held=True),
        status_message("d", JobState.TEST),
    ]
    with MqttWatcher(broker.port, []) as publisher:
        for status in statuses:
            publisher.client.publish(f"{base_topic}/sync/{status.state.value}",
                                     status.model_dump_json(), qos=1)
        publisher.client.publish(f"{base_topic}/bridge/availability", "offline", qos=1)
        # DEBUG logs each message the notifier would have sent: all five were handled.
        wait_until(lambda: notifier.output().count(" notify ") >= 5, timeout=20,
                   message="the notifier to handle every status")
    assert notifier.signal(signal.SIGTERM) == 0
    out = notifier.output()
    assert out.count(NOTHING_TO_SEND) == 1, out
    problems = [line for line in out.splitlines() if " WARNING " in line or " ERROR " in line]
    assert not problems, "\n".join(problems)
    assert "sent notification" not in out and "not delivered" not in out


def test_stop_does_not_wait_out_the_retries() -> None:
    with NotificationSink(failures=100) as failing:
        sender = AppriseSender([failing.url()], None, attempts=3, retry_delay=600)
        sender.start()
        sender.send(Message("failure", "❌ Film failed", "boom"), None)
        sender.send(Message("success", "✅ Other", "fine"), None)
        wait_until(lambda: failing.attempts >= 1, message="the first delivery attempt")
        sender.stop(timeout=30)
        assert not sender.running, "stop() waited for a retry delay of 600 s"
        assert failing.attempts == 2  # each queued message got one more try, none waited
