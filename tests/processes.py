"""arrsync processes for tests: the bridge in this process, any command as a subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from arrsync.settings import Settings
from bridge.service import BridgeService


class RunningBridge:
    def __init__(self, settings: Settings) -> None:
        self.service = BridgeService(settings)
        self.service.start()
        self.running = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.service.stop()


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
