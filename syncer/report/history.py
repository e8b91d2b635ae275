"""What the syncer has synced over time: the counters and the daily history behind
`<base>/syncer/stats`.

Both live in the job store's SQLite file, read and written through a connection of their
own (WAL lets it read while the engine writes). The history is the sums per day of the
finished jobs the store keeps (`syncer.keep_finished_days`), kept as jobs end
(`syncer/jobs/sums.py`), so reading it costs the same at 100,000 jobs as at 1,000; the
counters are a table of their own that only grows, so pruning old jobs never lowers a
Prometheus counter. Days and weeks are local time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from arrsync.sqlitefile import transaction
from arrsync.wire.job import FINISHED, JobAction, JobState, JobStatus
from arrsync.wire.statistics import (
    DURATION_BUCKETS,
    HISTORY_DAYS,
    DayTotal,
    DurationHistogram,
    MappingPeriods,
    MappingTotals,
    Tally,
)
from syncer.jobs.sums import SINCE

SCHEMA = """
CREATE TABLE IF NOT EXISTS stats_counters (
    mapping TEXT NOT NULL,
    name    TEXT NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (mapping, name)
)
"""
_ADD = ("INSERT INTO stats_counters (mapping, name, value) VALUES (?, ?, ?) "
        "ON CONFLICT (mapping, name) DO UPDATE SET value = value + excluded.value")
_LATEST = ("INSERT INTO stats_counters (mapping, name, value) VALUES (?, ?, ?) "
           "ON CONFLICT (mapping, name) DO UPDATE SET value = max(value, excluded.value)")
INF = "+Inf"
TRANSFERS = (JobAction.COPY, JobAction.REPLACE)  # what copies data; renames and recycling move


@dataclass(frozen=True)
class DaySum:
    """What one mapping copied on one local day: its copy and replace jobs that succeeded."""

    day: str  # local date, YYYY-MM-DD
    mapping: str
    count: int
    bytes: int
    seconds: float  # their rsync time


def bucket_of(duration_s: float) -> str:
    return next((str(bound) for bound in DURATION_BUCKETS if duration_s <= bound), INF)


class History:
    def __init__(self, path: Path) -> None:
        # Guards the connection: the stats thread writes, a CLI or test may read.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def count(self, statuses: Iterable[JobStatus], now: float) -> None:
        """Add finished jobs to the counters, in one transaction."""
        adds: list[tuple[str, str, float]] = []
        latest: list[tuple[str, str, float]] = []
        for status in statuses:
            if status.state not in FINISHED:
                continue
            mapping = status.mapping or ""
            adds.append((mapping, status.state.value, 1))
            if status.state is JobState.SUCCEEDED and not status.dry_run:
                adds.append((mapping, "bytes", status.bytes))
                latest.append((mapping, "last_success_at", now))
                if status.duration_s is not None and status.action in TRANSFERS:
                    adds += [(mapping, "duration_count", 1),
                             (mapping, "duration_sum", status.duration_s),
                             (mapping, f"duration_le_{bucket_of(status.duration_s)}", 1)]
        if not adds:
            return
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            self._db.executemany(_ADD, adds)
            self._db.executemany(_LATEST, latest)

    def totals(self) -> dict[str, MappingTotals]:
        with self._lock:
            rows = self._db.execute("SELECT mapping, name, value FROM stats_counters").fetchall()
        values: dict[str, dict[str, float]] = {}
        for mapping, name, value in rows:
            values.setdefault(mapping, {})[name] = value
        return {mapping: _totals(counters) for mapping, counters in sorted(values.items())}

    def daily(self, since: float) -> list[DaySum]:
        """Per local day and mapping from the day of `since` (a local midnight): the sums the
        job store keeps as jobs end (`syncer/jobs/sums.py`), a few rows however many jobs
        there are."""
        with self._lock:
            rows = self._db.execute(SINCE, (since,)).fetchall()
        return [DaySum(*row) for row in rows]


def _totals(counters: dict[str, float]) -> MappingTotals:
    cumulative, buckets = 0, {}
    for bound in [*map(str, DURATION_BUCKETS), INF]:
        cumulative += int(counters.get(f"duration_le_{bound}", 0))
        buckets[bound] = cumulative
    return MappingTotals(
        succeeded=int(counters.get("succeeded", 0)),
        failed=int(counters.get("failed", 0)),
        skipped=int(counters.get("skipped", 0)),
        bytes=int(counters.get("bytes", 0)),
        duration=DurationHistogram(buckets=buckets, sum=counters.get("duration_sum", 0.0),
                                   count=int(counters.get("duration_count", 0))),
        last_success_at=counters.get("last_success_at"),
    )


# -- periods (local time) ---------------------------------------------------------------------
@dataclass(frozen=True)
class Periods:
    today: Tally
    week: Tally
    mappings: list[MappingPeriods]
    days: list[DayTotal]


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()


def history_start(now: float) -> float:
    """The earliest moment the periods look at: the older of 30 days ago and Monday."""
    today = datetime.fromtimestamp(now).date()
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    monday = today - timedelta(days=today.weekday())
    return _midnight(min(first_day, monday))


class _Sum:
    def __init__(self) -> None:
        self.count, self.bytes, self.seconds = 0, 0, 0.0

    def add(self, found: DaySum) -> None:
        self.count += found.count
        self.bytes += found.bytes
        self.seconds += found.seconds

    def tally(self) -> Tally:
        speed = round(self.bytes / self.seconds) if self.seconds > 0 else None
        return Tally(count=self.count, bytes=self.bytes, bytes_per_s=speed)


def periods(daily: Iterable[DaySum], now: float, mapping_names: list[str]) -> Periods:
    """Today, this week (from Monday) and each of the last 30 days; every configured mapping
    is listed, with zeros if it synced nothing."""
    today = datetime.fromtimestamp(now).date()
    monday = (today - timedelta(days=today.weekday())).isoformat()
    dates = [(today - timedelta(days=n)).isoformat() for n in range(HISTORY_DAYS - 1, -1, -1)]
    days = {day: _Sum() for day in dates}
    totals = {"today": _Sum(), "week": _Sum()}
    per_mapping = {name: {"today": _Sum(), "week": _Sum()} for name in mapping_names}
    for found in daily:
        if found.day in days:  # not older, nor from a clock that was set ahead
            days[found.day].add(found)
        sums = per_mapping.get(found.mapping)
        if sums is None:  # a mapping no longer configured
            sums = per_mapping[found.mapping] = {"today": _Sum(), "week": _Sum()}
        for period, since in (("today", dates[-1]), ("week", monday)):
            if since <= found.day <= dates[-1]:
                totals[period].add(found)
                sums[period].add(found)
    return Periods(
        today=totals["today"].tally(),
        week=totals["week"].tally(),
        mappings=[MappingPeriods(name=name, today=sums["today"].tally(),
                                 week=sums["week"].tally())
                  for name, sums in per_mapping.items() if name],
        days=[DayTotal(date=day, count=days[day].count, bytes=days[day].bytes) for day in dates],
    )
