"""The systemd units of systemd/: they pass `systemd-analyze verify`, and the three
processes started exactly as the units say (their ExecStart, environment file and working
directory) against the bare-metal Mosquitto, set up by mosquitto/install-bare-metal.sh
with a login per process, sync an import end to end. Paths of an install (/opt/arrsync/venv,
/etc/arrsync, /var/lib/arrsync, /etc/mosquitto) are moved below a temporary root; nothing
else of the units and configs is changed."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    HttpAnswer,
    MqttWatcher,
    http,
    wait_until,
)
from tests.media import FIXTURES, MediaTree
from tools.localbroker import find_mosquitto, free_port, port_is_open

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
BIN = Path(sys.executable).parent
PROCESSES = {"bridge": "bridge", "syncer": "syncer", "notify": "notifier"}  # unit → user


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


def env_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if line and not line.startswith("#"))


@pytest.fixture
def bare_metal_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """install-bare-metal.sh run as the docs say, then Mosquitto on its conf.d file alone;
    yields the port and the folder of the environment files it wrote the passwords to."""
    env_dir, etc, port = tmp_path / "install" / "etc", tmp_path / "mosquitto", free_port()
    env_dir.mkdir(parents=True)
    (etc / "conf.d").mkdir(parents=True)
    for user in ("bridge", "syncer", "notifier"):
        shutil.copyfile(UNITS / f"{user}.env.example", env_dir / f"{user}.env")
    done = subprocess.run(
        ["sh", str(ROOT / "mosquitto" / "install-bare-metal.sh"), "--port", str(port),
         "--env-dir", str(env_dir)], capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": os.environ.get("PATH", ""), "MOSQUITTO_ETC": str(etc),
             "MOSQUITTO_OWNER": "root:root"})
    assert done.returncode == 0, done.stderr
    conf = (etc / "conf.d" / "arrsync.conf").read_text().replace("/etc/mosquitto/", f"{etc}/")
    (etc / "alone.conf").write_text(conf.replace(f"listener {port}", f"listener {port} "
                                                 "127.0.0.1") + f"persistence_location {etc}/\n"
                                    "user root\n")
    broker = subprocess.Popen([find_mosquitto(), "-c", str(etc / "alone.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_is_open(port), timeout=10, message="the broker to listen")
        yield port, env_dir
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_the_processes_started_as_the_units_say_sync_an_import(
    tmp_path: Path, media: MediaTree, started: list[subprocess.Popen[bytes]],
    bare_metal_broker: tuple[int, Path],
) -> None:
    broker_port, env_dir = bare_metal_broker
    root = env_dir.parent
    (root / "var").mkdir()
    port = free_port()
    config = {"mqtt": {"host": "127.0.0.1", "port": broker_port},
              "bridge": {"host": "127.0.0.1", "port": port, "allow_anonymous": True,
                         "spool_path": "data/bridge-spool.db"},  # relative: beside it
              "syncer": {"state_path": "data/syncer.db", "mappings": media.mappings,
                         "free_space_margin": 0},
              "notify": {"urls": []}, "homeassistant": {"discovery": False}}
    (root / "etc" / "arrsync.yml").write_text(yaml.safe_dump(config))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ARRSYNC_")}
    for name in PROCESSES:
        service = unit(name)["Service"]
        env = env_of(Path(installed(service["EnvironmentFile"], root)))
        assert env["ARRSYNC_MQTT__PASSWORD"] != "change-me"  # the install made one up
        started.append(subprocess.Popen(
            shlex.split(installed(service["ExecStart"], root)), env={**clean, **env},
            cwd=installed(service["WorkingDirectory"], root),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    movie = payload["movieFile"]["path"]
    source = media.put(movie, size=5000)
    viewer = env_of(env_dir / "viewer.env")["ARRSYNC_MQTT__PASSWORD"]
    with MqttWatcher(broker_port, ["arrsync/+/availability"], "viewer", viewer) as watcher:
        for component in ("bridge", "syncer", "notifier"):
            watcher.wait_for(f"/{component}/availability", timeout=30,
                             where=lambda m: m.text == "online")
    answer = wait_until(lambda: _post(port, payload), timeout=30, message="the bridge")
    assert answer.status == 200 and answer.json()["status"] == "published"
    wait_until(lambda: media.dest_of(movie).exists(), timeout=30, message="the copy")
    assert media.dest_of(movie).read_bytes() == source.read_bytes()
    assert (root / "etc" / "data" / "syncer.db").exists()  # beside the config
    assert all(process.poll() is None for process in started)


def _post(port: int, payload: dict[str, object]) -> HttpAnswer | None:
    try:
        return http("POST", f"http://127.0.0.1:{port}/webhook/radarr", json.dumps(payload))
    except OSError:
        return None
