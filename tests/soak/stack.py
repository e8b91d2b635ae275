"""The soak's stack: a private Mosquitto, the real bridge and syncer processes with the
soak's config, restarts and kills on demand, and what a person would watch (statuses)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.benchmarks.stack import cpu_seconds, rss_mb, stop_processes
from tools.localbroker import LocalBroker, free_port

BIN = Path(sys.executable).parent
COUNTING_RSYNC = """import os, sys
with open(os.environ["ARRSYNC_SOAK_RSYNC_LOG"], "a") as log:
    log.write("run\\n")
os.execv(os.environ["ARRSYNC_SOAK_REAL_RSYNC"], ["rsync", *sys.argv[1:]])
"""


class Stack:
    def __init__(self, root: Path, mappings: list[dict[str, Any]]) -> None:
        self.root = root
        self.base = f"soak-{uuid.uuid4().hex[:6]}"
        self.broker = LocalBroker(root / "mosquitto")
        self.port = free_port()
        self.rsync_log = root / "rsync-runs.log"
        wrapper = root / "bin" / "rsync"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        wrapper.write_text(f"#!{sys.executable}\n{COUNTING_RSYNC}")
        wrapper.chmod(0o755)
        self.config = root / "arrsync.yml"
        self.config.write_text(yaml.safe_dump({
            "log_level": "INFO",
            "mqtt": {"host": "127.0.0.1", "base_topic": self.base},
            "bridge": {"host": "127.0.0.1", "port": self.port, "allow_anonymous": True,
                       "spool_path": "data/spool.db"},
            "syncer": {"state_path": "data/syncer.db", "client_id": f"{self.base}-syncer",
                       "free_space_margin": 0, "retry_delay": 5, "retry_delay_max": 60,
                       "max_attempts": 10, "guard_interval": 5, "stall_timeout": 120,
                       "max_removals_per_hour": 100_000, "rsync_path": str(wrapper),
                       "mappings": mappings},
            "homeassistant": {"discovery": False},
        }))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.cpu_of_ended = {"bridge": 0.0, "syncer": 0.0}  # CPU of processes killed
        self.statuses: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()  # guards statuses
        self._watcher: paho.Client | None = None

    def start(self) -> None:
        self.broker.start()
        self._write_port()
        for name in ("bridge", "syncer"):
            self.run(name)
        self._watch()

    def _write_port(self) -> None:
        data = yaml.safe_load(self.config.read_text())
        data["mqtt"]["port"] = self.broker.port
        self.config.write_text(yaml.safe_dump(data))

    def run(self, name: str) -> None:
        env = {"ARRSYNC_SOAK_RSYNC_LOG": str(self.rsync_log),
               "ARRSYNC_SOAK_REAL_RSYNC": shutil.which("rsync") or "rsync"}
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(BIN / f"arrsync-{name}"), "--config", str(self.config)], stdout=log,
            stderr=subprocess.STDOUT, env={**_clean_env(), **env})

    def kill(self, name: str) -> None:
        """SIGKILL, as a power cut does to one process; then start it again."""
        process = self.processes[name]
        self.cpu_of_ended[name] += cpu_seconds(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        self.run(name)

    def restart_broker(self) -> None:
        self.broker.restart()

    def cpu(self) -> float:
        return sum(self.cpu_of_ended.values()) + sum(
            cpu_seconds(p.pid) for p in self.processes.values() if p.poll() is None)

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(p.pid) for name, p in self.processes.items() if p.poll() is None}

    def rsync_runs(self) -> int:
        return len(self.rsync_log.read_text().splitlines()) if self.rsync_log.exists() else 0

    def _watch(self) -> None:
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        client.reconnect_delay_set(1, 2)

        def on_message(_c: Any, _u: Any, message: paho.MQTTMessage) -> None:
            state = message.topic.rsplit("/", 1)[1]
            if state in ("request", "response", "progress"):
                return
            with self._lock:
                self.statuses.append((time.monotonic(), json.loads(message.payload)))

        client.on_connect = lambda c, *_: c.subscribe(f"{self.base}/sync/+", 1)
        client.on_message = on_message
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        self._watcher = client

    def seen(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return list(self.statuses)

    def summary(self) -> dict[str, Any] | None:
        """The syncer's retained summary, read fresh."""
        done = subprocess.run(["mosquitto_sub", "-p", str(self.broker.port), "-t",
                               f"{self.base}/syncer/state", "-C", "1", "-W", "5"],
                              capture_output=True, timeout=15, check=False)
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout else None

    def stop(self) -> None:
        if self._watcher:
            self._watcher.disconnect()
            self._watcher.loop_stop()
        stop_processes(list(self.processes.values()))
        self.broker.stop()


def _clean_env() -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items() if not k.startswith("ARRSYNC_")}
