"""Fixtures: a real Mosquitto from the project's config, per-test topics and settings."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.service import BridgeService
from bridge.settings import Settings
from syncer.localbroker import LocalBroker

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """One broker for the session; tests that stop it use `own_broker` instead."""
    local = LocalBroker(tmp_path_factory.mktemp("mosquitto"))
    local.start()
    yield local
    local.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker this test may stop, kill and restart at will."""
    local = LocalBroker(tmp_path / "mosquitto")
    local.start()
    yield local
    local.kill()


@pytest.fixture
def base_topic(request: pytest.FixtureRequest) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
    return f"t-{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def make_settings(tmp_path: Path, base_topic: str) -> Callable[..., Settings]:
    """Settings for one test: its own topics and data folder; overrides as nested dicts."""

    def build(broker: LocalBroker, **sections: dict[str, Any]) -> Settings:
        data: dict[str, Any] = {
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": base_topic},
            "bridge": {"host": "127.0.0.1", "port": 0,
                       "spool_path": str(tmp_path / "data" / "spool.db")},
            "syncer": {"state_path": str(tmp_path / "data" / "syncer.db")},
        }
        for section, values in sections.items():
            if isinstance(values, dict):
                data.setdefault(section, {}).update(values)
            else:
                data[section] = values
        return Settings(**data)

    return build


class RunningBridge:
    def __init__(self, settings: Settings) -> None:
        self.service = BridgeService(settings)
        self.thread = threading.Thread(target=self.service.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def stop(self) -> None:
        self.service.close()
        self.thread.join(timeout=10)
        self.service.shutdown()


@pytest.fixture
def start_bridge() -> Iterator[Callable[[Settings], RunningBridge]]:
    started: list[RunningBridge] = []

    def start(settings: Settings) -> RunningBridge:
        bridge = RunningBridge(settings)
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        if bridge.thread.is_alive():
            bridge.stop()
