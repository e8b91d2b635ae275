"""The job store: events are remembered, crashes are recovered, old jobs are pruned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings, SyncerSettings
from arrsync.wire.job import JobState
from syncer.engine.lifecycle import Lifecycle
from syncer.jobs.job import Job
from syncer.jobs.schedule import Schedule
from syncer.jobs.store import JobStore
from syncer.report.status import StatusReporter


def job(job_id: str, state: JobState, updated_at: float, paths: list[str] | None = None) -> Job:
    return Job(id=job_id, trigger=f"event-{job_id}", app="radarr", instance=None, title=job_id,
               download_id=None, mapping="Movies", paths=paths or [f"{job_id}/f.mkv"],
               state=state, attempt=1, created_at=updated_at, updated_at=updated_at)


def test_an_event_is_stored_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    assert store.add("e1", [job("a", JobState.QUEUED, 0)], now=0)
    assert not store.add("e1", [job("b", JobState.QUEUED, 0)], now=1)
    assert [j.id for j in store.recent()] == ["a"]


def test_interrupted_jobs_go_back_to_the_queue_without_losing_an_attempt(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    first = JobStore(path)
    first.add("e", [job("a", JobState.STARTED, 5), job("b", JobState.STARTED, 5)], now=5)
    first.close()
    second = JobStore(path)
    assert sorted(j.id for j in second.started()) == ["a", "b"]
    # The lifecycle recovers them (its reporter's MQTT client is not connected: the
    # statuses wait in paho's memory, as after any start before the broker answers).
    mqtt = MqttConnection(MqttSettings(port=1), "syncer")
    reporter = StatusReporter(mqtt, second, [], clock=lambda: 9)
    scheduled: list[Job] = []
    lifecycle = Lifecycle(SyncerSettings(), second, reporter, scheduled.extend,
                          lambda _jobs: None, clock=lambda: 9)
    assert [j.id for j in lifecycle.recover(keep={"b"})] == ["a"]  # b is still running
    recovered = second.get("a")
    assert recovered is not None
    assert (recovered.state, recovered.attempt) == (JobState.QUEUED, 0)
    assert [j.id for j in scheduled] == ["a"]
    assert [j.id for j in second.active()] == ["a"]  # what waits for a worker


def test_claimed_paths_cover_active_and_recent_successes(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    store.add("e1", [job("old", JobState.SUCCEEDED, 100), job("new", JobState.SUCCEEDED, 900),
                     job("run", JobState.RETRYING, 50), job("bad", JobState.FAILED, 950),
                     job("dir", JobState.QUEUED, 60, paths=["Show/Season 1"])], now=0)
    asked = ["old/f.mkv", "new/f.mkv", "run/f.mkv", "bad/f.mkv", "Show/Season 1/e1.mkv",
             "Show/Season 2/e1.mkv"]
    assert store.owners("Movies", asked, succeeded_since=500) == {
        "new/f.mkv": "new", "run/f.mkv": "run", "Show/Season 1": "dir"}
    assert store.owners("Other mapping", asked, succeeded_since=0) == {}


def test_a_batch_of_events_commits_together_and_repeats_store_nothing(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    store.add("seen", [job("s", JobState.QUEUED, 0)], now=0)
    stored = store.add_many([("e1", [job("a", JobState.QUEUED, 1)]), ("seen", [job("b",
                             JobState.QUEUED, 1)]), (None, [job("c", JobState.FAILED, 1)])], 1)
    assert stored == [True, False, True]
    assert sorted(j.id for j in store.recent()) == ["a", "c", "s"]
    assert store.has_event("e1") and not store.has_event("e2")
    assert store.owners("Movies", ["b/f.mkv", "a/f.mkv"], 0) == {"a/f.mkv": "a"}


def test_old_finished_jobs_are_pruned(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    store.add("e1", [job("done", JobState.SUCCEEDED, 100), job("failed", JobState.FAILED, 100),
                     job("waiting", JobState.RETRYING, 100), job("fresh", JobState.SUCCEEDED,
                                                                 1000)], now=100)
    assert store.prune(finished_before=500) == 2
    assert sorted(j.id for j in store.recent()) == ["fresh", "waiting"]
    assert store.add("e1", [], now=1000)  # the event record was pruned with them


def test_a_store_written_by_an_older_syncer_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, trigger TEXT, app TEXT, instance TEXT,
            title TEXT, download_id TEXT, mapping TEXT NOT NULL, paths TEXT NOT NULL,
            state TEXT NOT NULL, attempt INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
            error TEXT, bytes INTEGER NOT NULL, files INTEGER NOT NULL, duration_s REAL,
            created_at REAL NOT NULL, updated_at REAL NOT NULL, next_attempt_at REAL NOT NULL,
            held INTEGER NOT NULL);
        INSERT INTO jobs VALUES ('old1', 't', 'radarr', NULL, 'Dune', NULL, 'Movies', '["a"]',
            'queued', 0, 5, NULL, 0, 0, NULL, 1, 1, 1, 0);
    """)
    old.close()
    store = JobStore(path)
    kept = store.get("old1")
    assert kept is not None and kept.paths == ["a"] and kept.episodes == [] and kept.series is None
    assert store.owners("Movies", ["a"], 0) == {"a": "old1"}  # its claims were filled in
    new = replace(job("new1", JobState.QUEUED, 2), series="Chernobyl", episodes=[(1, 2)])
    store.add("e-new", [new], 2)
    again = store.get("new1")
    assert again is not None and again.series == "Chernobyl" and again.episodes == [(1, 2)]
    store.close()


def test_a_recycle_clears_the_claims_of_what_it_removed(tmp_path: Path) -> None:
    from arrsync.wire.job import JobAction

    store = JobStore(tmp_path / "jobs.db")
    copied = job("copy", JobState.SUCCEEDED, 100, ["Film/film.mkv", "Other/other.mkv"])
    removed = replace(job("gone", JobState.SUCCEEDED, 200, ["Film"]), action=JobAction.RECYCLE)
    later = job("again", JobState.QUEUED, 300, ["Other/other.mkv"])
    store.add("e", [copied, removed, later], now=300)
    assert store.owners("Movies", ["Film/film.mkv", "Other/other.mkv"],
                        succeeded_since=0) == {"Other/other.mkv": "again"}
    assert store.removals_since(150) == {"gone": 1}
    assert store.removals_since(250) == {}


def test_a_job_on_hold_is_never_due_until_released(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    held = replace(job("held", JobState.RETRYING, 10), on_hold=True)
    store.add("e", [held, job("due", JobState.RETRYING, 10)], now=10)
    schedule = Schedule()  # what the workers take from
    for waiting in store.active():
        schedule.put(waiting)
    assert [j.id for j in schedule.take(now=100, limit=5)] == ["due"]
    assert store.on_hold_count() == 1
    assert [j.id for j in store.recent(on_hold=True)] == ["held"]
    again = store.get("held")
    assert again is not None and again.on_hold and not again.released


def test_the_store_gets_smaller_after_a_large_prune(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = JobStore(path)
    store.add_many([(f"e{n}", [job(f"j{n}", JobState.SUCCEEDED, n)]) for n in range(6000)],
                   now=0)
    def size() -> int:
        return sum(p.stat().st_size for p in tmp_path.glob("jobs.db*"))
    before = size()
    assert store.prune(finished_before=4000) == 4000
    assert size() < before * 0.6
    assert [j.id for j in store.recent(2)] == ["j5999", "j5998"]
    store.close()
