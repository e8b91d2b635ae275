"""The spool's group commit: concurrent webhooks share commits, and none is answered before
its row is on disk; a burst through the real bridge is delivered once each and drains."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from arrsync.settings import Settings
from bridge.outbox.spool import Spool, SpooledEvent
from tests.bridge.test_outage import movie_import, spooled_rows
from tests.helpers import MqttWatcher, http, wait_until
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker


def event(n: int) -> SpooledEvent:
    return SpooledEvent(f"id-{n:03d}", "arrsync/events/radarr/Download", json.dumps({"n": n}))


def test_requests_that_arrive_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    commits = []
    real_execute = spool._db.execute

    class CountingConnection:
        def __getattr__(self, name: str) -> object:
            return getattr(real_db, name)

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "COMMIT":
                commits.append(sql)
            return real_execute(sql, *args)

    real_db = spool._db
    spool._db = CountingConnection()  # type: ignore[assignment]
    answered: list[int] = []

    def add(n: int) -> None:
        spool.add(event(n))
        # Answered only now: the row must already be readable from another connection.
        with sqlite3.connect(tmp_path / "spool.db") as other:
            assert other.execute("SELECT 1 FROM events WHERE id = ?", (f"id-{n:03d}",)
                                 ).fetchone()
        answered.append(n)

    with spool._lock:  # the first request's commit (its fsync) takes a while
        first = threading.Thread(target=add, args=(0,))
        first.start()
        wait_until(lambda: spool._committing and not spool._pending, message="a commit")
        others = [threading.Thread(target=add, args=(n,)) for n in range(1, 8)]
        for thread in others:
            thread.start()
        wait_until(lambda: len(spool._pending) == 7, message="7 requests waiting")
        assert answered == []  # nobody is answered before the commit that stores it
    for thread in [first, *others]:
        thread.join()
    assert sorted(answered) == list(range(8))
    assert len(commits) == 2  # the first alone, then the seven that came during it, together
    assert sorted(e.id for _, e in spool.after(0, 100)) == [f"id-{n:03d}" for n in range(8)]
    spool._db = real_db
    spool.remove([f"id-{n:03d}" for n in range(0, 8, 2)])
    assert spool.count() == 4
    spool.close()


def test_a_failed_commit_fails_every_request_that_shared_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    errors: list[Exception] = []

    def add(n: int) -> None:
        try:
            spool.add(event(n))
        except sqlite3.Error as exc:
            errors.append(exc)

    with spool._lock:
        threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(spool._pending) == 3, message="3 requests waiting")
        spool._db.close()  # as good as a full disk or a deleted spool file
    for thread in threads:
        thread.join()
    assert len(errors) == 4  # each one is refused (503), none is answered as stored


def test_a_burst_is_delivered_once_each_and_the_spool_drains(
    broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge], base_topic: str,
) -> None:
    settings = make_settings(broker)
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    with MqttWatcher(broker.port, [f"{base_topic}/events/#"]) as watcher:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(
                lambda n: http("POST", f"{bridge.url}/webhook/radarr", movie_import(n)),
                range(100)))
        assert {a.status for a in answers} <= {200, 202}
        ids = sorted(a.json()["id"] for a in answers)
        watcher.wait_for("/Download", count=100, timeout=30)
        wait_until(lambda: spooled_rows(settings) == 0, message="spool drained")
        received = sorted(m.json()["id"] for m in watcher.on("/Download"))
    assert received == ids  # each accepted event, once
