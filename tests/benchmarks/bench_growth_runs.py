"""What `make bench-growth` runs its processes with: the code tree to measure (the checkout,
or another one such as an older commit unpacked with `git archive`), the time and peak
memory of a process, and the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.localbroker import LocalBroker

REPO = Path(__file__).resolve().parents[2]
TIME = "/usr/bin/time"  # GNU time (Debian package: time)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float  # the most resident memory the process had (VmHWM, ru_maxrss)
    returncode: int
    output: str
    cpu_s: float | None = None  # user and system time of the process, when run to its end


def environment(code: Path) -> dict[str, str]:
    """Python finds the packages of `code` first (bridge, syncer, arrsync)."""
    return {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}


def run(argv: list[str], code: Path, log: Path, timeout: float = 1800) -> Measured:
    """Run to its end under GNU time, for its peak memory: the kernel's own figure for a
    child started from this (large) process would count this process's memory too."""
    peak = log.with_suffix(".peak")
    with log.open("wb") as out:
        began = time.perf_counter()
        process = subprocess.run([TIME, "-f", "%M %U %S", "-o", str(peak), *argv], cwd=code,
                                 env=environment(code), stdout=out, stderr=subprocess.STDOUT,
                                 timeout=timeout, check=False)
        seconds = time.perf_counter() - began
    kb, user, system = peak.read_text().split()[-3:]
    return Measured(seconds, int(kb) / 1024, process.returncode, log.read_text(errors="replace"),
                    float(user) + float(system))


def python(script: str, *args: str) -> list[str]:
    """argv of the venv's Python running `script` (text) in the code tree."""
    return [sys.executable, "-c", script, *args]


def module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    memory = next((int(line.split()[1]) // 1024
                   for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return (f"{model}, {os.cpu_count()} cores, {memory} MB, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; load average {load}")


def size_mb(path: Path) -> float:
    """A SQLite file with its WAL, as it takes space on the disk."""
    total = 0
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            total += part.stat().st_size
    return total / 1e6


@contextmanager
def broker_at(folder: Path) -> Iterator[LocalBroker]:
    """A private Mosquitto for one measurement."""
    broker = LocalBroker(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
