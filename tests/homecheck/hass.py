"""A real Home Assistant core in a fresh config folder, set up as a person does: the
onboarding API creates the owner (and gives the token), the MQTT integration is added
through its own config flow (`POST /api/config/config_entries/flow`, handler `mqtt`), the
entities are read and the buttons pressed through the REST API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import yaml

from tests.benchmarks.stack import stop_processes
from tests.helpers import wait_until
from tests.homecheck.install import HA_PYTHON
from tests.homecheck.stack import paced
from tools.localbroker import free_port

OWNER = ("check", "Check-Owner-Secret-1")
CONFIGURATION = {
    "homeassistant": {"name": "arrsync check", "time_zone": "UTC", "unit_system": "metric",
                      "latitude": 0, "longitude": 0, "elevation": 0, "country": "NL",
                      "currency": "EUR"},
    "logger": {"default": "info"},
}


class HomeAssistant:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.config_dir / "home-assistant.log"

    def start(self, timeout: float = 300) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        config = {**CONFIGURATION, "http": {"server_host": "127.0.0.1",
                                            "server_port": self.port}}
        (self.config_dir / "configuration.yaml").write_text(yaml.safe_dump(config))
        self._process = subprocess.Popen(
            [str(HA_PYTHON), "-m", "homeassistant", "--config", str(self.config_dir),
             "--log-file", str(self.log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(paced(self._onboarding_open), timeout, "Home Assistant's HTTP API")

    def _onboarding_open(self) -> bool:
        if self._process and self._process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited at start; see {self.log_path}")
        try:
            status, _ = self.call("GET", "/api/onboarding")
        except (URLError, ConnectionError, TimeoutError):
            return False
        return status == 200

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            stop_processes([self._process])

    # -- HTTP ----------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None,
             form: dict[str, str] | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urlopen(request, timeout=60) as answer:
                text = answer.read().decode()
                return int(answer.status), json.loads(text) if text else None
        except HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def onboard(self) -> None:
        """Create the owner through the onboarding API and take its access token."""
        client_id = f"{self.url}/"
        status, answer = self.call("POST", "/api/onboarding/users", {
            "client_id": client_id, "name": "Check", "username": OWNER[0],
            "password": OWNER[1], "language": "en"})
        if status != 200:
            raise RuntimeError(f"onboarding refused the owner: HTTP {status} {answer}")
        status, token = self.call("POST", "/auth/token", form={
            "grant_type": "authorization_code", "code": answer["auth_code"],
            "client_id": client_id})
        if status != 200:
            raise RuntimeError(f"no token for the owner: HTTP {status} {token}")
        self.token = token["access_token"]

    def add_mqtt(self, port: int, username: str, password: str) -> dict[str, Any]:
        """The MQTT integration through its config flow, as the UI adds it."""
        status, flow = self.call("POST", "/api/config/config_entries/flow",
                                 {"handler": "mqtt", "show_advanced_options": False})
        if status != 200 or flow.get("step_id") != "broker":
            raise RuntimeError(f"the MQTT config flow did not start: HTTP {status} {flow}")
        status, done = self.call("POST", f"/api/config/config_entries/flow/{flow['flow_id']}",
                                 {"broker": "127.0.0.1", "port": port, "username": username,
                                  "password": password})
        if status != 200 or done.get("type") != "create_entry":
            raise RuntimeError(f"the MQTT config flow did not finish: HTTP {status} {done}")
        return dict(done)

    def states(self) -> dict[str, dict[str, Any]]:
        status, found = self.call("GET", "/api/states")
        if status != 200:
            raise RuntimeError(f"GET /api/states: HTTP {status} {found}")
        return {s["entity_id"]: s for s in found}

    def press(self, entity_id: str) -> None:
        status, answer = self.call("POST", "/api/services/button/press",
                                   {"entity_id": entity_id})
        if status != 200:
            raise RuntimeError(f"pressing {entity_id}: HTTP {status} {answer}")

    def mqtt_entities(self) -> list[str]:
        """The entity ids the MQTT integration has (a template the REST API renders)."""
        status, found = self.call("POST", "/api/template",
                                  {"template": "{{ integration_entities('mqtt') | tojson }}"})
        if status != 200:
            raise RuntimeError(f"POST /api/template: HTTP {status} {found}")
        return list(found)

    def log(self) -> str:
        """This run's log: a restart moves the earlier one to home-assistant.log.1."""
        earlier = self.log_path.with_name(self.log_path.name + ".1")
        return "".join(path.read_text(errors="replace") for path in (earlier, self.log_path)
                       if path.exists())
