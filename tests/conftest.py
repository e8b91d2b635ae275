"""Fixtures: a real Mosquitto from the project's config, per-test topics and settings."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.service import BridgeService
from bridge.settings import Settings
from syncer.localbroker import LocalBroker
from syncer.service import SyncerService
from tests.helpers import wait_until

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


MEDIA_ROOTS = {
    "Movies 1080p": ("/movies", "synology/rs-movies", "unraid/media/Movies"),
    "Movies 4K": ("/movies4k", "synology/rs-movies4k", "unraid/media/Movies 4K"),
    "TV 1080p": ("/tv", "synology/rs-tv", "unraid/media/TV"),
    "TV 4K": ("/tv4k", "synology/rs-tv4k", "unraid/media/TV 4K"),
    "Music": ("/music", "synology/music", "unraid/media/Music"),
    "Books": ("/books", "synology/books", "unraid/media/Books"),
    "Whisparr": ("/whisparr", "synology/whisparr", "unraid/media/Whisparr"),
    "Whisparr Movies": ("/whisparr-movies", "synology/whisparr-movies",
                        "unraid/media/Whisparr Movies"),
}


class MediaTree:
    """Source and destination folders like the real layout, one mapping per arr root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mappings = []
        for name, (arr_path, source, dest) in MEDIA_ROOTS.items():
            (root / source).mkdir(parents=True)
            (root / dest).mkdir(parents=True)
            self.mappings.append({"name": name, "arr_path": arr_path,
                                  "source": str(root / source), "dest": str(root / dest)})

    def mapping(self, name: str) -> dict[str, Any]:
        return next(m for m in self.mappings if m["name"] == name)

    def _locate(self, arr_path: str, side: str) -> Path:
        best = max((m for m in self.mappings
                    if arr_path == m["arr_path"] or arr_path.startswith(m["arr_path"] + "/")),
                   key=lambda m: len(m["arr_path"]))
        return Path(best[side] + arr_path[len(best["arr_path"]):])

    def source_of(self, arr_path: str) -> Path:
        return self._locate(arr_path, "source")

    def dest_of(self, arr_path: str) -> Path:
        return self._locate(arr_path, "dest")

    def put(self, arr_path: str, content: bytes | None = None, size: int = 4096) -> Path:
        """Create the source file the arr path points at; returns its source path."""
        path = self.source_of(arr_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if content is not None else os.urandom(size))
        return path


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


def syncer_settings(make_settings: Callable[..., Settings], broker: LocalBroker,
                    media: MediaTree, base_topic: str, **syncer: Any) -> Settings:
    values = {"mappings": media.mappings, "retry_delay": 0.05, "guard_interval": 0.1,
              "free_space_margin": 0, "client_id": f"{base_topic}-syncer", **syncer}
    return make_settings(broker, syncer=values)


BIN = Path(sys.executable).parent


class Process:
    """An arrsync command run as a user runs it, output kept in a log file."""

    def __init__(self, command: str, config: Path, log: Path, *args: str) -> None:
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen([str(BIN / command), "--config", str(config), *args],
                                      stdout=self._out, stderr=subprocess.STDOUT)

    def signal(self, sig: signal.Signals) -> int:
        self.popen.send_signal(sig)
        return self.wait(60)

    def wait(self, timeout: float) -> int:
        code = self.popen.wait(timeout=timeout)
        self._out.close()
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace")


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
            data.setdefault(section, {}).update(values)
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
