"""Catch-up: imports the arrs recorded in their history but whose webhook never came.

The arrs never retry a webhook, so an import made while the bridge was down is otherwise
never synced. On its own thread (never on the request path), at start and every
`catch_up.interval`, each arr's history is read from where the last read left off, and every
import whose file did not arrive by webhook is published as an ordinary event with
`"replayed": true`, through the relay: spooled first, never lost.

Reading the history: the arrs write dates in whole seconds and `since` is inclusive, so the
read starts a little before the newest date seen (records of one second may be committed
out of order) and records are told apart by id. An arr that cannot be read is logged and
tried again at the next interval; it stops nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from arrsync.arrs.client import ArrClient, ArrUnreadable, HistoryImport
from arrsync.settings import ArrInstance, Settings
from arrsync.topics import Topics
from bridge.catchup.ledger import CatchUpLedger
from bridge.catchup.replay import by_file, replayed_event
from bridge.outbox.relay import RelayUnavailable
from bridge.outbox.spool import SpooledEvent
from bridge.webhooks.envelope import UnreadableEnvelope

log = logging.getLogger(__name__)

OVERLAP_S = 60  # re-read this much before the newest date seen
WEBHOOK_SLACK_S = 900  # a webhook this much older than the record still counts as its own
REMEMBER_S = 30 * 86400  # how long the files that came by webhook are remembered


class Relay(Protocol):
    def accept(self, event: SpooledEvent) -> str: ...


class CatchUp:
    def __init__(self, settings: Settings, relay: Relay, ledger: CatchUpLedger, *,
                 clock: Callable[[], float] = time.time,
                 client: Callable[[ArrInstance], ArrClient] = ArrClient) -> None:
        self.arrs = settings.arrs
        self.interval = settings.catch_up.interval
        self.topics = Topics(settings.mqtt.base_topic)
        self.relay = relay
        self.ledger = ledger
        self.clock = clock
        self._client = client
        # Guards rounds, _poked, _stopping (the loop's wake-up) and _received; nothing slow
        # runs under it.
        self._cond = threading.Condition()
        # Files of imports that came by webhook, not yet written to the ledger: the ledger
        # shares the spool's file, so a write from the HTTP thread would queue behind the
        # spool's commits; the catch-up thread writes them before it reads.
        self._received: dict[str, float] = {}
        self.rounds = 0  # completed reads of every arr (poll_now: the tests wait on it)
        self._reading = False
        self._poked = False
        self._stopping = False
        self._failing: dict[str, str] = {}  # arr name → the problem last logged
        self._thread = threading.Thread(target=self._loop, name="catch-up", daemon=True)

    def start(self) -> None:
        names = ", ".join(arr.name for arr in self.arrs)
        log.info("catch-up: reading the history of %s now and every %d s", names, self.interval)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)  # a read in progress ends at its HTTP timeout
        self._note_received()
        self.ledger.close()

    def poll_now(self) -> int:
        """Ask for a read of every arr now; returns the value `rounds` has once a read that
        began after this call is complete."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()
            return self.rounds + (2 if self._reading else 1)

    def remember_webhook(self, paths: list[str]) -> None:
        """On an HTTP thread, after an import's webhook was accepted: noted in memory."""
        now = self.clock()
        with self._cond:
            self._received.update((path, now) for path in paths)

    def _note_received(self) -> None:
        """Write the files that came by webhook to the ledger (lost in a crash: a replay of
        one later costs a skipped job, nothing more)."""
        with self._cond:
            noted, self._received = self._received, {}
        try:
            self.ledger.received(noted.items())
        except sqlite3.Error as exc:
            log.warning("catch-up could not note the imports that came by webhook: %s", exc)

    def _came_by_webhook(self, path: str, since: float) -> bool:
        with self._cond:
            noted = self._received.get(path)
        return (noted is not None and noted >= since) or self.ledger.received_since(path, since)

    # -- the loop ---------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                self._reading = True
            self.read_all()
            with self._cond:
                self._reading = False
                self.rounds += 1
                self._cond.notify_all()
                if not self._poked and not self._stopping:
                    self._cond.wait(self.interval)
                self._poked = False
                if self._stopping:
                    return

    def read_all(self) -> None:
        self._note_received()
        for arr in self.arrs:
            with self._cond:
                if self._stopping:
                    return
            self._read_safely(arr)
        try:
            self.ledger.forget_received(self.clock() - REMEMBER_S)
        except sqlite3.Error as exc:
            log.warning("catch-up could not prune what it remembers: %s", exc)

    def _read_safely(self, arr: ArrInstance) -> None:
        try:
            replayed = self.read(arr)
        except ArrUnreadable as exc:
            if self._failing.get(arr.name) != exc.problem:
                log.error("catch-up cannot read the history of %s; trying again in %d s",
                          exc, self.interval)
            else:
                log.warning("catch-up still cannot read %s: %s", arr.name, exc.problem)
            self._failing[arr.name] = exc.problem
            return
        except (sqlite3.Error, RelayUnavailable) as exc:
            log.error("catch-up for %s: the spool cannot be written (%s); trying again in "
                      "%d s", arr.name, exc, self.interval)
            return
        except Exception:
            log.exception("catch-up for %s failed; trying again in %d s", arr.name,
                          self.interval)
            return
        if self._failing.pop(arr.name, None):
            log.info("catch-up reads the history of %s again", arr.name)
        if replayed:
            log.info("catch-up: %d import(s) of %s came by no webhook and were replayed",
                     replayed, arr.name)

    def read(self, arr: ArrInstance) -> int:
        """Read one arr's new history and replay what no webhook brought; returns how many."""
        now = self.clock()
        cursor = self.ledger.cursor(arr.name, now)
        floor = float(int(cursor.floor))  # the arrs' dates have whole seconds
        start = max(cursor.since - OVERLAP_S, floor)
        with self._client(arr) as client:
            records = client.imports_since(datetime.fromtimestamp(start, UTC))
        seen = self.ledger.seen_ids(arr.name)
        fresh = [r for r in records if r.id not in seen and r.date.timestamp() >= floor]
        replayed = 0
        for group in by_file(fresh):
            if self._replay(arr, group, now):
                replayed += 1
        newest = max((r.date.timestamp() for r in records), default=cursor.since)
        self.ledger.advance(arr.name, newest, keep_seen_after=newest - OVERLAP_S - 1)
        return replayed

    def _replay(self, arr: ArrInstance, group: list[HistoryImport], now: float) -> bool:
        """Publish one file's import unless a webhook brought it; then note it handled."""
        path = group[0].imported_path
        earliest = min(r.date.timestamp() for r in group)
        came = self._came_by_webhook(path, earliest - WEBHOOK_SLACK_S)
        if came:
            log.debug("catch-up: %s of %s came by webhook", path, arr.name)
        else:
            try:
                event = replayed_event(arr, group, self.topics)
                outcome = self.relay.accept(event)
            except UnreadableEnvelope as exc:  # one odd record must not stop the catch-up
                outcome = f"skipped: {exc}"
            except sqlite3.IntegrityError:  # still spooled from a read a crash interrupted
                outcome = "already spooled"
            log.info("catch-up replays an import of %s that came by no webhook: %s (%s)",
                     arr.name, path, outcome)
        self.ledger.handled(arr.name, [(r.id, r.date.timestamp()) for r in group], path, now)
        return not came


def build_catch_up(settings: Settings, relay: Relay) -> CatchUp | None:
    """The catch-up of the configured arrs, or None when there are none or it is off."""
    if not settings.arrs or settings.catch_up.interval == 0:
        return None
    return CatchUp(settings, relay, CatchUpLedger(settings.bridge.spool_path))
