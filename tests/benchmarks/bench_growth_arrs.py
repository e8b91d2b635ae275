"""The growth benchmark's work against the arrs (a stand-in serving the documented shapes):
catch-up after an outage beside the spool holding the same events, and the audit of a large
library beside `rsync -a --dry-run --ignore-existing` of the same tree."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.arr_standin import StandInArr
from tests.benchmarks.bench_growth_runs import (
    Measured,
    broker_at,
    environment,
    module,
    peak_mb,
    python,
    run,
)
from tools.localbroker import LocalBroker, free_port

KEY = "b" * 32
ENVELOPE_BYTES = 3000  # about what a replayed Radarr import weighs in the spool
SPOOL_FLOOR = """
import sys, uuid
from pathlib import Path
from bridge.outbox.spool import Spool, SpooledEvent
spool = Spool(Path(sys.argv[1]))
body = "x" * int(sys.argv[3])
for n in range(int(sys.argv[2])):
    spool.add(SpooledEvent(uuid.uuid4().hex, "bench/events/radarr/Download", body))
assert spool.count() == int(sys.argv[2])
"""


def config(root: Path, broker: LocalBroker, **sections: Any) -> Path:
    path = root / "arrsync.yml"
    path.write_text(yaml.safe_dump({"log_level": "WARNING", "mqtt": {
        "host": "127.0.0.1", "port": broker.port, "base_topic": f"growth-{root.name}"},
        **sections}))
    return path


def catch_up(code: Path, root: Path, records: int) -> Measured:
    """A bridge that was down while Radarr imported `records` movies: from its start until
    its catch-up has replayed them all (each spooled, then published)."""
    root.mkdir(parents=True)
    now = datetime.now(UTC).timestamp()
    with StandInArr("radarr", KEY) as radarr, broker_at(root / "mosquitto") as broker:
        for n in range(records):
            movie = radarr.add_movie(f"Movie {n}", 2000, f"/movies/Movie {n}/Movie {n}.mkv",
                                     1000 + n)
            radarr.record_movie_import(
                movie, datetime.fromtimestamp(now - 3600 + 3500 * n / records, UTC))
        spool = root / "spool.db"
        with sqlite3.connect(spool) as db:  # the cursor the bridge left when it went down
            db.execute("CREATE TABLE catch_up_cursor (arr TEXT PRIMARY KEY, since REAL NOT "
                       "NULL, floor REAL NOT NULL)")
            db.execute("INSERT INTO catch_up_cursor VALUES ('Radarr', ?, ?)",
                       (now - 7200, now - 7200))
        port = free_port()
        path = config(root, broker, bridge={"host": "127.0.0.1", "port": port,
                                            "spool_path": str(spool)},
                      arrs=[{"name": "Radarr", "app": "radarr", "url": radarr.url,
                             "api_key": KEY}], catch_up={"interval": 86400})
        log = (root / "bridge.log").open("wb")
        began = time.perf_counter()
        bridge = subprocess.Popen(module("bridge", "--config", str(path)), cwd=code,
                                  env=environment(code), stdout=log, stderr=subprocess.STDOUT)
        try:
            replayed = wait_replayed(port, bridge, records)
            seconds = time.perf_counter() - began
            peak = peak_mb(bridge.pid)
        finally:
            bridge.terminate()
            bridge.wait(60)
    if replayed != records:
        raise RuntimeError(f"catch-up replayed {replayed} of {records}; see {root}")
    return Measured(seconds, peak, 0, "")


def wait_replayed(port: int, bridge: subprocess.Popen[bytes], records: int,
                  timeout: float = 1800) -> int:
    """The bridge's `/health` until its catch-up read the history whole."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bridge.poll() is not None:
            raise RuntimeError(f"the bridge exited with {bridge.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                state = json.load(answer)
        except OSError:
            state = {}
        if "payload" in state:
            state = state["payload"]
        arr = (state.get("catch_up") or {}).get("Radarr") or {}
        if arr.get("last_error"):
            raise RuntimeError(f"catch-up failed: {arr['last_error']}")
        if arr.get("last_read"):
            return int(arr["replayed"])
        time.sleep(0.2)  # polling /health: the figure is in seconds
    raise TimeoutError("catch-up did not end")


def spool_floor(root: Path, records: int) -> Measured:
    """The floor: one process spooling the same number of events, one commit each."""
    root.mkdir(parents=True, exist_ok=True)
    return run(python(SPOOL_FLOOR, str(root / "floor-spool.db"), str(records),
                      str(ENVELOPE_BYTES)), Path.cwd(), root / "floor.log")


# -- the audit ---------------------------------------------------------------------------------
def library(root: Path, movies: int, episodes: int, per_series: int = 20
            ) -> tuple[Path, list[tuple[str, Path, Path]]]:
    """Files at the destinations (empty: the audit compares sizes) and their mappings."""
    dest, source = root / "dest", root / "source"
    for name in ("movies", "tv"):
        (source / name).mkdir(parents=True)
    for n in range(movies):
        folder = dest / "movies" / f"Movie {n:06d} (2000)"
        folder.mkdir(parents=True)
        (folder / f"Movie {n:06d} (2000).mkv").touch()
    for s in range(episodes // per_series):
        season = dest / "tv" / f"Show {s:05d}" / "Season 01"
        season.mkdir(parents=True)
        for e in range(per_series):
            (season / f"Show {s:05d} - S01E{e + 1:02d}.mkv").touch()
    return dest, [(name, source / name, dest / name) for name in ("movies", "tv")]


def stock(radarr: StandInArr, sonarr: StandInArr, movies: int, episodes: int,
          per_series: int = 20) -> None:
    for n in range(movies):
        name = f"Movie {n:06d} (2000)"
        radarr.add_movie(name, 2000, f"/movies/{name}/{name}.mkv", 0)
    for s in range(episodes // per_series):
        series = sonarr.add_series(f"Show {s:05d}", f"/tv/Show {s:05d}")
        for e in range(per_series):
            sonarr.add_episode_file(series, f"Season 01/Show {s:05d} - S01E{e + 1:02d}.mkv",
                                    0, [(1, e + 1)])


def audit(code: Path, root: Path, movies: int, episodes: int) -> tuple[Measured, Measured]:
    """`arrsync-syncer audit` of the whole library, and the rsync listing of the same tree."""
    root.mkdir(parents=True)
    dest, mappings = library(root, movies, episodes)
    with StandInArr("radarr", KEY) as radarr, StandInArr("sonarr", KEY) as sonarr, \
            broker_at(root / "mosquitto") as broker:
        stock(radarr, sonarr, movies, episodes)
        path = config(root, broker, syncer={
            "state_path": str(root / "syncer.db"),
            "mappings": [{"name": name, "arr_path": f"/{name}", "source": str(source),
                          "dest": str(target)} for name, source, target in mappings]},
            arrs=[{"name": "Radarr", "app": "radarr", "url": radarr.url, "api_key": KEY},
                  {"name": "Sonarr", "app": "sonarr", "url": sonarr.url, "api_key": KEY}])
        audited = run(module("syncer", "audit", "--config", str(path)), code,
                      root / "audit.log")
    expected = [f"{movies} files, {movies} present", f"{episodes} files, {episodes} present"]
    if audited.returncode or not all(text in audited.output for text in expected):
        raise RuntimeError(f"the audit did not find every file present: {audited.output}")
    mirror = root / "mirror"
    subprocess.run(["cp", "-al", str(dest), str(mirror)], check=True)
    listed = run([shutil.which("rsync") or "rsync", "-a", "--dry-run", "--ignore-existing",
                  "--", f"{dest}/", f"{mirror}/"], code, root / "rsync.log")
    return audited, listed
