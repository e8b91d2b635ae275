"""`make soak`: a compressed day of a real home against the real stack, for N minutes.

Imports of movies with subtitles, season packs and 4K, upgrades under a new and the same
name, renames, deletes, manual requests and a source file that arrives late, while the
broker restarts, the syncer and the bridge are SIGKILLed mid-copy and the 4K destination
fills up and is freed. At the end every expected file must be byte-identical at its
destination, nothing must be there that should not, and no job may be stuck; it prints
latency percentiles, rsync runs per import, CPU per import and each process's memory over
time, and writes `.run/soak.json`. Exit status 0 only with 0 lost, 0 wrong, 0 stuck.

    python -m tests.soak.run --minutes 60
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.soak.home import Home
from tests.soak.stack import Stack

CHAOS = ("broker", "syncer", "bridge", "full disk")
WEIGHTS = {"movie": 30, "season": 14, "movie 4K": 8, "season 4K": 4, "upgrade": 8,
           "same-name upgrade": 5, "rename": 8, "delete": 5, "request": 5, "late": 3}


def post(port: int, app: str, payload: dict[str, Any], deadline: float) -> str | None:
    """POST a webhook; while the bridge is down (a kill), try again until it is back."""
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", f"/webhook/{app}", json.dumps(payload),
                               {"Content-Type": "application/json"})
            answer = connection.getresponse()
            body = json.loads(answer.read())
            connection.close()
            if answer.status == 200:
                return str(body["id"])
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.5)  # the bridge restarts: a pause between tries, as a client waits
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--root", type=Path, default=Path(".run/soak"))
    args = parser.parse_args()
    shutil.rmtree(args.root, ignore_errors=True)
    args.root.mkdir(parents=True)
    root = args.root.resolve()
    rng = random.Random(args.seed)
    home = Home(root, rng)
    for mapping in home.mappings():
        Path(mapping["source"]).mkdir(parents=True)
        Path(mapping["dest"]).mkdir(parents=True)
    four_k = Path(home.mappings()[1]["dest"])
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2g", "arrsync-soak", str(four_k)],
        check=False).returncode == 0
    stack = Stack(root, home.mappings())
    stack.start()
    began = time.monotonic()
    end = began + args.minutes * 60
    posted: dict[str, float] = {}  # event id → when it was answered (for latency)
    late: list[tuple[float, str]] = []
    memory: list[dict[str, Any]] = []
    counts: dict[str, int] = dict.fromkeys(WEIGHTS, 0)
    chaos_every = max(60.0, args.minutes * 60 / 24)
    next_chaos, next_sample = began + chaos_every / 2, began
    chaos_done: list[str] = []
    free_at = 0.0
    try:
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                memory.append({"minute": round((now - began) / 60, 1), **stack.rss()})
                next_sample = now + 30
            for due, path in [item for item in late if item[0] <= now]:
                home.late_file(path)
                late.remove((due, path))
            if free_at and now >= free_at:
                (four_k / "filler").unlink(missing_ok=True)
                free_at = 0.0
            if now >= next_chaos:
                done, free_at = chaos(stack, CHAOS[len(chaos_done) % len(CHAOS)], four_k,
                                      mounted)
                chaos_done.append(done)
                next_chaos = now + chaos_every
            kind = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
            made = act(home, stack, kind, late)
            if made:
                counts[kind] += 1
                event = post(stack.port, *made, deadline=end + 120)
                if event and kind not in ("late",):
                    posted[event] = time.monotonic()
            time.sleep(rng.expovariate(1 / 1.5))  # the pace of the home, not a wait
        for _due, path in late:
            home.late_file(path)
        (four_k / "filler").unlink(missing_ok=True)
        drained = drain(stack, deadline=time.monotonic() + 600)
        report = verify(home, stack, root, posted, memory, counts, chaos_done, drained,
                        args.minutes)
    finally:
        stack.stop()
        if mounted:
            subprocess.run(["umount", "-l", str(four_k)], check=False)
    print_report(report)
    Path(".run/soak.json").write_text(json.dumps(report, indent=2))
    return 0 if report["lost"] == report["wrong"] == report["extra"] == report["stuck"] == 0 \
        else 1


def act(home: Home, stack: Stack, kind: str, late: list[tuple[float, str]]
        ) -> tuple[str, dict[str, Any]] | None:
    if kind == "movie":
        return home.movie()
    if kind == "movie 4K":
        return home.movie(four_k=True)
    if kind == "season":
        return home.season_pack()
    if kind == "season 4K":
        return home.season_pack(four_k=True)
    if kind in ("upgrade", "same-name upgrade"):
        return home.upgrade(same_name=kind != "upgrade")
    if kind == "rename":
        return home.rename()
    if kind == "delete":
        return home.delete()
    if kind == "late":
        made = home.movie(late=True)
        late.append((time.monotonic() + 8, made[1]["movieFile"]["path"]))
        return made
    folders = [f for f in home.movies if home.source(home.movies[f][0]).exists()]
    if folders:  # a manual request for a whole folder, as a person sends one
        subprocess.run(["mosquitto_pub", "-p", str(stack.broker.port), "-q", "1", "-t",
                        f"{stack.base}/sync/request", "-m", home.rng.choice(folders)],
                       check=False, timeout=30)
    return None


def chaos(stack: Stack, kind: str, four_k: Path, mounted: bool) -> tuple[str, float]:
    """One upset while the imports go on; returns what it was and, for a full disk, when it
    is freed again (0: nothing to undo)."""
    started = [s for _t, s in stack.seen()[-50:] if s.get("state") == "started"]
    free_at = 0.0
    if kind == "broker":
        stack.restart_broker()
    elif kind in ("syncer", "bridge"):
        stack.kill(kind)  # mid-copy when one runs: the copies are seconds long
    elif mounted:  # all but 1 MB: a copy under way runs out of space mid-file
        stats = os.statvfs(four_k)
        free = stats.f_bavail * stats.f_frsize - 1_000_000
        done = subprocess.run(["fallocate", "-l", str(max(free, 1)), str(four_k / "filler")],
                              check=False).returncode == 0
        kind = f"full disk ({'filled' if done else 'NOT filled'})"
        free_at = time.monotonic() + 30  # imports go on meanwhile: held, then resumed
    return f"{kind} ({len(started)} recent starts)", free_at


def drain(stack: Stack, deadline: float) -> bool:
    """Wait until nothing is queued, retrying or running, twice in a row."""
    calm = 0
    while time.monotonic() < deadline:
        state = stack.summary()
        busy = state is None or any(state.get(k) for k in ("queued", "retrying", "running"))
        calm = 0 if busy else calm + 1
        if calm >= 2:
            return True
        time.sleep(5)  # polling the retained summary, with a deadline
    return False


def verify(home: Home, stack: Stack, root: Path, posted: dict[str, float],
           memory: list[dict[str, Any]], counts: dict[str, int], chaos_done: list[str],
           drained: bool, minutes: float) -> dict[str, Any]:
    lost = sorted(p for p in home.expected if not home.dest(p).exists())
    wrong = sorted(p for p in home.expected if home.dest(p).exists()
                   and home.dest(p).read_bytes() != home.source(p).read_bytes())
    present = {"/" + str(p.relative_to(root / "dst")) for p in (root / "dst").rglob("*")
               if p.is_file() and ".arrsync-" not in str(p) and p.name != "filler"}
    extra = sorted(present - home.expected)
    with sqlite3.connect(root / "data" / "syncer.db") as db:
        stuck = db.execute("SELECT count(*) FROM jobs WHERE state IN "
                           "('queued', 'started', 'retrying')").fetchone()[0]
        failed = db.execute("SELECT count(*) FROM jobs WHERE state = 'failed'").fetchone()[0]
    done_at = {s["trigger"]: t for t, s in stack.seen() if s["state"] in ("succeeded",)}
    latencies = sorted(done_at[e] - t for e, t in posted.items() if e in done_at)
    imports = sum(counts[k] for k in ("movie", "season", "movie 4K", "season 4K", "late"))
    def pct(q: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) \
            if latencies else None
    return {
        "minutes": minutes, "events": counts, "imports": imports, "chaos": chaos_done,
        "drained": drained, "lost": len(lost), "wrong": len(wrong), "extra": len(extra),
        "stuck": stuck, "failed": failed, "examples": {"lost": lost[:5], "wrong": wrong[:5],
                                                      "extra": extra[:5]},
        "latency_s": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99),
                      "max": round(latencies[-1], 2) if latencies else None,
                      "mean": round(statistics.fmean(latencies), 2) if latencies else None},
        "rsync_runs_per_import": round(stack.rsync_runs() / max(imports, 1), 2),
        "cpu_ms_per_event": round(stack.cpu() * 1000 / max(sum(counts.values()), 1), 1),
        "memory_mb": memory,
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"soak: {report['minutes']} min, {sum(report['events'].values())} events "
          f"({report['imports']} imports), chaos: {', '.join(report['chaos'])}")
    print(f"lost {report['lost']}, wrong {report['wrong']}, extra {report['extra']}, "
          f"stuck {report['stuck']}, failed {report['failed']}, drained {report['drained']}")
    print("latency (s, webhook answered → job succeeded): " + ", ".join(
        f"{k} {v}" for k, v in report["latency_s"].items()))
    print(f"rsync runs per import {report['rsync_runs_per_import']}, CPU per event "
          f"{report['cpu_ms_per_event']} ms (bridge + syncer)")
    print("memory (MB RSS):")
    for sample in report["memory_mb"][:: max(1, len(report["memory_mb"]) // 12)]:
        print(f"  {sample['minute']:>6} min  " + "  ".join(
            f"{k} {v:.1f}" for k, v in sample.items() if k != "minute"))


if __name__ == "__main__":
    raise SystemExit(main())
