"""A local HTTP server that Apprise's json:// URLs post to: the notification inbox of tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import wait_until


class NotificationSink:
    def __init__(self, failures: int = 0) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.failures_left = failures  # answer 500 to this many requests first
        self.attempts = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink._lock:
                    sink.attempts += 1
                    failing = sink.failures_left > 0
                    sink.failures_left -= failing
                    if not failing:
                        sink.posts.append((self.path, json.loads(body)))
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/{path}"

    def __enter__(self) -> NotificationSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [body for where, body in self.posts if path is None or where == f"/{path}"]

    def wait_for(self, count: int = 1, path: str | None = None,
                 timeout: float = 10) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.received(path)) >= count and self.received(path),
                          timeout, f"{count} notification(s)")
