"""A Radarr API stand-in, the one part of a home that cannot run here: the movies the check
imported (the audit reads them: the "Audit now" button) and an empty import history (the
bridge's catch-up reads it). Checks the API key as Radarr does."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API_KEY = "0123456789abcdef0123456789abcdef"


class StandInRadarr:
    def __init__(self) -> None:
        self.movies: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards movies
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("X-Api-Key") != API_KEY:
                    self._answer(401, {"error": "Unauthorized"})
                    return
                path = urlsplit(self.path).path
                if path == "/api/v3/movie":
                    with owner._lock:
                        self._answer(200, list(owner.movies))
                elif path == "/api/v3/history/since":
                    self._answer(200, [])
                else:
                    self._answer(404, {"error": "NotFound"})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_movie(self, title: str, year: int, folder: str, file: str, size: int) -> None:
        with self._lock:
            number = len(self.movies) + 1
            self.movies.append({"id": number, "title": title, "year": year, "path": folder,
                                "movieFile": {"id": number, "relativePath": file,
                                              "path": f"{folder}/{file}", "size": size}})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
