"""Catch-up: imports the arrs recorded in their history but whose webhook never came.

The arrs never retry a webhook, so an import made while the bridge was down is otherwise
never synced. On its own thread (never on the request path), at start and every
`catch_up.interval`, each arr's history is read from where the last read left off, and every
import whose file did not arrive by webhook is published as an ordinary event with
`"replayed": true`, through the relay: spooled first, never lost.

Reading the history: the arrs write dates in whole seconds and `since` is inclusive, so the
read starts a little before the newest date seen (records of one second may be committed
out of order) and records are told apart by id. The cursor never moves past now: a record
dated in the future (a NAS clock gone wrong) is replayed once and logged, and later imports
are still found. Each arr is read on a thread of its own, with short timeouts, a deadline
for a whole answer and a cap on its size, so one slow or dead arr delays no other; one that
cannot be read is logged and tried again at the next interval; it stops nothing. What each
arr's catch-up did last is on `/health` (`state()`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from arrsync.arrs.client import ArrClient, ArrUnreadable, HistoryImport
from arrsync.settings import ArrInstance, Settings
from arrsync.topics import Topics
from arrsync.wire.timestamps import iso_utc
from bridge.catchup.ledger import CatchUpLedger
from bridge.catchup.replay import FileGroups, replayed_event
from bridge.outbox.relay import RelayUnavailable
from bridge.outbox.spool import SpooledEvent
from bridge.webhooks.envelope import UnreadableEnvelope

log = logging.getLogger(__name__)

OVERLAP_S = 60  # re-read this much before the newest date seen
FUTURE_SLACK_S = 60  # a record dated later than now plus this is from a clock gone wrong
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEADLINE_S = 120.0  # the most one history answer may keep us waiting, in all
MAX_ANSWER_BYTES = 256 * 1024 * 1024


def catch_up_client(arr: ArrInstance) -> ArrClient:
    return ArrClient(arr, timeout=TIMEOUT, deadline_s=DEADLINE_S, max_bytes=MAX_ANSWER_BYTES)


@dataclass
class ArrState:
    """One arr's catch-up, as `/health` shows it."""

    last_read: str | None = None   # when its history was last read whole, ISO 8601 UTC
    last_error: str | None = None  # why the last read failed, or None
    replayed: int = 0              # imports replayed since the bridge started
    reading: bool = False
    rounds: int = 0                # reads ended (well or not)
WEBHOOK_SLACK_S = 900  # a webhook this much older than the record still counts as its own
REMEMBER_S = 30 * 86400  # how long the files that came by webhook are remembered


class Relay(Protocol):
    def accept(self, event: SpooledEvent) -> str: ...


