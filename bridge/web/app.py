"""The HTTP side of the bridge: arr webhooks in, event envelopes handed to the relay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from arrsync.limits import packet_bytes, quote
from arrsync.settings import Settings
from arrsync.topics import APPS, Topics
from arrsync.wire.parse import WireError, describe, parse_json
from bridge.dashboard import StatusBoard, register_dashboard
from bridge.dashboard.metrics import BridgeMetrics, mark_event
from bridge.outbox.relay import RelayUnavailable
from bridge.outbox.spool import SpooledEvent
from bridge.web.auth import BasicAuth
from bridge.web.hints import unknown_url_hint, wrong_method_hint
from bridge.webhooks.arr import ArrPayload
from bridge.webhooks.envelope import UnreadableEnvelope, build_envelope_json

log = logging.getLogger(__name__)

TEST_BODY = '{"eventType":"Test","instanceName":"arrsync"}'


class Publisher(Protocol):
    def accept(self, event: SpooledEvent) -> str: ...  # RelayUnavailable: answer 503
    def health(self) -> dict[str, Any]: ...


class BadRequest(Exception):
    """The body cannot be an arr webhook; the message says why."""


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def parse_webhook(body: bytes) -> tuple[ArrPayload, str]:
    """Validate a webhook body; returns the payload model and the body as text."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 text") from None
    try:
        data = parse_json(text)  # the parser and limits of the wire: the syncer reads it too
    except WireError as exc:
        raise BadRequest(f"body {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object, not {type(data).__name__}")
    if "eventType" not in data:
        raise BadRequest("body has no eventType; is this an arr webhook?")
    if not isinstance(data["eventType"], str) or not data["eventType"]:
        raise BadRequest("eventType must be a non-empty string")
    try:
        return ArrPayload.model_validate(data), text
    except ValidationError as exc:
        raise BadRequest(f"not a valid {quote(data['eventType'], 40)} webhook: "
                         f"{describe(exc, 5)}") from None
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None


def create_app(settings: Settings, publisher: Publisher,
               on_import: Callable[[list[str]], None] | None = None,
               board: StatusBoard | None = None, metrics: BridgeMetrics | None = None,
               catch_up: Callable[[], dict[str, Any]] | None = None) -> Flask:
    """`on_import` hears the files of each import accepted (catch-up then skips them); with a
    `board`, the status page is at `/`; `/metrics` always; `catch_up()`: each arr's
    catch-up, for `/health`."""
    app = Flask("arrsync-bridge")
    app.config["MAX_CONTENT_LENGTH"] = settings.bridge.max_body_bytes
    auth = BasicAuth(settings.bridge.username, settings.bridge.password)
    topics = Topics(settings.mqtt.base_topic)

    def accept(app_name: str, payload: ArrPayload, text: str) -> tuple[Response, int]:
        mark_event(payload.event_type)
        try:
            event_id, envelope = build_envelope_json(app_name, payload, text)
        except UnreadableEnvelope as exc:  # the syncer could not act on it: say so now
            log.warning("rejected a %s webhook: %s", app_name, exc)
            return _error(400, str(exc))
        topic = topics.event(app_name, payload.event_type)
        size = packet_bytes(topic, envelope)
        if size > settings.mqtt.max_packet_bytes:
            message = (f"the event would be {size} bytes on MQTT, over the broker's limit of "
                       f"{settings.mqtt.max_packet_bytes} (mqtt.max_packet_bytes): the broker "
                       "would refuse it")
            log.error("rejected a %s %s webhook: %s", app_name, payload.event_type, message)
            return _error(413, message)
        try:
            outcome = publisher.accept(SpooledEvent(event_id, topic, envelope))
        except RelayUnavailable as exc:  # disk full, spool damaged: the arr must know
            return _error(503, f"the bridge cannot store the event: {exc}")
        log.info("%s %s %s from %s: %s", app_name, payload.event_type,
                 payload.title() or "", payload.instance_name or "?", outcome)
        if on_import and payload.is_import:
            on_import([f.path for f in payload.imported_files()])
        return jsonify(status=outcome, id=event_id, topic=topic), (
            200 if outcome == "published" else 202
        )

    @app.before_request
    def _authenticate() -> Any:
        if request.endpoint in {"health", None}:
            return None
        given = request.headers.get("Authorization")
        if not auth.allows(given):
            # A browser asks without credentials first, then with them: that is no problem.
            (log.warning if given else log.info)(
                "rejected %s %s from %s: %s", request.method, request.path,
                request.remote_addr, "wrong credentials" if given else "no credentials sent")
            response, status = _error(401, "credentials missing or wrong")
            response.headers["WWW-Authenticate"] = 'Basic realm="arrsync"'
            return response, status
        return None

    @app.route("/webhook/<app_name>", methods=["POST", "PUT"], endpoint="webhook")
    @app.route("/sync/<app_name>", methods=["POST", "PUT"], endpoint="sync")
    def webhook(app_name: str) -> tuple[Response, int]:
        app_name = app_name.lower()
        if app_name not in APPS:
            log.warning("rejected a webhook for the unknown app %r from %s",
                        app_name[:50], request.remote_addr)
            return _error(404, f"unknown app {app_name!r}; use one of {', '.join(APPS)}")
        try:
            payload, text = parse_webhook(request.get_data(cache=False))
        except BadRequest as exc:
            log.warning("rejected a %s webhook: %s", app_name, exc)
            return _error(400, str(exc))
        return accept(app_name, payload, text)

    @app.post("/test")
    def test() -> tuple[Response, int]:
        payload, text = parse_webhook(TEST_BODY.encode())
        return accept("arrsync", payload, text)

    @app.get("/health")
    def health() -> tuple[Response, int]:
        """200 while webhooks are safe (ok, or degraded: dead letters), 503 while failing."""
        state = publisher.health()
        if catch_up:
            state["catch_up"] = catch_up()
        return jsonify(state), 503 if state["status"] == "failing" else 200

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        if code == 413:
            return _error(413, f"body is larger than {settings.bridge.max_body_bytes} bytes")
        if code in (404, 405):
            return _no_route(exc)
        return _error(code, exc.description or exc.name)

    def _no_route(exc: HTTPException) -> tuple[Response, int]:
        """A URL or method no route takes: say where webhooks go, in the answer and the log."""
        path = request.path[:200]
        if isinstance(exc, MethodNotAllowed):
            hint, what = wrong_method_hint(request.method, path), f"{request.method} not allowed"
        else:
            hint, what = unknown_url_hint(path), "no such URL"
        log.warning("rejected %s %r from %s: %s", request.method, path, request.remote_addr,
                    hint)
        response = jsonify(error=f"{what}: {path}", hint=hint)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, exc.code or 404

    (metrics or BridgeMetrics()).register(app, publisher, board)
    if board is not None:
        roots = [f for m in settings.syncer.mappings for f in (m.source, m.dest, m.arr_path)]
        register_dashboard(app, board, roots=roots, outbox=publisher.health, catch_up=catch_up)
    return app
