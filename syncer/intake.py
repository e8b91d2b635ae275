"""The intake thread: messages one at a time, each acknowledged only once it is handled.

Messages arrive on the network thread and wait in a queue. Each is handled (its jobs are
committed together with its id) and only then acknowledged: the broker redelivers anything
not acknowledged. While the job store cannot be written the message is kept, unacknowledged,
and tried again every `RETRY_S` (`storehealth`); a message that fails for any other reason
is logged and acknowledged, so it cannot block the ones behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho

from syncer.store import JobStore
from syncer.storehealth import RETRY_S, StoreHealth, is_store_failure

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600


class Intake:
    def __init__(self, handle: Callable[[paho.MQTTMessage], None],
                 ack: Callable[[int, int], None], store: JobStore, health: StoreHealth,
                 prune_before: Callable[[], float]) -> None:
        """`prune_before()`: finished jobs older than this time are pruned, hourly."""
        self._handle = handle
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
            try:
                message = self._inbox.get(timeout=60)
            except queue.Empty:
                continue
            if message is None:
                return
            if not self._handled_until_stored(message):
                return  # stopping: the broker keeps the message and redelivers it
            self._ack(message.mid, message.qos)

    def _handled_until_stored(self, message: paho.MQTTMessage) -> bool:
        """Handle a message; True once it may be acknowledged, False if the syncer stops
        while the store still cannot take it."""
        while True:
            try:
                if self._health.failing:
                    self._store.probe()
                self._handle(message)
            except Exception as exc:
                if not is_store_failure(exc):
                    log.exception("could not handle a message on %s; dropping it",
                                  message.topic)
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
