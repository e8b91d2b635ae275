"""The growth benchmark's work on the job store: the syncer's CPU per import with many
finished jobs kept, beside the daily-statistics query alone, and the store's size before
and after pruning half of its jobs. The store is filled by the code tree measured."""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.benchmarks.bench_growth_arrs import config
from tests.benchmarks.bench_growth_runs import (
    broker_at,
    environment,
    module,
    python,
    run,
    size_mb,
)
from tests.benchmarks.stack import cpu_seconds, wait_complete, write_file
from tests.helpers import import_envelope

DAY = 86400.0
# Finished copy jobs over the last `days` days, as many a month of `audit --fix` leaves.
FILL = """
import sys, time
from pathlib import Path
from arrsync.wire.job import JobAction, JobState
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
path, count, days = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
now = time.time()
store = JobStore(path)
for start in range(0, count, 5000):
    jobs = []
    for n in range(start, min(count, start + 5000)):
        at = now - days * 86400 * (n + 1) / (count + 1)
        jobs.append(Job(id=f"old{n}", trigger=None, app="radarr", instance=None,
                        title=f"Old {n}", download_id=None, mapping="Movies",
                        paths=[f"/movies/Old {n}/Old {n}.mkv"], state=JobState.SUCCEEDED,
                        action=JobAction.COPY, bytes=1000 + n, files=1, duration_s=1.0,
                        created_at=at, updated_at=at))
    store.add(None, jobs, now)
store.close()
"""
PRUNE = """
import sys
from pathlib import Path
from syncer.jobs.store import JobStore
store = JobStore(Path(sys.argv[1]))
print(store.prune(float(sys.argv[2])))
store.close()
"""
# What History.daily reads: the scan of 30 days of jobs, or the sums kept per day.
SCAN = ("SELECT date(updated_at, 'unixepoch', 'localtime') AS day, mapping, count(*), "
        "sum(bytes), total(duration_s) FROM jobs WHERE state = 'succeeded' "
        "AND action IN ('copy', 'replace') AND updated_at >= ? GROUP BY day, mapping")
SUMS = ("SELECT day, mapping, count, bytes, seconds FROM daily_copies "
        "WHERE day >= date(?, 'unixepoch', 'localtime') AND count > 0")


def fill(code: Path, path: Path, count: int, days: float, log: Path) -> None:
    filled = run(python(FILL, str(path), str(count), str(days)), code, log)
    if filled.returncode:
        raise RuntimeError(f"filling the store failed: {filled.output}")


def daily_query_ms(path: Path) -> float:
    """The query the code tree's statistics run at each publish, alone (median of 5)."""
    with sqlite3.connect(path) as db:
        kept = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'daily_copies'").fetchone()
        query = SUMS if kept else SCAN
        times = []
        for _ in range(5):
            began = time.perf_counter()
            db.execute(query, (time.time() - 30 * DAY,)).fetchall()
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


class Stats:
    """The syncer's retained statistics, to know when an import's publish went out."""

    def __init__(self, port: int, base: str) -> None:
        self.topic = f"{base}/syncer/stats"
        self.online = threading.Event()
        self.seen: list[dict[str, object]] = []
        self.changed = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(self.topic, 1), (f"{base}/syncer/availability", 1)])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: paho.MQTTMessage) -> None:
        if message.topic != self.topic:
            if message.payload == b"online":
                self.online.set()
            return
        with self.changed:
            self.seen.append(json.loads(message.payload))
            self.changed.notify_all()

    def wait_recent(self, title: str, timeout: float = 60) -> None:
        def shown() -> bool:
            return any(entry.get("title") == title and entry.get("state") == "succeeded"
                       for stats in self.seen[-3:] for entry in stats.get("recent", []))  # type: ignore[union-attr]
        with self.changed:
            if not self.changed.wait_for(shown, timeout):
                raise TimeoutError(f"the statistics never showed {title}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def cpu_per_import(code: Path, root: Path, kept: int, imports: int) -> tuple[float, float]:
    """CPU milliseconds the syncer spends per import (its copy and the statistics it then
    publishes) with `kept` finished jobs in its store; and the daily query alone."""
    root.mkdir(parents=True)
    store = root / "syncer.db"
    fill(code, store, kept, 29, root / "fill.log")
    query_ms = daily_query_ms(store)
    source, dest = root / "source", root / "dest"
    dest.mkdir()
    with broker_at(root / "mosquitto") as broker:
        path = config(root, broker, syncer={
            "state_path": str(store), "client_id": f"growth-{root.name}",
            "free_space_margin": 0, "mappings": [{"name": "Movies", "arr_path": "/movies",
                                                  "source": str(source), "dest": str(dest)}]})
        base = f"growth-{root.name}"
        stats = Stats(broker.port, base)
        syncer = subprocess.Popen(module("syncer", "--config", str(path)), cwd=code,
                                  env=environment(code), stdout=(root / "syncer.log").open("wb"),
                                  stderr=subprocess.STDOUT)
        publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        try:
            if not stats.online.wait(60):
                raise RuntimeError(f"the syncer did not come online; see {root}")
            cpu = []
            for n in range(imports + 1):  # the first warms up (imports, rsync's first run)
                name = f"New {n}"
                write_file(source / name / f"{name}.mkv", 4096)
                before = cpu_seconds(syncer.pid)
                publisher.publish(f"{base}/events/radarr/Download", import_envelope(
                    f"growth-{n}", [f"/movies/{name}/{name}.mkv"], name), qos=1)
                wait_complete(dest / name / f"{name}.mkv", 4096, 60)
                stats.wait_recent(name)
                if n:
                    cpu.append(cpu_seconds(syncer.pid) - before)
        finally:
            publisher.disconnect()
            publisher.loop_stop()
            stats.close()
            syncer.terminate()
            syncer.wait(60)
    return sum(cpu) / len(cpu) * 1000, query_ms  # CPU time counts in 10 ms ticks: the mean


def prune_half(code: Path, root: Path, count: int) -> tuple[float, float]:
    """syncer.db (with its WAL) in MB when filled with `count` jobs, and after pruning the
    older half."""
    root.mkdir(parents=True)
    store = root / "syncer.db"
    fill(code, store, count, 20, root / "fill.log")
    before = size_mb(store)
    pruned = run(python(PRUNE, str(store), str(time.time() - 10 * DAY)), code,
                 root / "prune.log")
    if pruned.returncode or abs(int(pruned.output.split()[-1]) - count // 2) > count // 100:
        raise RuntimeError(f"the prune did not remove half: {pruned.output}")
    return before, size_mb(store)
