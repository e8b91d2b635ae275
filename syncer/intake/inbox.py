"""The intake thread: messages handled in drained batches, acknowledged once handled.

Messages arrive on the network thread and wait in a queue. What has arrived is taken
together (up to `BATCH`): the events of a batch are planned one after the other
(`IntakeBatch`: as if each were committed before the next), their jobs are committed in one
transaction with their ids, and only then are they acknowledged: the broker redelivers
anything not acknowledged. A request acts at once (a retry, a dismissal), so it is handled
in a batch of its own. While the job store cannot be written the batch is kept,
unacknowledged, and tried again every `RETRY_S` (`syncer.jobs.health`); a message that fails for
any other reason is logged and acknowledged, so it cannot block the ones behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import paho.mqtt.client as paho

from arrsync.wire.job import ACTIVE, JobAction
from arrsync.wire.request import RequestAnswer
from syncer.jobs.health import RETRY_S, StoreHealth, is_store_failure
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore, at_or_below

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600
BATCH = 200  # messages handled together at most (the broker sends 20 unacknowledged)


@dataclass
class Entry:
    key: str | None                                    # event or request id, for repeats
    jobs: list[Job]                                    # to store
    announce: list[Job] = field(default_factory=list)  # statuses to publish once stored


class IntakeBatch:
    """The jobs of a batch's messages, planned one after the other, stored together."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self.entries: list[Entry] = []
        self.answers: list[RequestAnswer] = []  # to publish once stored
        self._keys: set[str] = set()
        self._jobs: dict[str, list[Job]] = {}  # mapping → this batch's active jobs, in order

    def seen(self, key: str | None) -> bool:
        """The event or request id was stored before, or came earlier in this batch."""
        if key is None:
            return False
        return key in self._keys or self._store.has_event(key)

    def owners(self, mapping: str, paths: Iterable[str], succeeded_since: float
               ) -> dict[str, str]:
        """Like `JobStore.owners`, with the active jobs of this batch's earlier messages."""
        found = self._store.owners(mapping, paths, succeeded_since)
        for job in self._jobs.get(mapping, []):
            if job.action is not JobAction.RECYCLE:
                found.update((path, job.id) for path in job.paths)
                continue
            for held in [p for p in found if any(at_or_below(p, gone) for gone in job.paths)]:
                del found[held]
        return found

    def add(self, key: str | None, jobs: list[Job], announce: list[Job] | None = None) -> None:
        self.entries.append(Entry(key, jobs, jobs if announce is None else announce))
        if key is not None:
            self._keys.add(key)
        for job in jobs:
            if job.mapping and job.state in ACTIVE:
                self._jobs.setdefault(job.mapping, []).append(job)


class Intake:
    def __init__(self, handle: Callable[[list[paho.MQTTMessage]], None],
                 ack: Callable[[int, int], None], store: JobStore, health: StoreHealth,
                 prune_before: Callable[[], float],
                 alone: Callable[[paho.MQTTMessage], bool]) -> None:
        """`handle(messages)` plans and stores a batch; `alone(message)`: it is handled in a
        batch of its own; `prune_before()`: finished jobs older than this are pruned,
        hourly."""
        self._handle = handle
        self._alone = alone
        self._next: paho.MQTTMessage | None = None  # taken from the queue, for the next batch
        self._ack = ack
        self._store = store
        self._health = health
        self._prune_before = prune_before
        self._inbox: queue.Queue[paho.MQTTMessage | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="intake", daemon=True)

    def put(self, message: paho.MQTTMessage) -> None:
        """The MQTT message handler (network thread): never blocks."""
        self._inbox.put(message)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Take nothing more; a message still waiting for the store stays unacknowledged."""
        self._stopping.set()
        self._inbox.put(None)
        self._thread.join(timeout=timeout)

    def _run(self) -> None:
        next_prune = 0.0
        while True:
            if time.monotonic() >= next_prune:
                self._prune()
                next_prune = time.monotonic() + PRUNE_EVERY_S
            messages = self._batch()
            if messages is None:
                continue
            if not messages:
                return
            if not self._handled_until_stored(messages):
                return  # stopping: the broker keeps the messages and redelivers them
            for message in messages:
                self._ack(message.mid, message.qos)

    def _batch(self) -> list[paho.MQTTMessage] | None:
        """What has arrived: a request alone, or events; [] to stop, None after a while."""
        first, self._next = self._next, None
        if first is None:
            try:
                first = self._inbox.get(timeout=60)
            except queue.Empty:
                return None
        if first is None:
            return []
        messages = [first]
        while not self._alone(first) and len(messages) < BATCH:
            try:
                more = self._inbox.get_nowait()
            except queue.Empty:
                break
            if more is None or self._alone(more):
                self._next = more
                if more is None:
                    self._inbox.put(None)
                break
            messages.append(more)
        return messages

    def _handled_until_stored(self, messages: list[paho.MQTTMessage]) -> bool:
        """Handle a batch; True once it may be acknowledged, False if the syncer stops
        while the store still cannot take it."""
        while True:
            try:
                if self._health.failing:
                    self._store.probe()
                self._handle(messages)
            except Exception as exc:
                if not is_store_failure(exc):
                    log.exception("could not handle %d message(s) on %s; dropping them",
                                  len(messages), messages[0].topic)
                    return True
                self._health.failed(exc)
                if self._stopping.wait(RETRY_S):
                    return False
                continue
            self._health.worked()
            return True

    def _prune(self) -> None:
        try:
            removed = self._store.prune(self._prune_before())
        except Exception as exc:
            if not is_store_failure(exc):
                raise
            self._health.failed(exc)
            return
        if removed:
            log.info("pruned %d finished job(s)", removed)
