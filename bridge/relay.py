"""Spool first, then publish: how an accepted webhook reaches the broker without ever being lost.

`accept` commits the event to the spool and wakes the sender, then waits a moment for the
broker's PUBACK: the answer says "published" if it came, "spooled" if not; either way the
event is safe. The sender publishes spooled events in order while the broker is connected,
with a bounded number in flight (paho re-sends those after a reconnect), so a long outage
costs disk, not memory. A PUBACK removes the row; rows left at exit are re-sent, same ids,
at the next start.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Literal

from arrsync.mqtt import MqttConnection
from bridge.spool import Spool, SpooledEvent

log = logging.getLogger(__name__)

Outcome = Literal["published", "spooled"]
MAX_IN_FLIGHT = 200  # well below paho's 65535 message ids


class EventRelay:
    def __init__(self, spool: Spool, mqtt: MqttConnection, ack_wait: float) -> None:
        self._spool = spool
        self._mqtt = mqtt
        self._ack_wait = ack_wait
        self._cond = threading.Condition()
        self._in_flight: set[str] = set()
        self._waiters: dict[str, threading.Event] = {}
        self._acked: list[str] = []
        self._last_sent = 0  # spool sequence number of the last event handed to MQTT
        self._stopping = False
        self._sender = threading.Thread(target=self._send_loop, name="relay", daemon=True)

    def start(self) -> int:
        """Start sending; returns how many events an earlier run left in the spool."""
        leftovers = self._spool.count()
        if leftovers:
            log.info("re-sending %d spooled event(s) from an earlier run", leftovers)
        self._sender.start()
        return leftovers

    def accept(self, event: SpooledEvent) -> Outcome:
        delivered = threading.Event()
        with self._cond:
            self._waiters[event.id] = delivered
        try:
            self._spool.add(event)
            with self._cond:
                self._cond.notify_all()
            if self._mqtt.connected.is_set() and delivered.wait(self._ack_wait):
                return "published"
            return "spooled"
        finally:
            with self._cond:
                self._waiters.pop(event.id, None)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._sender.is_alive():
            self._sender.join(timeout=5)
        self._remove_acked()

    def spooled(self) -> int:
        return self._spool.count()

    @property
    def broker_connected(self) -> bool:
        return self._mqtt.connected.is_set()

    # -- the sender thread -------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            self._remove_acked()
            with self._cond:
                if self._stopping:
                    return
                room = MAX_IN_FLIGHT - len(self._in_flight)
                connected = self._mqtt.connected.is_set()
            batch = self._spool.after(self._last_sent, room) if connected and room > 0 else []
            for seq, event in batch:
                with self._cond:
                    self._in_flight.add(event.id)
                self._mqtt.publish(event.topic, event.body, qos=1,
                                   on_done=functools.partial(self._delivered, event))
                self._last_sent = seq
            with self._cond:
                if not batch and not self._acked and not self._stopping:
                    # Woken by accept(), a PUBACK, or the periodic check for a reconnect.
                    self._cond.wait(0.2)

    def _delivered(self, event: SpooledEvent, ok: bool) -> None:
        """On the network thread: record the PUBACK; the sender thread touches the disk."""
        with self._cond:
            self._in_flight.discard(event.id)
            if ok:
                self._acked.append(event.id)
                waiter = self._waiters.get(event.id)
                if waiter:
                    waiter.set()
            else:
                log.error("event %s stays spooled: the broker refused it (see its ACL); "
                          "it is re-sent at the next start", event.id)
            self._cond.notify_all()

    def _remove_acked(self) -> None:
        with self._cond:
            acked, self._acked = self._acked, []
        if acked:
            try:
                self._spool.remove(acked)
            except Exception:
                log.exception("could not remove delivered events from the spool")
