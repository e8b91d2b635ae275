"""Two hosts on one machine: network namespaces joined by a veth pair, with addresses that
exist only inside them. The "hub" holds the broker; the "far" host a syncer whose link can
be cut and restored. Needs root (CI runs as root) and iproute2."""

from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import wait_until
from tools.localbroker import find_mosquitto, render_config

MQTT_PORT = 1883  # a namespace of our own: its 1883 is free


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)


@dataclass
class TwoHosts:
    folder: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: int = field(default_factory=lambda: random.randrange(1, 250))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hub(self) -> str:
        return f"arrsync-{self.tag}-hub"

    @property
    def far(self) -> str:
        return f"arrsync-{self.tag}-far"

    @property
    def hub_address(self) -> str:
        return f"10.241.{self.subnet}.1"

    @property
    def far_link(self) -> str:
        return f"as{self.tag}f"

    def __enter__(self) -> TwoHosts:
        hub_link = f"as{self.tag}h"
        run("ip", "netns", "add", self.hub)
        run("ip", "netns", "add", self.far)
        run("ip", "link", "add", hub_link, "netns", self.hub, "type", "veth", "peer", "name",
            self.far_link, "netns", self.far)
        for ns, link, address in ((self.hub, hub_link, self.hub_address),
                                  (self.far, self.far_link, f"10.241.{self.subnet}.2")):
            run("ip", "-n", ns, "addr", "add", f"{address}/30", "dev", link)
            run("ip", "-n", ns, "link", "set", link, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.kill()
            process.wait(timeout=10)
        for ns in (self.hub, self.far):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=30)

    def start(self, ns: str, command: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(["ip", "netns", "exec", ns, *command], stdout=out,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_broker(self) -> None:
        """The project's Mosquitto config, listening on the hub's address."""
        data = self.folder / "broker"
        data.mkdir(parents=True)
        config = render_config(MQTT_PORT, data).replace(
            f"listener {MQTT_PORT} 127.0.0.1", f"listener {MQTT_PORT} {self.hub_address}")
        (data / "mosquitto.conf").write_text(config)
        self.start(self.hub, [find_mosquitto(), "-c", str(data / "mosquitto.conf")],
                   data / "stdout.log")
        wait_until(lambda: self.publish("arrsync-probe/ready", "1", check=False) == 0,
                   message="the broker in the hub namespace")

    def publish(self, topic: str, message: str, *, check: bool = True) -> int:
        """mosquitto_pub on the hub, as a script there would."""
        done = subprocess.run(["ip", "netns", "exec", self.hub, "mosquitto_pub", "-h",
                               self.hub_address, "-p", str(MQTT_PORT), "-q", "1", "-t", topic,
                               "-m", message], check=check, capture_output=True, timeout=30)
        return done.returncode

    def subscribe(self, topics: list[str], log: Path) -> None:
        """mosquitto_sub on the hub, every message a line "topic payload" in `log`."""
        command = ["mosquitto_sub", "-h", self.hub_address, "-p", str(MQTT_PORT), "-v", "-q",
                   "1"]
        for topic in topics:
            command += ["-t", topic]
        self.start(self.hub, command, log)

    def link(self, up: bool) -> None:
        run("ip", "-n", self.far, "link", "set", self.far_link, "up" if up else "down")
