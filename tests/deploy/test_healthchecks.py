"""Each Compose healthcheck, run for real against a live counterpart.

The bridge's probe against an HTTP server, the syncer's and notifier's against a TCP
connection standing in for the broker, and Mosquitto's against a real Mosquitto with the
project's ACL: healthy when the counterpart answers, unhealthy when it does not.
"""

from __future__ import annotations

import http.server
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deployfiles import (
    MOSQUITTO_DIR,
    environment,
    healthcheck_words,
    interpolate,
    service,
)

# The fixture, imported under its own name for pytest to find it here.
from tools.localbroker import LocalBroker


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


def _python_probe(svc: dict[str, Any]) -> str:
    words = healthcheck_words(svc)
    assert words[:3] == ["CMD", "python", "-c"], words
    return words[3]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_bridge_healthcheck_follows_the_health_answer(status: int, healthy: bool) -> None:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        probe = _python_probe(service("bridge"))
        assert ":5000/" in probe
        probe = probe.replace(":5000/", f":{server.server_address[1]}/")
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, timeout=20, check=False
        )
        assert (done.returncode == 0) is healthy, done.stderr
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["syncer", "notifier"])
def test_broker_connection_healthcheck(name: str) -> None:
    probe = _python_probe(service(name))
    compile(probe, f"<{name} healthcheck>", "exec")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**os.environ, "ARRSYNC_MQTT__PORT": str(port)}

        def healthy() -> bool:
            done = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, timeout=20, check=False
            )
            assert done.returncode in (0, 1), done.stderr
            return done.returncode == 0

        assert not healthy(), "healthy without a connection to the broker"
        with socket.create_connection(("127.0.0.1", port)):
            assert healthy(), "unhealthy while connected to the broker"
        assert not healthy(), "still healthy after the connection closed"


def test_mosquitto_healthcheck_logs_in(broker_folder: Path) -> None:
    assert shutil.which("mosquitto_passwd") and shutil.which("mosquitto_sub"), \
        "mosquitto and mosquitto-clients are missing: `make test` installs them"
    user = environment(service("mosquitto"))["MQTT_HEALTHCHECK_USER"]
    passwd, acl, data = broker_folder / "passwd", broker_folder / "acl", broker_folder / "data"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwd), user, "right"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    passwd.chmod(0o600)
    shutil.copyfile(MOSQUITTO_DIR / "acl", acl)
    data.mkdir()
    if os.geteuid() == 0:
        # The account Mosquitto drops to when started as root (nobody if it has none).
        accounts = {a.pw_name: a for a in pwd.getpwall()}
        account = accounts.get("mosquitto") or accounts.get("nobody")
        if account is not None:
            for path in (passwd, acl, data):
                os.chown(path, account.pw_uid, account.pw_gid)
    broker = LocalBroker(data, password_file=passwd, acl_file=acl)
    broker.start()
    try:
        probe = healthcheck_words(service("mosquitto"))
        assert probe[0] == "CMD-SHELL"
        command = interpolate(probe[1], {})  # what Compose hands to the container's shell
        assert "-p 1883 " in command
        command = command.replace("-p 1883 ", f"-p {broker.port} ")

        def run(password: str) -> int:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "MQTT_HEALTHCHECK_USER": user,
                "MQTT_HEALTHCHECK_PASSWORD": password,
            }
            return subprocess.run(
                ["sh", "-c", command], env=env, capture_output=True, timeout=20, check=False
            ).returncode

        assert run("right") == 0
        assert run("wrong") != 0
    finally:
        broker.stop()
    assert run("right") != 0, "healthy with the broker stopped"
