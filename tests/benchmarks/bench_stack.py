"""`make bench`: the whole arrsync stack against a bare rsync, each floor measured in the same run.

Not a pytest test. From the project root (`make bench` runs it with --runs 3):
    .venv/bin/python -m tests.benchmarks.bench_stack [--runs 1] [--json .run/bench.json]
A private Mosquitto and real `arrsync-bridge` and `arrsync-syncer` processes run on loopback
over temporary folders; webhooks go over HTTP; a file counts when it is whole under its final
name at the destination. Prints the table of docs/performance.md and writes it as JSON.
Exit 1 if a file did not land intact or a webhook was refused; targets missed only show.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks import floors
from tests.benchmarks.report import TIMES, Figure, combine, cpu_summary, table
from tests.benchmarks.stack import (
    FIXTURE,
    Mapping,
    Stack,
    Webhooks,
    cpu_seconds,
    post_burst,
    rss_mb,
    wait_all,
    wait_complete,
    write_file,
)

SMALL = 64 * 1024
BIG = 1024**3
BURST = 400
CLIENTS = 16
LIBRARY_FILES = 50_000


def log(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def digest(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def import_latency(stack: Stack, hooks: Webhooks, mapping: Mapping, relative: str,
                   size: int) -> float:
    """Seconds from the start of the webhook POST until the file is whole at the destination."""
    began = time.perf_counter()
    status = hooks.post(f"{mapping.arr_path}/{relative}")
    if status not in (200, 202):
        raise RuntimeError(f"the bridge answered {status}")
    return wait_complete(mapping.dest_of(relative), size) - began


def latency(stack: Stack, hooks: Webhooks, movies: Mapping, root: Path, samples: int
            ) -> Figure:
    log(f"latency: {samples} single imports of {SMALL // 1024} KB, each next to a bare rsync")
    ours, bare = [], []
    for n in range(samples):
        relative = f"Latency {n:03d} (2001)/Latency {n:03d}.mkv"
        write_file(movies.source_of(relative), SMALL)
        ours.append(import_latency(stack, hooks, movies, relative, SMALL))
        time.sleep(0.2)  # spacing: rsync exits and the job finishes before the next sample
        source = write_file(root / "bare" / f"single-{n}" / "film.mkv", SMALL)
        bare.append(floors.bare_rsync(source, root / "bare-dest" / f"single-{n}", SMALL))
        time.sleep(0.1)
    p50, floor = statistics.median(ours), statistics.median(bare)
    return Figure("webhook POST → 64 KB file complete, p50", p50 * 1000, floor * 1000,
                  p50 / floor, f"≤ 2{TIMES}", p50 / floor <= 2, "ms", {
                      "arrsync_ms": sorted(round(s * 1000, 2) for s in ours),
                      "bare_rsync_ms": sorted(round(s * 1000, 2) for s in bare),
                      "arrsync_p90_ms": round(sorted(ours)[int(0.9 * len(ours))] * 1000, 2)})


def cpu_so_far(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by the bridge and the syncer, to be differenced."""
    return {name: cpu_seconds(stack.pid(name)) for name in ("bridge", "syncer")}


def cpu_detail(before: dict[str, float], after: dict[str, float], count: int,
               floor_cpu_ms: float) -> dict[str, float]:
    """CPU time (ms) each process spent on one webhook, beside the floor app's: what bounds
    the rate when the processes are busy."""
    detail = {f"{name}_cpu_ms": round((after[name] - before[name]) * 1000 / count, 2)
              for name in before}
    return {**detail, "floor_app_cpu_ms": round(floor_cpu_ms, 2)}


def bridge_rate(stack: Stack, floor: Figure) -> Figure:
    """Webhooks that copy nothing (Grab events: published, ignored by the syncer), so the
    bridge is measured without the syncer's copies competing for the cores."""
    log(f"rate: {BURST} Grab webhooks from {CLIENTS} clients (nothing to copy)")
    grab = (FIXTURE.parent / "grab.json").read_bytes()
    cpu_before = cpu_so_far(stack)
    began, last, statuses = post_burst(stack.port, [grab] * BURST, CLIENTS)
    cpu = cpu_detail(cpu_before, cpu_so_far(stack), BURST,
                     floor.detail["floor_app_cpu_ms"])
    if any(status not in (200, 202) for status in statuses):
        raise RuntimeError("the bridge refused Grab webhooks")
    rate, floor_rate = BURST / (last - began), floor.floor or 1
    return Figure(f"webhooks accepted per second, {CLIENTS} clients, nothing to copy", rate,
                  floor_rate, rate / floor_rate, f"≥ 0.8{TIMES}", rate / floor_rate >= 0.8,
                  "/s", cpu)


