"""The status page's routes: the page, the live panel it refreshes itself with every second,
the same state as JSON, and the retry request. All behind the webhook credentials (the
bridge's `before_request`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, jsonify, render_template, request

from arrsync.units import human_duration, human_size
from bridge.dashboard.board import BoardView, StatusBoard
from bridge.dashboard.chart import bar_chart
from bridge.dashboard.reasons import ReasonFormatter

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The page loads only its own files: no inline script or style, no other origin.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
RETRY_STATUS = {"requested": 202, "refused": 502, "no answer": 504, "broker disconnected": 503}
RETRY_ERRORS = {
    "refused": "the broker refused the request: the bridge's MQTT user needs write access to "
               "<base>/sync/request (mosquitto/acl)",
    "no answer": "the broker did not answer in time",
    "broker disconnected": "the bridge is not connected to the broker",
}


def ago(iso: str | None, now: datetime | None = None) -> str:
    """How long ago, for people: `12s ago`, `5m ago`, `3h ago`, else the local date."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return f"{max(0, int(seconds))}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return moment.astimezone().strftime("%b %d %H:%M")


def clock(iso: str | None, now: datetime | None = None) -> str:
    """A moment as a local clock time, with the date when it is not today."""
    try:
        moment = datetime.fromisoformat((iso or "").replace("Z", "+00:00")).astimezone()
    except ValueError:
        return iso or ""
    today = (now or datetime.now(UTC)).astimezone().date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%b %d %H:%M")


def speed(bytes_per_s: float | None) -> str:
    return f"{human_size(bytes_per_s)}/s" if bytes_per_s else "-"


def _context(view: BoardView) -> dict[str, Any]:
    return {"view": view, "stats": view.stats,
            "chart": bar_chart(view.stats.days) if view.stats else None}


def _same_origin() -> bool:
    """A browser names the page that sent a request; refuse another site's (CSRF)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def register_dashboard(app: Flask, board: StatusBoard, *, roots: Iterable[str] = (),
                       outbox: Callable[[], dict[str, Any]] | None = None,
                       catch_up: Callable[[], dict[str, Any]] | None = None) -> None:
    """`roots`: the mappings' folders, which reasons are shown relative to; `outbox()`:
    the relay's health (the spooled count); `catch_up()`: each arr's catch-up."""
    pages = Blueprint("dashboard", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/assets")

    pages.add_app_template_filter(human_size, "size")
    pages.add_app_template_filter(human_duration, "duration")
    pages.add_app_template_filter(speed, "speed")
    pages.add_app_template_filter(ago, "ago")
    pages.add_app_template_filter(clock, "clock")
    pages.add_app_template_filter(ReasonFormatter(roots), "reason")

    def view() -> BoardView:
        """The board, with what only the bridge knows: its spool and its catch-up."""
        spooled = outbox().get("spooled") if outbox else None
        return replace(board.view(), spooled=spooled,
                       catch_up=catch_up() if catch_up else None)

    @pages.get("/")
    def page() -> str:
        return render_template("status.html", **_context(view()))

    @pages.get("/live")
    def live() -> str:
        return render_template("live.html", **_context(view()))

    @pages.get("/api/status")
    def status() -> Response:
        return jsonify(view().as_json())

    @pages.post("/api/retry")
    def retry() -> tuple[Response, int]:
        if not _same_origin():
            return jsonify(error="cross-site requests are refused"), 403
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            return jsonify(error='send JSON {"job": "<job id>"} with '
                                 "Content-Type: application/json"), 415
        job = data.get("job")
        if not isinstance(job, str) or not JOB_ID.fullmatch(job):
            return jsonify(error='"job" must be a job id'), 400
        outcome = board.request_retry(job)
        if outcome != "requested":
            return jsonify(error=RETRY_ERRORS[outcome], job=job), RETRY_STATUS[outcome]
        return jsonify(status=outcome, job=job), RETRY_STATUS[outcome]

    @pages.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.register_blueprint(pages)
