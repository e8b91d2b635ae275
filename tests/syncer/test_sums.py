"""The sums the store keeps beside its jobs (copies per day for the statistics, jobs per
state for the summary): always those a scan of the kept jobs would give, through every
write the store makes, and back-filled once into a store from before them."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from arrsync.wire.job import JobAction, JobState
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
from syncer.report.history import DaySum, History

DAY = 86400.0
START = 1_790_000_000.0  # a fixed moment: the days are the same at every run
# What History.daily read before the sums: every succeeded copy and replace job, scanned.
SCAN = ("SELECT date(updated_at, 'unixepoch', 'localtime') AS day, mapping, count(*), "
        "sum(bytes), total(duration_s) FROM jobs WHERE state = 'succeeded' "
        "AND action IN ('copy', 'replace') AND updated_at >= ? GROUP BY day, mapping")


def job(name: str, at: float, mapping: str = "Movies", size: int = 10,
        action: JobAction = JobAction.COPY) -> Job:
    return Job(id=name, trigger=None, app="radarr", instance=None, title=None,
               download_id=None, mapping=mapping, paths=[f"/{name}"], state=JobState.QUEUED,
               action=action, bytes=size, duration_s=None, created_at=at, updated_at=at)


def scanned_states(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())


def order(day: DaySum) -> tuple[str, str]:
    return day.day, day.mapping


def midnight_before(moment: float, days: int) -> float:
    """The local midnight `days` before the day of `moment` (what the statistics pass)."""
    day = datetime.fromtimestamp(moment).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day).timestamp()


def scanned(path: Path, since: float) -> list[DaySum]:
    with sqlite3.connect(path) as db:
        rows = db.execute(SCAN, (since,)).fetchall()
    return sorted((DaySum(*row) for row in rows), key=order)


def kept(path: Path, since: float) -> list[DaySum]:
    history = History(path)
    try:
        found = history.daily(since)
    finally:
        history.close()
    return sorted(found, key=order)


def same(left: list[DaySum], right: list[DaySum]) -> bool:
    """Equal, the rsync seconds up to the rounding of sums taken in another order."""
    return len(left) == len(right) and all(
        (a.day, a.mapping, a.count, a.bytes) == (b.day, b.mapping, b.count, b.bytes)
        and abs(a.seconds - b.seconds) < 1e-6 for a, b in zip(left, right, strict=True))


def test_the_sums_follow_every_write_of_the_store(tmp_path: Path) -> None:
    """Jobs added, finished, finished again later (a retry), failed after a success,
    moved to another mapping, renamed or recycled, pruned: the sums stay the scan's."""
    path = tmp_path / "syncer.db"
    store = JobStore(path)
    chance = random.Random(7)
    jobs: dict[str, Job] = {}
    midnight = midnight_before(START, 40)
    for step in range(300):
        now = START + step * 3000.0
        name = f"j{step}"
        action = chance.choice([JobAction.COPY, JobAction.COPY, JobAction.REPLACE,
                                JobAction.RENAME, JobAction.RECYCLE])
        jobs[name] = job(name, now, chance.choice(["Movies", "TV"]), chance.randint(1, 999),
                         action)
        store.add(None, [jobs[name]], now)
        changed = []
        for other in chance.sample(sorted(jobs), min(3, len(jobs))):
            state = chance.choice([JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.FAILED,
                                   JobState.RETRYING, JobState.SKIPPED])
            jobs[other] = replace(jobs[other], state=state, updated_at=now,
                                  bytes=chance.randint(0, 10_000),
                                  duration_s=chance.choice([None, chance.random() * 60]),
                                  mapping=chance.choice(["Movies", "Movies", "TV"]))
            changed.append(jobs[other])
        store.save_many(changed)
        if step % 50 == 49:
            store.prune(finished_before=now - 2 * DAY)
            jobs = {n: j for n, j in jobs.items() if store.get(n) is not None}
            assert same(kept(path, midnight), scanned(path, midnight))
            assert store.counts() == scanned_states(path)
    assert store.counts() == scanned_states(path)
    store.close()
    assert same(kept(path, midnight), scanned(path, midnight))
    assert sum(d.count for d in kept(path, midnight)) > 10  # the walk did finish copies


def test_a_store_from_before_the_sums_is_back_filled_once(tmp_path: Path) -> None:
    path = tmp_path / "syncer.db"
    store = JobStore(path)
    finished = [replace(job(f"j{n}", START + n * 7000.0, size=n), state=JobState.SUCCEEDED,
                        duration_s=1.5) for n in range(40)]
    store.add(None, finished, START)
    store.close()
    with sqlite3.connect(path) as db:  # as an older syncer left it: jobs, no sums
        for trigger in ("insert", "update_old", "update_new", "delete"):
            db.execute(f"DROP TRIGGER daily_copies_{trigger}")
        for trigger in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER job_states_{trigger}")
        db.execute("DROP TABLE daily_copies")
        db.execute("DROP TABLE job_states")
    since = midnight_before(START, 1)
    expected = scanned(path, since)
    assert sum(d.count for d in expected) == 40

    for _ in range(2):  # opened again: filled once, not added twice
        store = JobStore(path)
        assert store.counts() == {"succeeded": 40}
        store.close()
        assert same(kept(path, since), expected)
    store = JobStore(path)  # and kept from then on
    store.save_many([replace(finished[0], state=JobState.FAILED)])
    assert store.counts() == {"succeeded": 39, "failed": 1}
    store.close()
    assert sum(d.count for d in kept(path, since)) == 39
