"""The arrsync stack as a user runs it, for the benchmark: a private Mosquitto, real
`arrsync-bridge` and `arrsync-syncer` processes on loopback, webhooks over HTTP, and the
moment a file is complete at its destination (its final name appears only when it is whole).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tools.localbroker import LocalBroker, free_port

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "radarr" / "download.json"
BIN = Path(sys.executable).parent
POLL_S = 0.0002


def write_file(path: Path, size: int, block: bytes | None = None) -> Path:
    """A file of `size` bytes (random, or `block` repeated); returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = block or os.urandom(min(size, 1 << 20))
    with path.open("wb") as out:
        left = size
        while left:
            out.write(block[:left])
            left -= min(left, len(block))
    return path


def complete(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def wait_complete(path: Path, size: int, timeout: float = 120) -> float:
    """perf_counter() at the first look that found the file whole at its final name."""
    deadline = time.perf_counter() + timeout
    while not complete(path, size):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{path} was not complete after {timeout} s")
        time.sleep(POLL_S)
    return time.perf_counter()


def wait_all(paths: list[Path], size: int, timeout: float, interval: Callable[[], float]
             ) -> float:
    """perf_counter() when every file was whole; `interval()` is the pause between looks."""
    missing = list(paths)
    deadline = time.perf_counter() + timeout
    while True:
        missing = [p for p in missing if not complete(p, size)]
        if not missing:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{len(missing)} of {len(paths)} files missing after {timeout} s")
        time.sleep(interval())


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Mapping:
    name: str
    arr_path: str
    source: Path
    dest: Path

    def source_of(self, relative: str) -> Path:
        return self.source / relative

    def dest_of(self, relative: str) -> Path:
        return self.dest / relative

    def as_config(self) -> dict[str, Any]:
        return {"name": self.name, "arr_path": self.arr_path, "source": str(self.source),
                "dest": str(self.dest)}


@dataclass
class Stack:
    """Broker, bridge and syncer processes over `mappings`, until `stop()`."""

    root: Path
    mappings: list[Mapping]
    syncer: dict[str, Any] = field(default_factory=dict)
    base_topic: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")

    def start(self) -> None:
        self.broker = LocalBroker(self.root / "mosquitto")
        self.broker.start()
        self.port = free_port()
        config = self.root / "arrsync.yml"
        config.write_text(yaml.safe_dump({
            "log_level": "INFO",
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port,
                     "base_topic": self.base_topic},
            "bridge": {"host": "127.0.0.1", "port": self.port,
                       "spool_path": str(self.root / "data" / "spool.db")},
            "syncer": {"state_path": str(self.root / "data" / "syncer.db"),
                       "client_id": f"{self.base_topic}-syncer", "free_space_margin": 0,
                       "mappings": [m.as_config() for m in self.mappings], **self.syncer},
        }))
        online = self._watch_availability()
        self.processes = {
            name: subprocess.Popen([str(BIN / f"arrsync-{name}"), "--config", str(config)],
                                   stdout=(self.root / f"{name}.log").open("wb"),
                                   stderr=subprocess.STDOUT)
            for name in ("bridge", "syncer")
        }
        if not online.wait(30):
            raise RuntimeError(f"the stack did not come up; see the logs in {self.root}")

    def _watch_availability(self) -> threading.Event:
        online: set[str] = set()
        ready = threading.Event()
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)

        def on_message(_c: Any, _u: Any, message: paho.MQTTMessage) -> None:
            if message.payload == b"online":
                online.add(message.topic.split("/")[-2])
            if {"bridge", "syncer"} <= online:
                ready.set()

        client.on_connect = lambda c, *_: c.subscribe(f"{self.base_topic}/+/availability", 1)
        client.on_message = on_message
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        self._watcher = client
        return ready

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self) -> None:
        self._watcher.disconnect()
        self._watcher.loop_stop()
        stop_processes(list(self.processes.values()))
        self.broker.stop()


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all, then wait for each (a minute at most, then SIGKILL)."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


class Webhooks:
    """Radarr `Download` webhooks for one file each, from the project's fixture."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.template = json.loads(FIXTURE.read_text())

    def body(self, arr_path: str) -> bytes:
        payload = dict(self.template)
        payload["movieFile"] = {**payload["movieFile"], "path": arr_path}
        payload["movie"] = {**payload["movie"], "folderPath": arr_path.rsplit("/", 1)[0]}
        return json.dumps(payload).encode()

    def post(self, arr_path: str, connection: http.client.HTTPConnection | None = None
             ) -> int:
        """POST one webhook (a fresh connection, as the arrs open one, unless given)."""
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/webhook/radarr", self.body(arr_path),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            if own:
                connection.close()


def post_burst(url_port: int, bodies: list[bytes], clients: int, path: str = "/webhook/radarr"
               ) -> tuple[float, float, list[int]]:
    """POST every body from `clients` threads on keep-alive connections.
    Returns (perf_counter at the start, at the last answer, statuses)."""
    statuses: list[int] = []
    last = [0.0]
    lock = threading.Lock()  # guards statuses and last
    start = threading.Barrier(clients + 1)

    def client(part: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=60)
        start.wait()
        for body in part:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            with lock:
                statuses.append(response.status)
                last[0] = max(last[0], time.perf_counter())
        connection.close()

    threads = [threading.Thread(target=client, args=(bodies[n::clients],))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return began, last[0], statuses
