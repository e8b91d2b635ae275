"""The syncer's statistics on the wire: `<base>/syncer/stats`, retained.

The syncer computes them from its job store and publishes them at most once a second; the
bridge's status page and metrics, Home Assistant and Node-RED read them. Being retained,
they survive a restart of any reader: a page opened after a bridge restart shows the
recent jobs and the totals at once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from arrsync.limits import clip
from arrsync.wire.job import JobAction, JobState, JobStatus

RECENT_JOBS = 20
HISTORY_DAYS = 30
# Upper bounds (seconds) of the transfer duration histogram; "+Inf" follows.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class JobEntry(BaseModel):
    """A job as the statistics list it: its latest state, and progress while it runs."""

    job: str = Field(description="Job id.")
    state: JobState = Field(description="Its latest state.")
    action: JobAction = Field(JobAction.COPY, description="copy, replace, rename or recycle.")
    title: str | None = Field(None, description="Movie, episode, album or book, readable.")
    app: str | None = Field(None, description="radarr, sonarr, …, or 'manual'.")
    mapping: str | None = Field(None, description="Name of the mapping used.")
    error: str | None = Field(None, description="Why it failed or waits, for a person.")
    held: bool = Field(False, description="Waits for the destination (attempts not spent).")
    bytes: int = Field(0, description="Bytes of the job's files.")
    files: int = Field(0, description="Number of files.")
    attempt: int = Field(0, description="Current attempt, from 1.")
    max_attempts: int = Field(0, description="Attempts before the job fails.")
    duration_s: float | None = Field(None, description="Seconds the last attempt took.")
    at: str = Field(description="When it last changed, ISO 8601 UTC.")
    percent: int | None = Field(None, description="Running: percent done.")
    bytes_per_s: int | None = Field(None, description="Running: current speed.")
    eta_s: int | None = Field(None, description="Running: seconds left.")

    @classmethod
    def from_status(cls, status: JobStatus, max_error: int = 500) -> JobEntry:
        """The entry a job status message makes; a long error is cut to `max_error`."""
        return cls(job=status.job, state=status.state, action=status.action,
                   title=status.title, app=status.app,
                   mapping=status.mapping, error=clip(status.error, max_error),
                   held=status.held, bytes=status.bytes,
                   files=status.files, attempt=status.attempt, max_attempts=status.max_attempts,
                   duration_s=status.duration_s, at=status.at, percent=status.percent,
                   bytes_per_s=status.bytes_per_s, eta_s=status.eta_s)


class Tally(BaseModel):
    """What was copied in a period: the copy and replace jobs that succeeded."""

    count: int = Field(0, description="Copy and replace jobs that succeeded.")
    bytes: int = Field(0, description="Bytes they copied.")
    bytes_per_s: int | None = Field(
        None, description="Average speed: their bytes over their rsync time (null: none)."
    )


class MappingPeriods(BaseModel):
    name: str = Field(description="The mapping's name.")
    today: Tally = Field(default_factory=Tally, description="Since local midnight.")
    week: Tally = Field(default_factory=Tally, description="Since Monday, local midnight.")


class DayTotal(BaseModel):
    date: str = Field(description="Local date, YYYY-MM-DD.")
    count: int = Field(0, description="Copy and replace jobs that succeeded that day.")
    bytes: int = Field(0, description="Bytes they copied.")


class DurationHistogram(BaseModel):
    """Cumulative, as Prometheus keeps histograms: bucket "60" counts transfers ≤ 60 s."""

    buckets: dict[str, int] = Field(
        default_factory=dict, description='Upper bound in seconds ("+Inf" last) → count.'
    )
    sum: float = Field(0.0, description="Seconds of all counted transfers.")
    count: int = Field(0, description="Transfers counted.")


class MappingTotals(BaseModel):
    """Counters since the job store was created: they only grow (pruning does not lower them)."""

    succeeded: int = Field(0, description="Jobs that succeeded (any action).")
    failed: int = Field(0, description="Jobs that failed.")
    skipped: int = Field(0, description="Jobs skipped (nothing to do).")
    bytes: int = Field(0, description="Bytes copied by the jobs that succeeded (not dry runs).")
    duration: DurationHistogram = Field(
        default_factory=DurationHistogram,
        description="rsync time of the copy and replace jobs that succeeded.",
    )
    last_success_at: float | None = Field(
        None, description="Unix time of the last success, or null."
    )


class SyncerStats(BaseModel):
    """Published by the syncer on `<base>/syncer/stats`, retained."""

    at: str = Field(description="When this message was made, ISO 8601 UTC.")
    current: JobEntry | None = Field(
        None, description="The running transfer that reported progress last, or null."
    )
    running: list[JobEntry] = Field(default_factory=list, description="Running jobs.")
    recent: list[JobEntry] = Field(
        default_factory=list, description=f"The {RECENT_JOBS} jobs that changed last, newest first."
    )
    today: Tally = Field(default_factory=Tally, description="All mappings, since local midnight.")
    week: Tally = Field(default_factory=Tally, description="All mappings, since Monday.")
    mappings: list[MappingPeriods] = Field(
        default_factory=list, description="Today and this week per configured mapping."
    )
    days: list[DayTotal] = Field(
        default_factory=list, description=f"The last {HISTORY_DAYS} days, oldest first."
    )
    totals: dict[str, MappingTotals] = Field(
        default_factory=dict, description="Counters per mapping name ('' for refused jobs)."
    )


def parse_stats(text: str | bytes) -> SyncerStats:
    return SyncerStats.model_validate_json(text)
