"""The MQTT client behind one small interface: every arrsync process talks to the broker here.

It owns the things that are easy to get wrong with paho-mqtt 2.x: the retained availability
topic with its last will, reconnecting and re-subscribing, durable sessions, and delivery
confirmation through `on_publish` (the only place a PUBACK, or its failure code, is seen).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from arrsync.limits import packet_bytes
from arrsync.settings import MqttSettings
from arrsync.takeover import TakeoverWatch
from arrsync.topics import Topics
from arrsync.transport import apply_tls, close_wakeup_sockets, no_delay, why_not

log = logging.getLogger(__name__)

Delivered = Callable[[bool], None]
Answer = Callable[[ReasonCode], None]  # takes the broker's reason code for one publish
MessageHandler = Callable[[paho.MQTTMessage], None]
ConnectionListener = Callable[[bool], None]

SESSION_EXPIRY_S = 30 * 24 * 3600  # a durable session outlives a month-long outage
WHY_EVERY_S = 60.0  # a broker that cannot be reached: why, in the log, at most this often


class MqttConnection:
    def __init__(
        self,
        settings: MqttSettings,
        component: str,
        *,
        client_id: str | None = None,
        durable_session: bool = False,
        manual_ack: bool = False,
        max_inflight: int = 100,
        announce: bool = True,
        resend_after_reconnect: bool = True,
        on_takeover_loop: Callable[[], None] | None = None,
        takeover_watch: TakeoverWatch | None = None,
        topics: Topics | None = None,
    ) -> None:
        """`announce`: keep the retained `<component>/availability` (services, not CLIs).
        `resend_after_reconnect=False`: paho forgets unacknowledged messages at each connect
        and the owner re-sends what it still wants (the bridge, whose spool knows).
        `on_takeover_loop`: called once if another client keeps taking over this client id,
        as `takeover_watch` (default: `TakeoverWatch()`, its timings) decides. `topics`: a
        named syncer's (`Topics(base, syncer=name)`); default: the base topic's."""
        self.settings = settings
        self.topics = topics or Topics(settings.base_topic)
        self.component = component
        self.durable_session = durable_session
        self.connected = threading.Event()
        self._answered = threading.Event()  # a CONNACK came (accepted or refused), or TCP failed
        self.login_refused: ReasonCode | None = None  # the last CONNACK's failure, if any
        self._availability = self.topics.availability(component) if announce else None
        self._subscriptions: list[tuple[str, int]] = []
        self._handler: MessageHandler | None = None
        self._lock = threading.Lock()
        self._waiting: dict[int, Answer] = {}
        self._early: dict[int, ReasonCode] = {}  # PUBACKs that beat the registration of their mid
        self._stopping = False
        self._said_why_at = float("-inf")  # when the last "cannot connect" reason was logged
        # Told the seconds from publish() to the broker's acknowledgement (bridge metrics).
        self.delivery_timer: Callable[[float], None] | None = None
        self._resend = resend_after_reconnect
        self._listeners: list[ConnectionListener] = []
        self._takeovers = (takeover_watch or TakeoverWatch()) if on_takeover_loop else None
        self._on_takeover_loop = on_takeover_loop

        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"arrsync-{component}-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=manual_ack,
        )
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, password)
        if self._availability:
            self._client.will_set(self._availability, "offline", qos=1, retain=True)
        apply_tls(self._client, settings)  # TlsUnusable: checked at start-up (arrsync.startup)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    # -- set-up ---------------------------------------------------------------------------
    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now and again after every reconnect."""
        self._subscriptions.append((topic, qos))
        if self.connected.is_set():
            self._client.subscribe(topic, qos)

    def on_message(self, handler: MessageHandler) -> None:
        self._handler = handler

    def on_connection(self, listener: ConnectionListener) -> None:
        """`listener(True)` after each connect, `listener(False)` after each disconnect, on
        the network thread, before `connected` changes."""
        self._listeners.append(listener)

    def start(self) -> None:
        properties = None
        if self.durable_session:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(self.settings.host, self.settings.port,
                                   keepalive=self.settings.keepalive,
                                   clean_start=not self.durable_session, properties=properties)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def connection_problem(self, timeout: float) -> str | None:
        """Wait for the broker's answer: None once connected, else what went wrong, in words.
        A refused login or an unreachable broker (connection refused, unknown host) ends the
        wait at once; only a broker that does not answer at all makes it last `timeout`."""
        self._answered.wait(timeout)
        if self.connected.is_set():
            return None
        where = f"{self.settings.host}:{self.settings.port}"
        refused = self.login_refused
        if refused is None:
            return why_not(self.settings)
        who = f"as user {self.settings.username}" if self.settings.username else "anonymously"
        return (f"the broker at {where} refused the login {who}: {refused.getName()} "
                "(check mqtt.username and mqtt.password)")

    def stop(self, timeout: float = 2.0) -> None:
        """Say `offline` (a clean disconnect sends no will), then disconnect."""
        self._stopping = True
        if self._availability and self.connected.is_set():
            done = threading.Event()
            self.publish(self._availability, "offline", retain=True, on_done=lambda _ok: done.set())
            done.wait(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        close_wakeup_sockets(self._client)

    # -- traffic --------------------------------------------------------------------------
    def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False,
                on_done: Delivered | None = None, on_refused: Answer | None = None) -> int:
        """Publish; `on_done(ok)` runs on the network thread once the broker answered, after
        `on_refused(reason)` when the broker refused it (a v5 PUBACK failure: 0x87 is the ACL).

        While disconnected, paho keeps the message and sends it after reconnecting. A message
        over `mqtt.max_packet_bytes` is not sent at all (the broker would drop the connection,
        and paho would send it again at every reconnect): it is logged, `on_done(False)`.
        """
        size = packet_bytes(topic, payload)
        if size > self.settings.max_packet_bytes:
            log.error("not publishing %d bytes on %s: over mqtt.max_packet_bytes (%d), the "
                      "broker would drop the connection", size, topic,
                      self.settings.max_packet_bytes)
            if on_done:
                on_done(False)
            return -1
        started = time.monotonic()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        log.debug("publish %s (mid %s, %d bytes)", topic, info.mid, len(payload))
        callback = self._answer(topic, on_done, on_refused, started)
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = callback
                return info.mid
        callback(early)
        return info.mid

    def ack(self, mid: int, qos: int) -> None:
        self._client.ack(mid, qos)

    def _answer(self, topic: str, on_done: Delivered | None, on_refused: Answer | None,
                started: float) -> Answer:
        """What to do with the broker's answer to one publish."""
        def answer(reason_code: ReasonCode) -> None:
            if self.delivery_timer and not reason_code.is_failure:
                self.delivery_timer(time.monotonic() - started)
            if reason_code.is_failure:
                log.error("the broker refused the publish to %s by user %s: %s", topic,
                          self.settings.username or "(anonymous)", reason_code)
                if on_refused:
                    on_refused(reason_code)
            if on_done:
                on_done(not reason_code.is_failure)
        return answer

    # -- paho callbacks (network thread: never block, never raise) -------------------------
    def _on_connect(self, client, userdata, flags, reason_code: ReasonCode, properties) -> None:
        if reason_code.is_failure:
            log.error("broker %s:%s refused the connection: %s",
                      self.settings.host, self.settings.port, reason_code)
            self.login_refused = reason_code
            self._answered.set()
            return
        self.login_refused = None
        log.info("connected to broker %s:%s (session present: %s)",
                 self.settings.host, self.settings.port, flags.session_present)
        no_delay(client)
        if not self._resend:
            with self._lock:
                for message in client.drop_out_messages():
                    self._waiting.pop(message.mid, None)
        if self._takeovers:
            self._takeovers.connected()
        self._tell(True)
        for topic, qos in self._subscriptions:
            client.subscribe(topic, qos)
        if self._availability:
            self.publish(self._availability, "online", retain=True)
        self.connected.set()
        self._answered.set()

    def _on_connect_fail(self, client, userdata) -> None:
        """No connection (refused, unknown host, timed out, TLS): paho retries on its own;
        why is logged in one line, at most once a minute. Also a connection the broker
        closed before its CONNACK (a plain client on a TLS port)."""
        log.debug("cannot connect to broker %s:%s", self.settings.host, self.settings.port)
        self.login_refused = None
        self._answered.set()
        now = time.monotonic()
        if not self._stopping and now - self._said_why_at >= WHY_EVERY_S:
            self._said_why_at = now
            log.error("%s; retrying", why_not(self.settings))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self.connected.is_set()
        self._tell(False)
        self.connected.clear()
        if self._stopping:
            return
        if not was_connected and not self._answered.is_set():  # closed before its CONNACK
            self._on_connect_fail(client, userdata)
            return
        log.warning("lost the broker connection (%s); reconnecting", reason_code)
        if self._takeovers and self._takeovers.disconnected(reason_code.value) \
                and self._on_takeover_loop:
            # Stop reconnecting now: each reconnect would take the session from the other
            # client again while this process winds down. (From the network thread,
            # loop_stop() only ends the loop after this callback; disconnect() would not.)
            self._stopping = True
            client.loop_stop()
            self._on_takeover_loop()

    def _tell(self, connected: bool) -> None:
        for listener in self._listeners:
            try:
                listener(connected)
            except Exception:
                log.exception("connection listener failed")

    def _on_publish(self, client, userdata, mid: int, reason_code: ReasonCode, properties) -> None:
        with self._lock:
            callback = self._waiting.pop(mid, None)
            if callback is None:
                self._early[mid] = reason_code
                return
        try:
            callback(reason_code)
        except Exception:
            log.exception("delivery callback failed")

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        log.debug("message on %s (mid %s, %d bytes)", message.topic, message.mid,
                  len(message.payload))
        if self._handler is None:
            return
        try:
            self._handler(message)
        except Exception:
            log.exception("handling a message on %s failed", message.topic)
