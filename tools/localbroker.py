"""A private Mosquitto started from the project's `mosquitto/` files, for `make run` and tests.

The production `mosquitto.conf` is rendered for a local port and data folder: the same
persistence and queue limits, with either the project's password and ACL files or, for
a quick local try, anonymous access on the loopback address only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "mosquitto"


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )
    if not found:
        raise FileNotFoundError("mosquitto is not installed (Debian package: mosquitto)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def render_config(
    port: int,
    data_dir: Path,
    *,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    template: Path = CONFIG_DIR / "mosquitto.conf",
    overrides: dict[str, str] | None = None,
    extra: list[str] | None = None,
) -> str:
    """The production config with local paths; anonymous on loopback when no password file.
    `overrides` replaces the values of keys (tests: a smaller `max_packet_size`); `extra`
    lines are added at the end, for its one listener (tests: `certfile`, `keyfile`)."""
    lines = []
    for line in template.read_text().splitlines():
        key = line.split(" ", 1)[0]
        if overrides and key in overrides:
            line = f"{key} {overrides[key]}"
        elif key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key == "persistence_location":
            line = f"persistence_location {data_dir}/"
        elif key == "password_file":
            line = f"password_file {password_file}" if password_file else ""
        elif key == "acl_file":
            line = f"acl_file {acl_file}" if acl_file else ""
        elif key == "allow_anonymous" and password_file is None:
            line = "allow_anonymous true"
        elif key == "log_dest":
            line = f"log_dest file {data_dir}/mosquitto.log"
        lines.append(line)
    if os.geteuid() == 0:
        # Started as root, mosquitto drops to the "mosquitto" user, which cannot write to a
        # private data folder: no persistence, no log. Stay the user that started it.
        lines.append("user root")
    return "\n".join([*lines, *(extra or [])]) + "\n"


class LocalBroker:
    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        overrides: dict[str, str] | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.port = port or free_port()
        self.password_file = password_file
        self.acl_file = acl_file
        self.overrides = overrides
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def start(self, timeout: float = 10) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            render_config(self.port, self.data_dir, password_file=self.password_file,
                          acl_file=self.acl_file, overrides=self.overrides, extra=self.extra)
        )
        self._process = subprocess.Popen(
            [find_mosquitto(), "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Ctrl-C in `make run` reaches the whole foreground group: the broker is stopped
            # by its owner, last, so no client first logs "lost the broker connection".
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if \
                    self._process.stderr else ""
                log = self.log_path.read_text() if self.log_path.exists() else ""
                raise RuntimeError(f"mosquitto exited at start:\n{error}{log[-2000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"mosquitto did not listen on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file and exits."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _end(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(sig)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None
