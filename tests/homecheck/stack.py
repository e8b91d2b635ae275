"""The arrsync stack as a home runs it: a private Mosquitto with the project's config,
password file and ACL (each process its own user, Home Assistant the `homeassistant` one),
and the real bridge, syncer and notifier processes reading one config file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import yaml

from tests.benchmarks.stack import stop_processes
from tests.helpers import make_password_file
from tests.homecheck import second
from tests.homecheck.radarr import API_KEY
from tools.localbroker import CONFIG_DIR, LocalBroker, free_port

BIN = Path(sys.executable).parent
PROCESSES = {"bridge": "arrsync-bridge", "syncer": "arrsync-syncer", "notifier": "arrsync-notify"}
USERS = {name: f"{name}-Check-Secret-1" for name in ("bridge", "syncer", "notifier",
                                                     "homeassistant", "viewer")}
WEBHOOK = ("radarr", "Webhook-Check-Secret-1")
DEMO = Path(__file__).resolve().parents[2] / "tools" / "demo" / "radarr-import.json"


class Stack:
    def __init__(self, root: Path, radarr_url: str) -> None:
        self.root = root
        self.source, self.dest = root / "share" / "movies", root / "backup" / "Movies"
        for folder in (self.source, self.dest):
            folder.mkdir(parents=True, exist_ok=True)
        passwd, acl = root / "mosquitto" / "passwd", root / "mosquitto" / "acl"
        passwd.parent.mkdir(parents=True, exist_ok=True)
        acl.write_text((CONFIG_DIR / "acl").read_text() + second.acl_lines())
        make_password_file(passwd, {**USERS, second.USER[0]: second.USER[1]})
        self.broker = LocalBroker(root / "mosquitto" / "data", password_file=passwd,
                                  acl_file=acl)
        self.bridge_port = free_port()
        self.config = root / "arrsync.yml"
        self.radarr_url = radarr_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def bridge_url(self) -> str:
        return f"http://127.0.0.1:{self.bridge_port}"

    def _write_config(self) -> None:
        self.config.write_text(yaml.safe_dump({
            "log_level": "INFO",
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "base_topic": "arrsync"},
            "bridge": {"host": "127.0.0.1", "port": self.bridge_port,
                       "username": WEBHOOK[0], "password": WEBHOOK[1],
                       "spool_path": str(self.root / "data" / "spool.db")},
            "syncer": {"state_path": str(self.root / "data" / "syncer.db"),
                       "client_id": "arrsync-syncer-check", "free_space_margin": 0,
                       "max_attempts": 1, "retry_delay": 1,
                       "mappings": [{"name": "Movies", "arr_path": "/movies",
                                     "source": str(self.source), "dest": str(self.dest)}]},
            "arrs": [{"name": "Radarr", "app": "radarr", "url": self.radarr_url,
                      "api_key": API_KEY}],
            "homeassistant": {"discovery": True, "prefix": "homeassistant"},
            "notify": {"urls": []},
        }, sort_keys=False))

    def start(self) -> None:
        self.broker.start()
        self._write_config()
        for name in PROCESSES:
            self.run(name)

    def run(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARRSYNC_")}
        if name == second.NAME:  # the second syncer: its own user and config
            command, config = "arrsync-syncer", second.write_config(self.config, self.root)
            user = second.USER
        else:
            command, config, user = PROCESSES[name], self.config, (name, USERS[name])
        env.update(ARRSYNC_MQTT__USERNAME=user[0], ARRSYNC_MQTT__PASSWORD=user[1])
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(BIN / command), "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, env=env)

    def end(self, name: str) -> None:
        """SIGTERM, as systemd or docker stops it; `run(name)` starts it again."""
        stop_processes([self.processes.pop(name)])

    def stop(self) -> None:
        stop_processes([p for p in self.processes.values() if p.poll() is None])
        self.broker.stop()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- what an arr does ----------------------------------------------------------------------
    def put_movie(self, folder: str, size: int) -> str:
        """A movie file at the source; returns its path as Radarr sees it."""
        path = self.source / folder / f"{folder}.mkv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.truncate(size)
        return f"/movies/{folder}/{folder}.mkv"

    def import_webhook(self, title: str, year: int, arr_path: str, size: int) -> int:
        """Radarr's Download webhook for the file; returns the HTTP status."""
        body: dict[str, Any] = json.loads(DEMO.read_text())
        folder, file = arr_path.rsplit("/", 1)
        body["movie"].update(title=title, year=year, folderPath=folder)
        body["remoteMovie"].update(title=title, year=year)
        body["movieFile"].update(relativePath=file, path=arr_path, size=size)
        body["downloadId"] = f"{abs(hash((title, arr_path))):040X}"[:40]
        request = Request(f"{self.bridge_url}/webhook/radarr", data=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json",
                                   "Authorization": basic_auth(*WEBHOOK)}, method="POST")
        with urlopen(request, timeout=30) as answer:
            return int(answer.status)

    def metrics(self) -> str:
        request = Request(f"{self.bridge_url}/metrics",
                          headers={"Authorization": basic_auth(*WEBHOOK)})
        with urlopen(request, timeout=30) as answer:
            return str(answer.read().decode())


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def paced(condition: Callable[[], Any], every: float = 0.5) -> Callable[[], Any]:
    """`condition`, asked at most every `every` seconds (it asks a server), for wait_until."""
    last = [float("-inf")]

    def ask() -> Any:
        if time.monotonic() - last[0] < every:
            return None
        last[0] = time.monotonic()
        return condition()
    return ask