def burst(stack: Stack, hooks: Webhooks, movies: Mapping, root: Path
          ) -> tuple[Figure, Figure, Figure]:
    log(f"burst: {BURST} imports from {CLIENTS} clients")
    relatives = [f"Burst {n:03d} (2002)/Burst {n:03d}.mkv" for n in range(BURST)]
    block = os.urandom(SMALL)
    for n, relative in enumerate(relatives):
        write_file(movies.source_of(relative), SMALL, block=n.to_bytes(4, "big") + block[4:])
    bodies = [hooks.body(f"{movies.arr_path}/{r}") for r in relatives]
    dests = [movies.dest_of(r) for r in relatives]
    cpu_before = cpu_so_far(stack)
    began, last, statuses = post_burst(stack.port, bodies, CLIENTS)
    cpu_after = cpu_so_far(stack)
    all_there = wait_all(dests, SMALL, 300, lambda: 0.001)
    refused = [s for s in statuses if s not in (200, 202)]
    intact = sum(digest(movies.source_of(r)) == digest(movies.dest_of(r)) for r in relatives)
    rss = {name: round(rss_mb(stack.pid(name)), 1) for name in ("bridge", "syncer")}
    log("burst floor: one bare rsync of the same files; the bare Flask + SQLite app")
    bare = floors.bare_rsync_list(movies.source, relatives, root / "bare-burst", SMALL)
    tail = max(all_there - last, 0.0)
    rate = BURST / (last - began)
    floor_rate, floor_cpu_ms = floors.floor_app_rate(bodies, CLIENTS, threads=8)
    detail = {"refused": len(refused), "intact": intact, "files": BURST,
              "posting_s": round(last - began, 3), "all_there_after_first_post_s":
              round(all_there - began, 3)}
    return (
        Figure(f"{BURST} imports ({CLIENTS} clients): last answer → all files there", tail,
               bare, tail / bare, f"≤ 3{TIMES}", tail / bare <= 3, "s", detail),
        Figure(f"webhooks accepted per second, {CLIENTS} clients, while copying", rate,
               floor_rate, rate / floor_rate, f"≥ 0.8{TIMES}", rate / floor_rate >= 0.8, "/s",
               cpu_detail(cpu_before, cpu_after, BURST, floor_cpu_ms)),
        Figure("RSS after the burst, bridge / syncer", max(rss.values()), None, None,
               "< 80 MB", max(rss.values()) < 80, "MB", rss),
    )


def library(stack: Stack, hooks: Webhooks, lib: Mapping, samples: int = 5) -> Figure:
    log(f"library: one import vs a full rsync -a --ignore-existing over {LIBRARY_FILES} files")
    floors.full_pass(lib.source, lib.dest)  # warm the caches for both
    passes, ours = [], []
    for n in range(samples):
        relative = f"New {n} (2024)/New {n}.mkv"
        write_file(lib.source_of(f"Pass {n} (2024)/Pass {n}.mkv"), SMALL)
        passes.append(floors.full_pass(lib.source, lib.dest))
        write_file(lib.source_of(relative), SMALL)
        ours.append(import_latency(stack, hooks, lib, relative, SMALL))
        time.sleep(0.2)
    ours_p50, pass_p50 = statistics.median(ours), statistics.median(passes)
    speedup = pass_p50 / ours_p50
    return Figure(f"one import in a {LIBRARY_FILES:,}-file library vs a full pass",
                  ours_p50 * 1000, pass_p50 * 1000, speedup, f"≥ 30{TIMES} faster", speedup >= 30,
                  "ms", {"import_ms": [round(s * 1000, 1) for s in ours],
                         "full_pass_ms": [round(s * 1000, 1) for s in passes]})


