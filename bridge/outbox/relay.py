"""Spool first, then publish: how an accepted webhook reaches the broker without ever being lost.

`accept` commits the event to the spool and wakes the sender, then waits a moment for the
broker's PUBACK: the answer says "published" if it came, "spooled" if not; either way the
event is safe. The sender publishes spooled events in order while the broker is connected,
with a bounded number in flight, so a long outage costs disk, not memory. A PUBACK removes
the row; rows left at exit are re-sent, same ids, at the next start.

No single event can stop the rest. paho forgets what it had not delivered at each reconnect
and the sender re-sends from the spool itself, so it can count: after a connection dropped
with events in flight, it sends one at a time until one is acknowledged, and an event that
was alone in flight each of `MAX_STRIKES` times the broker dropped the connection, one the
broker refuses (a failure PUBACK), or one over `mqtt.max_packet_bytes` goes to the dead
letters with an alert. The sender never dies: if the spool cannot be read, the relay is
failing, webhooks get 503 and `/health` says why, until it works again.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from typing import Any, Literal

from paho.mqtt.reasoncodes import ReasonCode

from arrsync.limits import packet_bytes
from arrsync.mqtt import MqttConnection
from arrsync.sqlitefile import damaged
from arrsync.wire.alert import Problem
from bridge.outbox.alerts import AlertOutbox
from bridge.outbox.deadletter import RESEND_HINT, DeadLetters
from bridge.outbox.spool import LOST, Spool, SpooledEvent

log = logging.getLogger(__name__)

Outcome = Literal["published", "spooled"]
MAX_IN_FLIGHT = 200  # well below paho's 65535 message ids
MAX_STRIKES = 3      # dropped connections while an event was alone in flight: a poison event
RETRY_S = 5.0        # a failing spool is tried again this often


class RelayUnavailable(Exception):
    """The relay cannot take or deliver events; the message says why and what to do."""


class EventRelay:
    def __init__(self, spool: Spool, mqtt: MqttConnection, ack_wait: float,
                 max_packet_bytes: int) -> None:
        self._spool = spool
        self._mqtt = mqtt
        self._ack_wait = ack_wait
        self._limit = max_packet_bytes
        self._dead = DeadLetters(spool)
        self._alerts = AlertOutbox(mqtt)
        # Guards the sending state below and wakes the sender; no I/O under it.
        self._cond = threading.Condition()
        self._in_flight: set[str] = set()
        self._waiters: dict[str, threading.Event] = {}
        self._acked: list[str] = []
        self._refused: list[tuple[str, str]] = []  # (event id, reason): to the dead letters
        self._strikes: dict[str, int] = {}
        self._probing = False  # a connection dropped with events in flight: one at a time
        self._epoch = 0        # connections so far; a batch begun on an older one stops
        self._last_sent = 0    # spool sequence number of the last event handed to MQTT
        self._failure: str | None = None        # why the sender cannot use the spool
        self._write_failure: str | None = None  # why the last accept could not store
        self._stopping = False
        self._sender = threading.Thread(target=self._send_loop, name="relay", daemon=True)
        mqtt.on_connection(self._connection)

    def start(self) -> int:
        """Start sending; returns how many events an earlier run left in the spool."""
        leftovers = self._spool.count()
        if leftovers:
            log.info("re-sending %d spooled event(s) from an earlier run", leftovers)
        dead = self._dead.count()
        if dead:
            log.warning("%d event(s) wait in the dead letters of %s; %s", dead,
                        self._spool.path, RESEND_HINT)
        self._sender.start()
        return leftovers

    def accept(self, event: SpooledEvent) -> Outcome:
        """Spool the event (RelayUnavailable if that fails or nothing could deliver it)."""
        with self._cond:
            if self._failure:
                raise RelayUnavailable(self._failure)
            delivered = threading.Event()
            self._waiters[event.id] = delivered
        try:
            try:
                self._spool.add(event)
            except sqlite3.IntegrityError:
                raise  # the same id is spooled already (catch-up after a crash): not a failure
            except sqlite3.Error as exc:
                problem = self._spool_problem(exc)
                with self._cond:
                    self._write_failure = problem
                log.error("could not spool event %s: %s", event.id, problem)
                raise RelayUnavailable(problem) from None
            with self._cond:
                self._write_failure = None
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
        try:
            self._remove_acked()
        except sqlite3.Error as exc:
            log.error("could not remove delivered events from the spool: %s", exc)

    def spooled(self) -> int:
        return self._spool.count()

    def dead_letters(self) -> int:
        """Events set aside because the broker would not take them (`/metrics` reads it)."""
        return self._dead.count()

    @property
    def broker_connected(self) -> bool:
        return self._mqtt.connected.is_set()

    def health(self) -> dict[str, Any]:
        """`/health`'s answer: ok, degraded (dead letters) or failing (the spool), and why."""
        with self._cond:
            problem = self._failure or self._write_failure
        spooled = dead = None
        try:
            spooled, dead = self._spool.count(), self._dead.count()
        except sqlite3.Error as exc:
            problem = problem or self._spool_problem(exc)
        if not problem and dead:
            problem = f"{dead} event(s) set aside as dead letters (see the bridge log); " \
                      + RESEND_HINT.replace("it is kept", "they are kept")
        status = "failing" if spooled is None or self._failure or self._write_failure else \
            "degraded" if dead else "ok"
        return {"status": status, "broker": "connected" if self.broker_connected
                else "disconnected", "spooled": spooled, "dead_letters": dead,
                "problem": problem}

    # -- the sender thread -------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            try:
                busy = self._send_round()
                self._set_failure(None)
            except Exception as exc:  # a sender that died would leave a bridge that says 202
                if not isinstance(exc, sqlite3.Error):
                    log.exception("the relay failed")
                self._set_failure(self._spool_problem(exc))
                busy = False
            with self._cond:
                if self._stopping:
                    return
                if not busy:
                    # Woken by accept(), a PUBACK, a reconnect, or the periodic check.
                    self._cond.wait(RETRY_S if self._failure else 0.2)

    def _send_round(self) -> bool:
        """Clean up, then hand the next events to MQTT; True if there may be more to do."""
        if self._mqtt.connected.is_set():
            self._alerts.flush()
        self._remove_acked()
        self._bury_refused()
        with self._cond:
            failing = self._failure is not None
        if failing:
            self._spool.count()  # reads every row: proves the spool is readable again
        with self._cond:
            if self._stopping:
                return False
            room = (1 if self._probing else MAX_IN_FLIGHT) - len(self._in_flight)
            connected = self._mqtt.connected.is_set()
            epoch, last = self._epoch, self._last_sent
        if not connected:
            return False
        batch = self._spool.after(last, room) if room > 0 else []
        for seq, event in batch:
            size = packet_bytes(event.topic, event.body)
            with self._cond:
                if self._epoch != epoch or self._stopping:
                    break
                self._last_sent = seq
                if size > self._limit:
                    self._refused.append((event.id, f"it is {size} bytes, over "
                                          f"mqtt.max_packet_bytes ({self._limit})"))
                    continue
                self._in_flight.add(event.id)
            self._mqtt.publish(event.topic, event.body, qos=1,
                               on_done=functools.partial(self._delivered, event),
                               on_refused=functools.partial(self._refused_by_broker, event))
        with self._cond:
            return bool(batch or self._acked or self._refused)

    def _connection(self, connected: bool) -> None:
        """On the network thread. Connected: paho dropped what it had not delivered, so send
        again from the spool. Dropped with events in flight: count strikes, go one by one."""
        with self._cond:
            if connected:
                self._epoch += 1
                self._in_flight.clear()
                self._last_sent = 0
            elif self._in_flight:
                if self._probing and len(self._in_flight) == 1:
                    (alone,) = self._in_flight
                    strikes = self._strikes[alone] = self._strikes.get(alone, 0) + 1
                    if strikes >= MAX_STRIKES:
                        self._refused.append((alone, f"the broker dropped the connection each "
                                              f"of the {strikes} times it was sent alone"))
                self._probing = True
            self._cond.notify_all()

    def _delivered(self, event: SpooledEvent, ok: bool) -> None:
        """On the network thread: record the PUBACK; the sender thread touches the disk."""
        with self._cond:
            self._in_flight.discard(event.id)
            if ok:
                self._acked.append(event.id)
                self._probing = False
                self._strikes.pop(event.id, None)
                waiter = self._waiters.get(event.id)
                if waiter:
                    waiter.set()
            elif all(event.id != refused for refused, _reason in self._refused):
                self._refused.append((event.id, "the broker did not take it"))
            self._cond.notify_all()

    def _refused_by_broker(self, event: SpooledEvent, reason: ReasonCode) -> None:
        """On the network thread, just before `_delivered(False)`: the broker's reason."""
        with self._cond:
            self._refused.append((event.id, f"the broker refused it ({reason}: see its log "
                                  "and its ACL)"))

    def _remove_acked(self) -> None:
        with self._cond:
            acked, self._acked = self._acked, []
        if acked:
            try:
                self._spool.remove(acked)
            except BaseException:
                with self._cond:
                    self._acked = acked + self._acked
                raise

    def _bury_refused(self) -> None:
        with self._cond:
            refused, self._refused = self._refused, []
        for index, (event_id, reason) in enumerate(refused):
            try:
                buried = self._dead.bury(event_id, reason)
            except BaseException:
                with self._cond:
                    self._refused = refused[index:] + self._refused
                raise
            with self._cond:
                self._strikes.pop(event_id, None)
            if buried:
                message = f"event {event_id} was set aside: {reason}; {RESEND_HINT}"
                log.error("%s", message)
                self._alerts.add(Problem.DEAD_LETTER, True, message)

    # -- failing and recovering --------------------------------------------------------------
    def _spool_problem(self, exc: BaseException) -> str:
        path = self._spool.path
        if type(exc) is sqlite3.DatabaseError:  # "malformed", "not a database": damaged
            return damaged("bridge spool", path, str(exc), LOST)
        if isinstance(exc, sqlite3.Error):
            return (f"cannot read or write the bridge spool {path} ({exc}): free space on its "
                    "disk or fix its permissions; webhooks get 503 until it works again")
        return f"the relay failed ({type(exc).__name__}); see the bridge log"

    def _set_failure(self, problem: str | None) -> None:
        with self._cond:
            before, self._failure = self._failure, problem
        if problem and problem != before:
            log.error("webhooks are refused with 503: %s", problem)
            self._alerts.add(Problem.SPOOL, True, problem)
        elif before and not problem:
            log.warning("the spool %s works again; webhooks are accepted", self._spool.path)
            self._alerts.add(Problem.SPOOL, False, f"the spool {self._spool.path} works again")
