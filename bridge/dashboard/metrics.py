"""Prometheus metrics at `GET /metrics` (official client library, text format).

The bridge's own: webhooks by app, event type and outcome, the spool depth, the time from
handing an event to MQTT to the broker's acknowledgement, dead letters.

The syncer's are relayed from its retained statistics (`<base>/syncer/stats`, see the
status board) rather than served by the syncer on a port of its own: one scrape target
behind the credentials that already exist, no port to open on the host that holds the
shares, and counters kept in the syncer's job store, so they survive its restarts. They
are as fresh as the last statistics (at most a second or so behind), and
`arrsync_syncer_stats_timestamp_seconds` tells how old they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from arrsync.topics import APPS
from bridge.dashboard.board import StatusBoard

# Label values come from requests: only known ones are kept, so a client cannot grow the
# number of series without end.
EVENTS = frozenset({
    "Download", "Grab", "Rename", "Test", "Health", "HealthRestored", "ApplicationUpdate",
    "ManualInteractionRequired", "MovieAdded", "MovieDelete", "MovieFileDelete", "SeriesAdd",
    "SeriesDelete", "EpisodeFileDelete", "ArtistAdd", "ArtistDelete", "AlbumDelete", "Retag",
    "AuthorAdded", "AuthorDelete", "BookDelete", "BookFileDelete", "DownloadFailure",
    "ImportFailure",
})
OUTCOMES = {200: "published", 202: "spooled", 400: "bad_request", 401: "unauthorized",
            404: "unknown_app", 413: "too_large", 503: "unavailable"}
WEBHOOK_ENDPOINTS = {"webhook", "sync", "test"}
disable_created_metrics()  # no `_created` series: the process start time is not a metric
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def mark_event(event_type: str) -> None:
    """Called by the webhook view once the body is understood: the event's label."""
    g.arr_event = event_type


class BridgeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "arrsync_webhooks", "Webhooks received, by app, event type and outcome.",
            ["app", "event", "outcome"], registry=self.registry)
        self.publish_latency = Histogram(
            "arrsync_bridge_publish_latency_seconds",
            "Seconds from handing a message to MQTT to the broker's acknowledgement.",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        Info("arrsync_build", "The arrsync version the bridge runs.",
             registry=self.registry).info({"version": _version()})

    def register(self, app: Flask, publisher: Any, board: StatusBoard | None) -> None:
        self.registry.register(_StateCollector(publisher, board))

        @app.after_request
        def _count_webhook(response: Response) -> Response:
            if request.endpoint in WEBHOOK_ENDPOINTS:
                app_name = (request.view_args or {}).get("app_name", "arrsync").lower()
                event = g.get("arr_event")  # None: the body was not understood
                self.webhooks.labels(
                    app=app_name if app_name in (*APPS, "arrsync") else "unknown",
                    event="unknown" if event is None else event if event in EVENTS else "other",
                    outcome=OUTCOMES.get(response.status_code, "error"),
                ).inc()
            return response

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


class _StateCollector(Collector):
    """Read at each scrape: the spool, the broker link, availability, the syncer's stats."""

    def __init__(self, publisher: Any, board: StatusBoard | None) -> None:
        self._publisher = publisher
        self._board = board

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("arrsync_bridge_spool_depth",
                                "Accepted events waiting in the spool for the broker.",
                                value=self._publisher.spooled())
        yield GaugeMetricFamily("arrsync_bridge_broker_connected",
                                "1 while the bridge is connected to the broker.",
                                value=int(self._publisher.broker_connected))
        # Events set aside because they could not be published (the relay's dead letters).
        dead_letters = getattr(self._publisher, "dead_letters", None)
        yield GaugeMetricFamily("arrsync_bridge_dead_letters",
                                "Events set aside because they could not be published.",
                                value=dead_letters() if callable(dead_letters) else 0)
        if self._board is not None:
            yield from _relayed(self._board)


def _relayed(board: StatusBoard) -> Iterator[Metric]:
    view = board.view()
    up = GaugeMetricFamily("arrsync_component_up",
                           "1 if the component's availability topic says online, else 0.",
                           labels=["component"])
    for component, state in view.availability.items():
        if state != "unknown":
            up.add_metric([component], int(state == "online"))
    yield up
    if view.summary:
        yield GaugeMetricFamily("arrsync_syncer_queue_length", "Jobs waiting (queued or "
                                "retrying).", value=_number(view.summary, "queued")
                                + _number(view.summary, "retrying"))
        yield GaugeMetricFamily("arrsync_syncer_running_jobs", "rsyncs running now.",
                                value=_number(view.summary, "running"))
    stats = view.stats
    if stats is None:
        return
    yield GaugeMetricFamily("arrsync_syncer_stats_timestamp_seconds",
                            "When the syncer made the statistics these metrics come from.",
                            value=datetime.fromisoformat(stats.at.replace("Z", "+00:00"))
                            .timestamp())
    jobs = CounterMetricFamily("arrsync_syncer_jobs", "Finished jobs by mapping and result.",
                               labels=["mapping", "result"])
    copied = CounterMetricFamily("arrsync_syncer_copied_bytes",
                                 "Bytes synced by jobs that succeeded.", labels=["mapping"])
    unmapped = CounterMetricFamily("arrsync_syncer_unmapped_imports",
                                   "Imports of files under no mapping (refused).")
    durations = HistogramMetricFamily("arrsync_syncer_transfer_duration_seconds",
                                      "rsync time of jobs that succeeded.", labels=["mapping"])
    last = GaugeMetricFamily("arrsync_syncer_last_success_timestamp_seconds",
                             "Unix time of the last job that succeeded.", labels=["mapping"])
    refused = stats.totals.get("")  # imports under no mapping: no series of a mapping
    unmapped.add_metric([], refused.failed if refused else 0)
    for mapping, totals in stats.totals.items():
        if not mapping:
            continue
        label = mapping
        for result in ("succeeded", "failed", "skipped"):
            jobs.add_metric([label, result], getattr(totals, result))
        copied.add_metric([label], totals.bytes)
        buckets = list(totals.duration.buckets.items())
        if buckets:
            durations.add_metric([label], buckets, sum_value=totals.duration.sum)
        if totals.last_success_at is not None:
            last.add_metric([label], totals.last_success_at)
    yield from (jobs, copied, durations, last, unmapped)


def _version() -> str:
    try:
        return version("arrsync")
    except PackageNotFoundError:  # a source tree that is not installed
        return "unknown"


def _number(summary: dict[str, Any], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else 0.0
