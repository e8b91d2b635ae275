"""Fixtures: a real Mosquitto from the project's config, per-test topics and settings."""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import RESTRICTED_USERS, secured_broker, wait_until
from tests.media import MediaTree
from tests.processes import Process, RunningBridge
from tools.localbroker import LocalBroker


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


@pytest.fixture
def start_bridge() -> Iterator[Callable[[Settings], RunningBridge]]:
    started: list[RunningBridge] = []

    def start(settings: Settings) -> RunningBridge:
        bridge = RunningBridge(settings)
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        bridge.stop()


@pytest.fixture
def media(tmp_path: Path) -> MediaTree:
    return MediaTree(tmp_path / "mnt")


@pytest.fixture
def start_syncer() -> Iterator[Callable[[Settings], SyncerService]]:
    started: list[SyncerService] = []

    def start(settings: Settings) -> SyncerService:
        service = SyncerService(settings)
        service.start()
        started.append(service)
        wait_until(service.mqtt.connected.is_set, message="syncer connected")
        return service

    yield start
    for service in started:
        if service.mqtt.connected.is_set() or service.engine.running_count():
            service.stop()


@pytest.fixture
def write_config(tmp_path: Path, base_topic: str) -> Callable[..., Path]:
    """A YAML config file for processes started as a user would start them."""

    def write(broker: LocalBroker, **sections: dict[str, Any]) -> Path:
        data: dict[str, Any] = {
            "log_level": "INFO",
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": base_topic},
            "bridge": {"host": "127.0.0.1", "port": 0,
                       "spool_path": str(tmp_path / "data" / "spool.db")},
            "syncer": {"state_path": str(tmp_path / "data" / "syncer.db"),
                       "client_id": f"{base_topic}-syncer", "retry_delay": 0.1,
                       "guard_interval": 0.1, "free_space_margin": 0},
        }
        for section, values in sections.items():
            if isinstance(values, dict):
                data.setdefault(section, {}).update(values)
            else:
                data[section] = values
        path = tmp_path / "arrsync.yml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return path

    return write


@pytest.fixture
def run_command(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def run(command: str, config: Path, *args: str) -> Process:
        log = tmp_path / f"{command}-{len(started)}.log"
        process = Process(command, config, log, *args)
        started.append(process)
        return process

    yield run
    for process in started:
        if process.popen.poll() is None:
            process.signal(signal.SIGKILL)


@pytest.fixture(scope="module")
def restricted_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker with logins and the project's ACL, where only RESTRICTED_USERS may log in."""
    broker = secured_broker(tmp_path_factory.mktemp("secured"), RESTRICTED_USERS)
    yield broker
    broker.stop()
