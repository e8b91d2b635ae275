"""Debian's Prometheus scraping the bridge's `/metrics` with basic auth, as the docs set it
up, and `promtool check metrics` on what it scrapes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import yaml

from tests.benchmarks.stack import stop_processes
from tests.helpers import wait_until
from tests.homecheck.stack import paced
from tools.localbroker import free_port


class Prometheus:
    def __init__(self, binary: str, root: Path, target: str, auth: tuple[str, str]) -> None:
        self.binary, self.root = binary, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = root / "prometheus.yml"
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s"},
            "scrape_configs": [{
                "job_name": "arrsync",
                "basic_auth": {"username": auth[0], "password": auth[1]},
                "static_configs": [{"targets": [target]}]}],
        }))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.root / "prometheus.log").open("ab")
        self._process = subprocess.Popen(
            [self.binary, f"--config.file={self.config}",
             f"--storage.tsdb.path={self.root / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(paced(self._ready), 60, "Prometheus to answer")

    def _ready(self) -> bool:
        if self._process and self._process.poll() is not None:
            raise RuntimeError(f"prometheus exited at start; see {self.root / 'prometheus.log'}")
        try:
            with urlopen(f"{self.url}/-/ready", timeout=5) as answer:
                return int(answer.status) == 200
        except (URLError, ConnectionError, TimeoutError):
            return False

    def query(self, expression: str) -> list[dict[str, Any]]:
        with urlopen(f"{self.url}/api/v1/query?{urlencode({'query': expression})}",
                     timeout=10) as answer:
            return list(json.loads(answer.read())["data"]["result"])

    def target(self) -> dict[str, Any]:
        """The arrsync scrape target as Prometheus sees it (health, last error)."""
        with urlopen(f"{self.url}/api/v1/targets", timeout=10) as answer:
            targets = json.loads(answer.read())["data"]["activeTargets"]
        return next((t for t in targets if t["labels"].get("job") == "arrsync"), {})

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            stop_processes([self._process])


def promtool_check(promtool: str, text: str) -> list[str]:
    """What `promtool check metrics` says about the text (nothing when clean)."""
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                          capture_output=True, check=False)
    said = (done.stdout + done.stderr).decode(errors="replace").strip()
    return said.splitlines() if said or done.returncode else []
