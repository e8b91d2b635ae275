"""The floor for accepting webhooks: a bare Flask app on waitress that commits each body to
SQLite (WAL, synchronous=FULL, one commit per request) and answers 200. Nothing else: no
parsing, no MQTT. Run as its own process by the benchmark:

    python -m tests.benchmarks.floor_app PORT DB_PATH THREADS
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading

from flask import Flask, request
from waitress import serve


def create_app(path: str) -> Flask:
    app = Flask("floor")
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS bodies (seq INTEGER PRIMARY KEY, body TEXT)")
    lock = threading.Lock()  # guards the one connection, as the bridge's spool does

    @app.post("/webhook/<app_name>")
    def webhook(app_name: str) -> tuple[str, int]:
        body = request.get_data(as_text=True)
        with lock:
            db.execute("INSERT INTO bodies (body) VALUES (?)", (body,))
        return '{"status":"stored"}', 200

    return app


if __name__ == "__main__":
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" is the point
    port, path, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    serve(create_app(path), host="127.0.0.1", port=port, threads=threads, _quiet=True)
