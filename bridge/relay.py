"""Spool first, then publish: how an accepted webhook reaches the broker without ever being lost.

`accept` commits the event to the spool, hands it to the MQTT client (which keeps it in
order and re-sends it across reconnects) and waits a moment for the broker's PUBACK. The
answer says "published" if it came, "spooled" if not: either way the event is safe.
A PUBACK removes the row; rows left at exit are re-sent, same ids, at the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Literal

from bridge.mqtt import MqttConnection
from bridge.spool import Spool, SpooledEvent

log = logging.getLogger(__name__)

Outcome = Literal["published", "spooled"]


class EventRelay:
    def __init__(self, spool: Spool, mqtt: MqttConnection, ack_wait: float) -> None:
        self._spool = spool
        self._mqtt = mqtt
        self._ack_wait = ack_wait
        self._order = threading.Lock()  # spool order == publish order
        self._acked: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._janitor = threading.Thread(target=self._remove_acked, name="spool-janitor",
                                         daemon=True)

    def start(self) -> int:
        """Re-send what an earlier run left in the spool; returns how many."""
        self._janitor.start()
        leftovers = self._spool.pending()
        for event in leftovers:
            self._send(event, threading.Event())
        if leftovers:
            log.info("re-sending %d spooled event(s) from an earlier run", len(leftovers))
        return len(leftovers)

    def accept(self, event: SpooledEvent) -> Outcome:
        delivered = threading.Event()
        with self._order:
            self._spool.add(event)
            self._send(event, delivered)
        if self._mqtt.connected.is_set() and delivered.wait(self._ack_wait):
            return "published"
        return "spooled"

    def stop(self) -> None:
        self._acked.put(None)
        if self._janitor.is_alive():
            self._janitor.join(timeout=5)

    def spooled(self) -> int:
        return self._spool.count()

    @property
    def broker_connected(self) -> bool:
        return self._mqtt.connected.is_set()

    def _send(self, event: SpooledEvent, delivered: threading.Event) -> None:
        def done(ok: bool) -> None:
            if ok:
                self._acked.put(event.id)
                delivered.set()
            else:
                log.error("event %s stays spooled: the broker refused it", event.id)

        self._mqtt.publish(event.topic, event.body, qos=1, on_done=done)

    def _remove_acked(self) -> None:
        while True:
            batch = [self._acked.get()]
            while not self._acked.empty() and len(batch) < 500:
                batch.append(self._acked.get())
            ids = [i for i in batch if i is not None]
            if ids:
                try:
                    self._spool.remove(ids)
                except Exception:
                    log.exception("could not remove delivered events from the spool")
            if None in batch:
                return