class CatchUp:
    def __init__(self, settings: Settings, relay: Relay, ledger: CatchUpLedger, *,
                 clock: Callable[[], float] = time.time,
                 client: Callable[[ArrInstance], ArrClient] = catch_up_client) -> None:
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
        self._states = {arr.name: ArrState() for arr in self.arrs}
        self._poked: set[str] = set()
        self._stopping = False
        self._failing: dict[str, str] = {}  # arr name → the problem last logged
        self._threads = [threading.Thread(target=self._loop, args=(arr,), daemon=True,
                                          name=f"catch-up-{n}")
                         for n, arr in enumerate(self.arrs)]

    def start(self) -> None:
        names = ", ".join(arr.name for arr in self.arrs)
        log.info("catch-up: reading the history of %s now and every %d s", names, self.interval)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)  # a read in progress ends at its HTTP timeout
        self._note_received()
        self.ledger.close()

    @property
    def rounds(self) -> int:
        """Reads ended by every arr (the slowest arr's count)."""
        with self._cond:
            return min((state.rounds for state in self._states.values()), default=0)

    def poll_now(self) -> dict[str, int]:
        """Ask for a read of every arr now; `caught_up(answer)` is True once each arr has
        ended a read that began after this call."""
        with self._cond:
            self._poked = set(self._states)
            self._cond.notify_all()
            return {name: state.rounds + (2 if state.reading else 1)
                    for name, state in self._states.items()}

    def caught_up(self, target: dict[str, int]) -> bool:
        with self._cond:
            return all(self._states[name].rounds >= n for name, n in target.items())

    def state(self) -> dict[str, dict[str, Any]]:
        """Each arr's catch-up: last read, last error, imports replayed."""
        with self._cond:
            return {name: {"last_read": s.last_read, "last_error": s.last_error,
                           "replayed": s.replayed} for name, s in self._states.items()}

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

    # -- the loops, one per arr -------------------------------------------------------------
    def _loop(self, arr: ArrInstance) -> None:
        state = self._states[arr.name]
        while True:
            with self._cond:
                if self._stopping:
                    return
                state.reading = True
            self._note_received()
            self._read_safely(arr, state)
            self._forget_old()
            with self._cond:
                state.reading = False
                state.rounds += 1
                self._cond.notify_all()
                if arr.name not in self._poked and not self._stopping:
                    self._cond.wait(self.interval)
                self._poked.discard(arr.name)

    def _forget_old(self) -> None:
        try:
            self.ledger.forget_received(self.clock() - REMEMBER_S)
        except sqlite3.Error as exc:
            log.warning("catch-up could not prune what it remembers: %s", exc)

    def _read_safely(self, arr: ArrInstance, state: ArrState) -> None:
        try:
            replayed = self.read(arr)
        except Exception as exc:
            with self._cond:
                state.last_error = exc.problem if isinstance(exc, ArrUnreadable) else str(exc)
            self._log_failure(arr, exc)
            return
        with self._cond:
            state.last_read = iso_utc(self.clock())
            state.last_error = None
        if self._failing.pop(arr.name, None):
            log.info("catch-up reads the history of %s again", arr.name)
        if replayed:
            log.info("catch-up: %d import(s) of %s came by no webhook and were replayed",
                     replayed, arr.name)

    def _log_failure(self, arr: ArrInstance, exc: Exception) -> None:
        if isinstance(exc, ArrUnreadable):
            if self._failing.get(arr.name) != exc.problem:
                log.error("catch-up cannot read the history of %s; trying again in %d s",
                          exc, self.interval)
            else:
                log.warning("catch-up still cannot read %s: %s", arr.name, exc.problem)
            self._failing[arr.name] = exc.problem
        elif isinstance(exc, sqlite3.Error | RelayUnavailable):
            log.error("catch-up for %s: the spool cannot be written (%s); trying again in "
                      "%d s", arr.name, exc, self.interval)
        else:
            log.error("catch-up for %s failed; trying again in %d s", arr.name, self.interval,
                      exc_info=exc)

    def read(self, arr: ArrInstance) -> int:
        """Read one arr's new history and replay what no webhook brought; returns how many.

        The answer is read as it arrives and each file is replayed (spooled) as soon as its
        records are in, so memory does not grow with the length of an outage. A read cut
        short keeps what it replayed (handled, not replayed again) and leaves the cursor."""
        now = self.clock()
        cursor = self.ledger.cursor(arr.name, now)
        floor = float(int(cursor.floor))  # the arrs' dates have whole seconds
        start = max(cursor.since - OVERLAP_S, floor)
        seen = self.ledger.seen_ids(arr.name)
        newest, replayed = cursor.since, 0
        future, latest_future = 0, None
        groups = FileGroups()
        with self._client(arr) as client:
            for record in client.each_import_since(datetime.fromtimestamp(start, UTC)):
                at = record.date.timestamp()
                newest = max(newest, at)
                if at > now + FUTURE_SLACK_S:
                    future += 1
                    latest_future = max(latest_future or record.date, record.date)
                if record.id in seen or at < floor:
                    continue
                for group in groups.add(record):
                    replayed += self._replay(arr, group, now)
        for group in groups.rest():
            replayed += self._replay(arr, group, now)
        if future and latest_future:
            log.warning("catch-up: %d history record(s) of %s are dated in the future (the "
                        "latest %s: a clock gone wrong?); replayed once, the cursor stays at "
                        "now", future, arr.name, latest_future.isoformat())
        newest = min(newest, now)
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
        if not came:  # counted as it goes: a read cut off later keeps its count
            with self._cond:
                self._states[arr.name].replayed += 1
        return not came


def build_catch_up(settings: Settings, relay: Relay) -> CatchUp | None:
    """The catch-up of the configured arrs, or None when there are none or it is off."""
    if not settings.arrs or settings.catch_up.interval == 0:
        return None
    return CatchUp(settings, relay, CatchUpLedger(settings.bridge.spool_path))