def big_file(stack: Stack, hooks: Webhooks, movies: Mapping, root: Path, rounds: int = 4
             ) -> Figure:
    """Imports and bare rsyncs of the same 1 GiB file (hard links), taking turns to go first
    (the disk's writeback and cache favour one place in a round), caches flushed between."""
    log(f"1 GiB: {rounds} imports and {rounds} bare rsyncs, alternating")
    original = write_file(root / "big" / "Big.mkv", BIG)
    ours, bare = [], []

    def ours_once(n: int) -> None:
        relative = f"Big {n} (2024)/Big {n}.mkv"
        movies.source_of(relative).parent.mkdir(parents=True)
        os.link(original, movies.source_of(relative))
        os.sync()
        ours.append(import_latency(stack, hooks, movies, relative, BIG))
        intact = digest(movies.dest_of(relative)) == digest(original)
        movies.dest_of(relative).unlink()
        if not intact:
            raise RuntimeError("the 1 GiB copy is not identical to its source")

    def bare_once(n: int) -> None:
        os.sync()
        bare.append(floors.bare_rsync(original, root / "bare-big" / str(n), BIG))
        (root / "bare-big" / str(n) / "Big.mkv").unlink()

    for n in range(rounds):
        for step in (bare_once, ours_once) if n % 2 == 0 else (ours_once, bare_once):
            step(n)
    p50, floor = statistics.median(ours), statistics.median(bare)
    return Figure("1 GiB file", p50, floor, p50 / floor, f"≤ 1.05{TIMES}", p50 / floor <= 1.05,
                  "s", {"arrsync_s": [round(s, 2) for s in ours],
                        "bare_s": [round(s, 2) for s in bare]})


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    rsync = subprocess.run([floors.RSYNC, "--version"], capture_output=True, text=True,
                           check=False).stdout.split("\n", 1)[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(int(memory) / 1024**2, 1),
            "kernel": platform.release(), "python": platform.python_version(), "rsync": rsync}


def run(args: argparse.Namespace, root: Path) -> tuple[list[Figure], bool]:
    """One run of every figure; (figures, every burst file landed intact)."""
    movies = Mapping("Movies", "/movies", root / "src" / "movies", root / "dst" / "movies")
    lib = Mapping("Library", "/library", root / "src" / "library", root / "dst" / "library")
    for path in (movies.source, movies.dest):
        path.mkdir(parents=True)
    log(f"making a {LIBRARY_FILES}-file library at the source and the destination")
    floors.make_library(lib.source, lib.dest, LIBRARY_FILES)
    load_before = os.getloadavg()
    stack = Stack(root / "stack", [movies, lib])
    stack.start()
    hooks = Webhooks(stack.port)
    try:
        for n in range(3):  # warm up every step once
            relative = f"Warm {n} (2000)/Warm {n}.mkv"
            write_file(movies.source_of(relative), SMALL)
            import_latency(stack, hooks, movies, relative, SMALL)
        figures = [latency(stack, hooks, movies, root, args.samples)]
        burst_figure, rate_figure, rss_figure = burst(stack, hooks, movies, root)
        figures += [burst_figure, rate_figure, bridge_rate(stack, rate_figure),
                    library(stack, hooks, lib),
                    big_file(stack, hooks, movies, root), rss_figure]
    finally:
        stack.stop()
    log(f"load average before {load_before}, after {os.getloadavg()}")
    for figure in figures:
        figure.ratios = [figure.ratio] if figure.ratio is not None else []
    intact = burst_figure.detail["intact"] == BURST and not burst_figure.detail["refused"]
    return figures, intact


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=Path(".run/bench.json"),
                        help="where to write the results")
    parser.add_argument("--samples", type=int, default=25, help="single imports for latency")
    parser.add_argument("--runs", type=int, default=1,
                        help="repeat everything; the table shows medians and each run's ratio")
    args = parser.parse_args()
    runs, intact = [], True
    load = os.getloadavg()
    for n in range(args.runs):
        log(f"run {n + 1} of {args.runs}")
        with tempfile.TemporaryDirectory(prefix="arrsync-bench-") as tmp:
            figures, landed = run(args, Path(tmp))
        runs.append(figures)
        intact = intact and landed
    figures = combine(runs) if args.runs > 1 else runs[0]
    load_after = os.getloadavg()
    result = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
              "load_before": load, "load_after": load_after,
              "figures": [f.__dict__ for f in figures],
              "runs": [[f.__dict__ for f in run_figures] for run_figures in runs]}
    print(table(figures))
    print(f"\n{cpu_summary(runs)}")
    print(f"\nmachine: {result['machine']}\nload average (1, 5, 15 min) before "
          f"{tuple(round(x, 2) for x in load)}, after "
          f"{tuple(round(x, 2) for x in load_after)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    log(f"written to {args.json}")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
