"""The job store: events are remembered, crashes are recovered, old jobs are pruned."""

from __future__ import annotations

from pathlib import Path

from syncer.jobs import Job, JobState
from syncer.store import JobStore


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
    first.add("e", [job("a", JobState.STARTED, 5)], now=5)
    first.close()
    second = JobStore(path)
    assert [j.id for j in second.recover_interrupted()] == ["a"]
    recovered = second.get("a")
    assert recovered is not None
    assert (recovered.state, recovered.attempt) == (JobState.QUEUED, 0)
    assert [j.id for j in second.due(now=10, limit=5)] == ["a"]


def test_claimed_paths_cover_active_and_recent_successes(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    store.add("e1", [job("old", JobState.SUCCEEDED, 100), job("new", JobState.SUCCEEDED, 900),
                     job("run", JobState.RETRYING, 50), job("bad", JobState.FAILED, 950)], now=0)
    assert store.claimed_paths("Movies", succeeded_since=500) == {
        "new/f.mkv": "new", "run/f.mkv": "run"}


def test_old_finished_jobs_are_pruned(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    store.add("e1", [job("done", JobState.SUCCEEDED, 100), job("failed", JobState.FAILED, 100),
                     job("waiting", JobState.RETRYING, 100), job("fresh", JobState.SUCCEEDED,
                                                                 1000)], now=100)
    assert store.prune(finished_before=500) == 2
    assert sorted(j.id for j in store.recent()) == ["fresh", "waiting"]
    assert store.add("e1", [], now=1000)  # the event record was pruned with them
