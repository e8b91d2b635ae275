"""The systemd units of systemd/: they pass `systemd-analyze verify`, and the three
processes started exactly as the units say (their ExecStart, environment file and working
directory) against a broker with per-process logins and the project's ACL sync an import
end to end. Paths of an install (/opt/arrsync/venv, /etc/arrsync, /var/lib/arrsync) are
moved below a temporary root; nothing else of the units is changed."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    RESTRICTED_USERS,
    HttpAnswer,
    MqttWatcher,
    http,
    secured_broker,
    wait_until,
)
from tests.media import FIXTURES, MediaTree
from tools.localbroker import free_port

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
BIN = Path(sys.executable).parent
PROCESSES = {"bridge": "bridge", "syncer": "syncer", "notify": "notifier"}  # unit → user
PASSWORDS = {"bridge": "bridge-Unit-1", "syncer": "syncer-Unit-2", "notifier": "notify-Unit-3"}


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / f"arrsync-{name}.service")
    return parser


def installed(text: str, root: Path) -> str:
    return (text.replace("/opt/arrsync/venv/bin", str(BIN))
            .replace("/etc/arrsync", str(root / "etc")).replace("/var/lib/arrsync",
                                                                 str(root / "var")))


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    for name in PROCESSES:
        text = (UNITS / f"arrsync-{name}.service").read_text()
        (tmp_path / f"arrsync-{name}.service").write_text(installed(text, tmp_path))
    done = subprocess.run(["systemd-analyze", "verify",
                           *sorted(str(p) for p in tmp_path.glob("*.service"))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_each_process_has_its_own_login_and_one_config(tmp_path: Path) -> None:
    for name, user in PROCESSES.items():
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == f"/etc/arrsync/{user}.env"
        assert shlex.split(service["ExecStart"]) == [
            f"/opt/arrsync/venv/bin/arrsync-{name}", "--config", "/etc/arrsync/arrsync.yml"]
        example = (UNITS / f"{user}.env.example").read_text()
        assert f"ARRSYNC_MQTT__USERNAME={user}\n" in example
        assert "ARRSYNC_MQTT__PASSWORD=" in example


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


def test_the_processes_started_as_the_units_say_sync_an_import(
    tmp_path: Path, media: MediaTree, started: list[subprocess.Popen[bytes]],
) -> None:
    broker = secured_broker(tmp_path / "broker", {**PASSWORDS, **RESTRICTED_USERS})
    try:
        root = tmp_path / "install"
        (root / "etc").mkdir(parents=True)
        (root / "var").mkdir()
        port = free_port()
        config = {"mqtt": {"host": "127.0.0.1", "port": broker.port},
                  "bridge": {"host": "127.0.0.1", "port": port, "allow_anonymous": True,
                             "spool_path": "data/bridge-spool.db"},  # relative: beside it
                  "syncer": {"state_path": "data/syncer.db", "mappings": media.mappings,
                             "free_space_margin": 0},
                  "notify": {"urls": []}, "homeassistant": {"discovery": False}}
        (root / "etc" / "arrsync.yml").write_text(yaml.safe_dump(config))
        for user, password in PASSWORDS.items():
            example = (UNITS / f"{user}.env.example").read_text()
            (root / "etc" / f"{user}.env").write_text(
                example.replace("ARRSYNC_MQTT__PASSWORD=change-me",
                                f"ARRSYNC_MQTT__PASSWORD={password}"))
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ARRSYNC_")}
        for name in PROCESSES:
            service = unit(name)["Service"]
            env_file = Path(installed(service["EnvironmentFile"], root))
            env = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                       if line and not line.startswith("#"))
            started.append(subprocess.Popen(
                shlex.split(installed(service["ExecStart"], root)), env={**clean, **env},
                cwd=installed(service["WorkingDirectory"], root),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
        movie = payload["movieFile"]["path"]
        source = media.put(movie, size=5000)
        with MqttWatcher(broker.port, ["arrsync/syncer/availability"], "viewer",
                         RESTRICTED_USERS["viewer"]) as watcher:
            watcher.wait_for("/availability", timeout=30, where=lambda m: m.text == "online")
        answer = wait_until(lambda: _post(port, payload), timeout=30, message="the bridge")
        assert answer.status == 200 and answer.json()["status"] == "published"
        wait_until(lambda: media.dest_of(movie).exists(), timeout=30, message="the copy")
        assert media.dest_of(movie).read_bytes() == source.read_bytes()
        assert (root / "etc" / "data" / "syncer.db").exists()  # beside the config
        assert all(process.poll() is None for process in started)
    finally:
        broker.stop()


def _post(port: int, payload: dict[str, object]) -> HttpAnswer | None:
    try:
        return http("POST", f"http://127.0.0.1:{port}/webhook/radarr", json.dumps(payload))
    except OSError:
        return None
