"""The floors the benchmark compares arrsync with, measured in the same run on the same files:
a bare `rsync -a`, one bare rsync over a list of files, a full `rsync -a --ignore-existing`
pass, and a bare Flask + waitress app that only commits each body to SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.stack import cpu_seconds, post_burst, wait_all, wait_complete
from tools.localbroker import free_port, port_is_open

RSYNC = shutil.which("rsync") or "rsync"


def bare_rsync(source: Path, dest_dir: Path, size: int) -> float:
    """Seconds from spawning `rsync -a SOURCE DEST_DIR/` until the copy is whole."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    process = subprocess.Popen([RSYNC, "-a", "--", str(source), f"{dest_dir}/"])
    done = wait_complete(dest_dir / source.name, size)
    process.wait()
    if process.returncode:
        raise RuntimeError(f"bare rsync failed with exit {process.returncode}")
    return done - began


def bare_rsync_list(source_root: Path, relatives: list[str], dest_root: Path, size: int
                    ) -> float:
    """Seconds from spawning one `rsync -a --files-from` over the list until all are whole."""
    dest_root.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    process = subprocess.Popen([RSYNC, "-a", "--files-from=-", "--from0", "--",
                                f"{source_root}/", f"{dest_root}/"], stdin=subprocess.PIPE)
    assert process.stdin
    process.stdin.write(b"".join(r.encode() + b"\0" for r in relatives))
    process.stdin.close()
    done = wait_all([dest_root / r for r in relatives], size, 120, lambda: 0.001)
    process.wait()
    return done - began


def full_pass(source_root: Path, dest_root: Path) -> float:
    """Seconds a whole `rsync -a --ignore-existing` pass over the library takes."""
    began = time.perf_counter()
    subprocess.run([RSYNC, "-a", "--ignore-existing", "--", f"{source_root}/", f"{dest_root}/"],
                   check=True)
    return time.perf_counter() - began


def make_library(source_root: Path, dest_root: Path, files: int, per_folder: int = 5) -> None:
    """`files` small files, `per_folder` to a movie folder, at the source and already synced."""
    block = os.urandom(1024)
    for n in range(files // per_folder):
        folder = source_root / f"Movie {n:05d} (2000)"
        folder.mkdir(parents=True)
        (folder / f"Movie {n:05d} (2000).mkv").write_bytes(block)
        for extra in ("nfo", "en.srt", "fr.srt", "jpg")[: per_folder - 1]:
            (folder / f"Movie {n:05d} (2000).{extra}").write_bytes(block[:256])
    dest_root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", f"{source_root}/.", f"{dest_root}/"], check=True)


def floor_app_rate(bodies: list[bytes], clients: int, threads: int) -> tuple[float, float]:
    """Webhooks per second the bare Flask + waitress + SQLite app accepts, and the CPU time
    (ms) it spends on one."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="arrsync-floor-") as tmp:
        server = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.floor_app",
                                   str(port), str(Path(tmp) / "floor.db"), str(threads)])
        try:
            deadline = time.monotonic() + 20
            while not port_is_open(port):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the floor app did not start")
                time.sleep(0.02)
            post_burst(port, bodies[:16], clients)  # warm up: imports, first connections
            cpu_before = cpu_seconds(server.pid)
            began, last, statuses = post_burst(port, bodies, clients)
            cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / len(bodies)
        finally:
            server.terminate()
            server.wait(10)
    if any(status != 200 for status in statuses):
        raise RuntimeError("the floor app refused requests")
    return len(bodies) / (last - began), cpu_ms
