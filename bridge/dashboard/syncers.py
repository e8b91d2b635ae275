"""Several syncers on one broker, seen as one: their summaries and statistics combined for
the status page and the metrics, each mapping named with its syncer ("Movies (offsite)").

With one syncer (named or not) what it published is shown as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from arrsync.wire.statistics import (
    RECENT_JOBS,
    DayTotal,
    DurationHistogram,
    MappingTotals,
    SyncerStats,
    Tally,
)

COUNTS = ("queued", "retrying", "running", "on_hold", "succeeded_total", "failed_total")


def labelled(mapping: str, syncer: str) -> str:
    """A mapping's name with its syncer's, where it has one; refused jobs ("") stay ""."""
    return f"{mapping} ({syncer})" if syncer and mapping else mapping


def combine_summaries(by_syncer: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """One summary: the counts added up, the newest last success and failure, every
    syncer's problem."""
    if len(by_syncer) <= 1:
        return next(iter(by_syncer.values()), None)
    summaries = [s for _, s in sorted(by_syncer.items())]
    problems = [f"{name or 'syncer'}: {s['problem']}" for name, s in sorted(by_syncer.items())
                if s.get("problem")]
    combined: dict[str, Any] = {key: sum(s.get(key) or 0 for s in summaries) for key in COUNTS}

    def newest(key: str) -> Any:
        found = [s[key] for s in summaries if isinstance(s.get(key), dict)]
        return max(found, key=lambda last: str(last.get("at", "")), default=None)

    combined.update(status="failing" if problems else "ok",
                    problem="; ".join(problems) or None,
                    last_success=newest("last_success"), last_failure=newest("last_failure"),
                    syncers=sorted(by_syncer), at=max(str(s.get("at", "")) for s in summaries))
    return combined


def _tally(tallies: list[Tally]) -> Tally:
    count, size = sum(t.count for t in tallies), sum(t.bytes for t in tallies)
    seconds = sum(t.bytes / t.bytes_per_s for t in tallies if t.bytes_per_s)
    return Tally(count=count, bytes=size, bytes_per_s=int(size / seconds) if seconds else None)


def _histogram(histograms: list[DurationHistogram]) -> DurationHistogram:
    buckets: Counter[str] = Counter()
    for histogram in histograms:
        buckets.update(histogram.buckets)
    return DurationHistogram(buckets=dict(buckets), sum=sum(h.sum for h in histograms),
                             count=sum(h.count for h in histograms))


def _totals(by_syncer: dict[str, SyncerStats]) -> dict[str, MappingTotals]:
    grouped: dict[str, list[MappingTotals]] = {}
    for syncer, stats in by_syncer.items():
        for mapping, totals in stats.totals.items():
            grouped.setdefault(labelled(mapping, syncer), []).append(totals)
    return {name: MappingTotals(
        succeeded=sum(t.succeeded for t in found), failed=sum(t.failed for t in found),
        skipped=sum(t.skipped for t in found), bytes=sum(t.bytes for t in found),
        duration=_histogram([t.duration for t in found]),
        last_success_at=max((t.last_success_at for t in found if t.last_success_at),
                            default=None)) for name, found in grouped.items()}


def combine_stats(by_syncer: dict[str, SyncerStats]) -> SyncerStats | None:
    if len(by_syncer) <= 1:
        return next(iter(by_syncer.values()), None)
    every = list(by_syncer.values())
    days: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for stats in every:
        for day in stats.days:
            days[day.date] += day.count
            sizes[day.date] += day.bytes
    return SyncerStats(
        at=max(s.at for s in every),
        current=next((s.current for s in every if s.current), None),
        running=[entry for s in every for entry in s.running],
        recent=sorted((e for s in every for e in s.recent), key=lambda e: e.at,
                      reverse=True)[:RECENT_JOBS],
        today=_tally([s.today for s in every]), week=_tally([s.week for s in every]),
        mappings=[m.model_copy(update={"name": labelled(m.name, syncer)})
                  for syncer, s in sorted(by_syncer.items()) for m in s.mappings],
        days=[DayTotal(date=d, count=days[d], bytes=sizes[d]) for d in sorted(days)],
        totals=_totals(by_syncer))
