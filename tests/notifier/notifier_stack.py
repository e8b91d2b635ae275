"""Shared by the notifier tests: a local notification sink, a notifier service that is
stopped after the test, and the job statuses and arr payloads they notify about.

A test module uses the fixtures by importing them under their own names
(`from tests.notifier.notifier_stack import sink as sink`): pytest finds fixtures by name in
the test module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from arrsync.settings import Settings
from arrsync.wire.job import JobState, JobStatus
from notifier.service import NotifierService
from tests.media import FIXTURES, MediaTree
from tests.sink import NotificationSink


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running


@pytest.fixture
def start_notifier() -> Iterator[Callable[[Settings], NotifierService]]:
    started: list[NotifierService] = []

    def start(settings: Settings) -> NotifierService:
        service = NotifierService(settings, retry_delay=0.05)
        service.start()
        started.append(service)
        assert service.mqtt.wait_connected(10)
        return service

    yield start
    for service in started:
        if service.mqtt.connected.is_set():
            service.stop()


def radarr_import(media: MediaTree, size: int = 3_000_000) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    media.put(payload["movieFile"]["path"], size=size)
    return payload


def status_message(job: str, state: JobState, **fields: Any) -> JobStatus:
    values: dict[str, Any] = dict(job=job, state=state, trigger="t", title="Film (2020)",
                                  app="radarr", mapping="Movies", source="/s", dest="/d",
                                  bytes=10**9, files=1, attempt=1, max_attempts=5,
                                  duration_s=10.0, error=None, at="2026-01-01T00:00:00Z")
    values.update(fields)
    return JobStatus(**values)
