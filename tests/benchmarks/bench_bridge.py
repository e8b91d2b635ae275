"""Webhook latency and rate of the bridge with the broker up and down, then the spool's replay.

Not a pytest test. From the project root (`make bench` runs the whole stack instead):
    .venv/bin/python -m tests.benchmarks.bench_bridge [--requests 2000] [--concurrency 8] [--close]
A private Mosquitto and a real `arrsync-bridge` process (its own interpreter, as in production,
fresh spool) get the Radarr download fixture over HTTP from client threads in this process; the
broker is stopped, the load repeated, the broker restarted and the drain timed. A durable
subscriber checks that no accepted event was lost. Exit 1 only for lost
events or non-2xx answers. Bridge settings follow ARRSYNC_ overrides (ARRSYNC_BRIDGE__THREADS=16).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tools.localbroker import LocalBroker, free_port

BODY = (Path(__file__).resolve().parents[1] / "fixtures" / "radarr" / "download.json").read_bytes()
ACCEPTED = {"published", "spooled"}


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    outcomes: Counter[str] = field(default_factory=Counter)  # published, spooled, HTTP 4xx…
    ids: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def errors(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome not in ACCEPTED)


class Subscriber:
    """A durable MQTT session on `<base>/events/#` that records every event id it receives."""

    def __init__(self, port: int, base_topic: str) -> None:
        self.ids: list[str] = []  # appended on paho's thread; list() copies it atomically
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{base_topic}-sub",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{base_topic}/events/#", 1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600  # messages wait while the broker restarts
        self.client.connect("127.0.0.1", port, clean_start=False, properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the subscriber could not subscribe")

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self.ids.append(json.loads(message.payload)["id"])


def wait_for(condition: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `condition` held, or None at the deadline."""
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            return None
        time.sleep(0.02)
    return time.perf_counter() - began


def health(port: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/health")
        return json.loads(connection.getresponse().read())
    except OSError:
        return {}
    finally:
        connection.close()


def spooled(port: int) -> int:
    return int(health(port)["spooled"])


def connected(port: int) -> bool:
    return health(port).get("broker") == "connected"


def client(port: int, count: int, close: bool, start: threading.Barrier, result: Phase) -> None:
    """POST `count` webhooks; http.client reconnects by itself after a close."""
    headers = {"Content-Type": "application/json", **({"Connection": "close"} if close else {})}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start.wait()
    for _ in range(count):
        began = time.perf_counter()
        try:
            connection.request("POST", "/webhook/radarr", BODY, headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            result.outcomes[f"error {type(exc).__name__}"] += 1
            connection.close()
            continue
        result.latencies.append(time.perf_counter() - began)
        if response.status in (200, 202):
            answer = json.loads(body)
            result.outcomes[answer["status"]] += 1
            result.ids.append(answer["id"])
        else:
            result.outcomes[f"HTTP {response.status}"] += 1
    connection.close()


def run_phase(name: str, port: int, requests: int, concurrency: int, close: bool) -> Phase:
    print(f"… {name}: {requests} webhooks, {concurrency} clients", file=sys.stderr)
    start, parts = threading.Barrier(concurrency + 1), [Phase(name) for _ in range(concurrency)]
    counts = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    threads = [threading.Thread(target=client, args=(port, n, close, start, part))
               for n, part in zip(counts, parts, strict=True)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase = Phase(name, wall=time.perf_counter() - began)
    for part in parts:
        phase.latencies += part.latencies
        phase.outcomes += part.outcomes
        phase.ids += part.ids
    return phase


def row(phase: Phase, connections: str) -> str:
    ordered = sorted(phase.latencies) or [math.nan]
    def ms(p: float) -> str:
        return f"{ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000:7.1f}"
    rate = len(phase.latencies) / phase.wall if phase.wall else math.nan
    return (f"{phase.name:<12}{connections:<11}{sum(phase.outcomes.values()):>6}"
            f"{phase.outcomes['published']:>10}{phase.outcomes['spooled']:>9}{phase.errors:>7}"
            f"{rate:>9.1f}{ms(50)}{ms(90)}{ms(99)}{ms(100)}")


def benchmark(args: argparse.Namespace, broker: LocalBroker, spool: Path) -> int:
    base_topic = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = spool.parent / "arrsync.yml"
    config.write_text(yaml.safe_dump({  # the environment's ARRSYNC_ overrides still apply
        "log_level": "WARNING",
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "base_topic": base_topic},
        "bridge": {"host": "127.0.0.1", "port": port, "spool_path": str(spool)}}))
    subscriber = Subscriber(broker.port, base_topic)  # subscribed before any webhook
    bridge = subprocess.Popen([str(Path(sys.executable).parent / "arrsync-bridge"),
                               "--config", str(config)])
    load = (port, args.requests, args.concurrency, args.close)
    try:
        if wait_for(lambda: connected(port), 20) is None:
            raise RuntimeError("the bridge did not start or connect to the broker")
        up = run_phase("broker up", *load)
        if wait_for(lambda: spooled(port) == 0, 60) is None:
            print("! the spool did not drain after the broker-up phase", file=sys.stderr)
        broker.stop()
        if wait_for(lambda: not connected(port), 10) is None:
            raise RuntimeError("the bridge did not notice the broker going away")
        down = run_phase("broker down", *load)
        backlog = spooled(port)
        print(f"… restarting the broker, {backlog} events spooled", file=sys.stderr)
        broker.start()
        reconnect = wait_for(lambda: connected(port), 60)
        drain = wait_for(lambda: spooled(port) == 0, 120)
        accepted = set(up.ids) | set(down.ids)
        wait_for(lambda: accepted <= set(list(subscriber.ids)), 30)
        received = list(subscriber.ids)
    finally:
        subscriber.client.disconnect()
        subscriber.client.loop_stop()
        bridge.terminate()
        bridge.wait(timeout=30)

    unique = set(received)
    lost = len(accepted - unique)
    conn = "close" if args.close else "keep-alive"
    print(f"\n{'phase':<12}{'conn':<11}{'reqs':>6}{'published':>10}{'spooled':>9}{'errors':>7}"
          f"{'req/s':>9}{'p50':>7}{'p90':>7}{'p99':>7}{'max':>7}  (ms)\n{row(up, conn)}\n"
          f"{row(down, conn)}")
    for phase in (up, down):
        for outcome, n in sorted(phase.outcomes.items()):
            if outcome not in ACCEPTED:
                print(f"  {phase.name}: {n} answered {outcome}")
    print(f"replay      {backlog} spooled; reconnected " + (
        "never" if reconnect is None else f"{reconnect:.2f} s after the broker restart") + (
        ", spool not empty at the deadline" if drain is None else
        f", spool empty {drain:.2f} s later ({backlog / max(drain, 1e-3):.0f} events/s)"))
    print(f"delivery    {len(accepted)} accepted, {len(unique)} received, "
          f"{len(received) - len(unique)} duplicates, lost: {lost}")
    return 1 if lost or up.errors or down.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="webhooks per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--close", action="store_true",
                        help="a new connection per request (Connection: close, like the arrs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" is the point
    with tempfile.TemporaryDirectory(prefix="arrsync-bench-") as tmp:
        broker = LocalBroker(Path(tmp) / "mosquitto")
        broker.start()
        (Path(tmp) / "spool").mkdir()
        try:
            return benchmark(args, broker, Path(tmp) / "spool" / "spool.db")
        finally:
            broker.stop()


if __name__ == "__main__":
    sys.exit(main())
