"""`make bench-growth`: what catch-up, the audit and the job store cost as the library grows,
each beside its floor measured in the same run (docs/performance.md).

Not a pytest test. From the project root:
    .venv/bin/python -m tests.benchmarks.bench_growth [--quick] [--code DIR] [--only PART]
`--code` measures another tree of the project (an older commit: `git archive COMMIT | tar -x
-C DIR`), run with this checkout's venv and stand-in arr. Real processes (`python -m bridge`,
`python -m syncer`) on loopback, a private Mosquitto, real rsync; a stand-in Radarr and
Sonarr answer as the real ones do. Prints the tables with the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import bench_growth_arrs as arrs
from tests.benchmarks import bench_growth_jobs as jobs
from tests.benchmarks.bench_growth_runs import REPO, machine
from tests.benchmarks.report import TIMES

FULL = {"catch_up": [1_000, 10_000, 50_000],
        "audit": [(1_000, 2_000), (10_000, 20_000), (50_000, 100_000)],
        "cpu": [1_000, 10_000, 100_000], "store": 10_000, "imports": 20}
QUICK = {"catch_up": [1_000, 10_000], "audit": [(1_000, 2_000), (10_000, 20_000)],
         "cpu": [1_000, 10_000, 100_000], "store": 10_000, "imports": 10}
PARTS = ("catch_up", "audit", "cpu", "store")


def log(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def catch_up_table(code: Path, root: Path, sizes: list[int]) -> list[str]:
    lines = ["| history records | catch-up | bridge peak memory | floor: the spool holding "
             "the same events | floor peak memory |", "|---|---|---|---|---|"]
    for size in sizes:
        log(f"catch-up of {size} records")
        done = arrs.catch_up(code, root / f"catch-up-{size}", size)
        floor = arrs.spool_floor(root / f"catch-up-{size}", size)
        lines.append(f"| {size:,} | {done.seconds:.1f} s | {done.peak_mb:.0f} MB | "
                     f"{floor.seconds:.1f} s | {floor.peak_mb:.0f} MB |")
    return lines


def audit_table(code: Path, root: Path, sizes: list[tuple[int, int]]) -> list[str]:
    lines = ["| movies + episode files | audit | its CPU | audit peak memory | floor: `rsync -a "
             "--dry-run --ignore-existing` | floor peak memory | audit / floor |",
             "|---|---|---|---|---|---|---|"]
    for movies, episodes in sizes:
        log(f"audit of {movies} movies and {episodes} episode files")
        audited, listed = arrs.audit(code, root / f"audit-{movies}", movies, episodes)
        lines.append(f"| {movies:,} + {episodes:,} | {audited.seconds:.2f} s | "
                     f"{audited.cpu_s or 0:.2f} s | {audited.peak_mb:.0f} MB | "
                     f"{listed.seconds:.2f} s | "
                     f"{listed.peak_mb:.0f} MB | {audited.seconds / listed.seconds:.1f}{TIMES} |")
    return lines


def cpu_table(code: Path, root: Path, sizes: list[int], imports: int) -> list[str]:
    lines = ["| finished jobs kept | syncer CPU per import | floor: the daily-statistics "
             "query alone |", "|---|---|---|"]
    for size in sizes:
        log(f"syncer CPU per import with {size} jobs kept")
        cpu_ms, query_ms = jobs.cpu_per_import(code, root / f"cpu-{size}", size, imports)
        lines.append(f"| {size:,} | {cpu_ms:.1f} ms | {query_ms:.2f} ms |")
    return lines


def store_table(code: Path, root: Path, count: int) -> list[str]:
    log(f"syncer.db with {count} jobs, then half pruned")
    before, after = jobs.prune_half(code, root / "store", count)
    return ["| syncer.db with its WAL | before pruning | after pruning half |",
            "|---|---|---|", f"| {count:,} jobs | {before:.1f} MB | {after:.1f} MB |"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller sizes only")
    parser.add_argument("--code", type=Path, default=REPO, help="the project tree to measure")
    parser.add_argument("--only", choices=PARTS, action="append", help="one part (repeatable)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    code = args.code.resolve()
    print(f"machine: {machine()}")
    print(f"code: {code}{' (quick sizes)' if args.quick else ''}")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="arrsync-growth-") as tmp:
        root = Path(tmp)
        for part in args.only or PARTS:
            if part == "catch_up":
                lines = catch_up_table(code, root, sizes["catch_up"])
            elif part == "audit":
                lines = audit_table(code, root, sizes["audit"])
            elif part == "cpu":
                lines = cpu_table(code, root, sizes["cpu"], sizes["imports"])
            else:
                lines = store_table(code, root, sizes["store"])
            print("\n" + "\n".join(lines), flush=True)
    print(f"\nload average at the end: {machine().rsplit('load average ', 1)[1]}; "
          f"{time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
