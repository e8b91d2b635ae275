"""The stand-in's HTTP side: the key check, gzip when asked, the odd answers tests ask for."""

from __future__ import annotations

import gzip
import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.arr_standin.api import VERSIONS, BadParameter, SeenRequest

if TYPE_CHECKING:
    from tests.arr_standin.arr import StandInArr


def handler_for(arr: StandInArr) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one stand-in."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave as separate writes

        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            with arr._lock:
                arr.requests.append(SeenRequest(
                    url.path, query, {k.lower(): v for k, v in self.headers.items()},
                    self.client_address[1]))
            if arr.garbage:
                return self._send(200, b"<html><body>Login</body></html>", "text/html")
            if arr.trickle:
                return self._trickle()
            base = arr.url_base.lower()
            if not url.path.lower().startswith(base + "/api/"):
                return self._send(404, b"", None)
            if not arr.allows(query, self.headers):
                return self._send(401, b"", None)  # HandleChallengeAsync: no body
            try:
                status, body = arr.answer(url.path[len(base):], query)
            except BadParameter as exc:
                status, body = 400, exc.problem
            if isinstance(body, list) and arr.cut_after is not None:
                return self._cut(body)
            payload = json.dumps(body).encode() if body is not None else b""
            self._send(status, payload, "application/json; charset=utf-8" if payload
                       else None)

        def _cut(self, body: list[Any]) -> None:
            """The first items and half of the next, then the connection closes: an arr
            that restarts in the middle of an answer."""
            keep, arr.cut_after = arr.cut_after or 0, None
            whole = json.dumps(body).encode()
            sent = "[" + ", ".join(json.dumps(item) for item in body[:keep])
            sent += ", " + json.dumps(body[keep])[:40] if keep < len(body) else ""
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(whole)))
            self.end_headers()
            self.wfile.write(sent.encode())
            self.close_connection = True

        def _trickle(self) -> None:  # JSON white space, a byte every 0.2 s, for ever

            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            while not arr._closed.wait(0.2):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return

        def _send(self, status: int, body: bytes, content_type: str | None) -> None:
            if body and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                body = gzip.compress(body)
                self.send_response(status)
                self.send_header("Content-Encoding", "gzip")
            else:
                self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("X-Application-Version", VERSIONS[arr.app])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
