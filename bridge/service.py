"""The bridge process assembled: spool, MQTT connection, relay, Flask app, WSGI server."""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress.server import create_server

from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from bridge.catchup.poller import build_catch_up
from bridge.dashboard import StatusBoard
from bridge.dashboard.metrics import BridgeMetrics
from bridge.outbox.relay import EventRelay
from bridge.outbox.spool import Spool
from bridge.web.app import create_app

log = logging.getLogger(__name__)


class UnsafeListenError(Exception):
    """The bridge would accept anonymous webhooks from the network."""


def check_listen_safety(settings: Settings) -> None:
    bridge = settings.bridge
    if not bridge.is_loopback and not bridge.has_credentials and not bridge.allow_anonymous:
        raise UnsafeListenError(
            f"bridge.host is {bridge.host}, reachable from the network, but no "
            "bridge.username/bridge.password is set. Set credentials (and the same in the "
            "arr's webhook settings), listen on 127.0.0.1, or set bridge.allow_anonymous: true."
        )


def _stop_waitress(server: Any, loop: threading.Thread) -> None:
    """waitress has no public way to end `run()`. This is the one place that reaches into
    it: from inside its own loop (so no socket is closed under a running `select`), close
    every connection and the listening socket; the loop ends when its socket map is empty.
    A loop that never started, or is already ending, gets its sockets closed from here."""

    def close_all() -> None:
        for dispatcher in list(server._map.values()):
            if dispatcher not in (server, server.trigger):
                dispatcher.close()
        server.close()

    if not loop.is_alive():
        close_all()
        return
    try:
        server.trigger.pull_trigger(close_all)
    except OSError:  # the wake-up pipe closed with a loop that has just ended
        close_all()


class BridgeService:
    def __init__(self, settings: Settings) -> None:
        check_listen_safety(settings)
        self.settings = settings
        self.spool = Spool(settings.bridge.spool_path)  # DatabaseUnusable: damaged or locked
        # The relay re-sends from the spool after a reconnect, so paho need not (see relay.py).
        self.mqtt = MqttConnection(settings.mqtt, "bridge", resend_after_reconnect=False)
        self.relay = EventRelay(self.spool, self.mqtt, settings.bridge.ack_wait,
                                settings.mqtt.max_packet_bytes)
        self.catch_up = build_catch_up(settings, self.relay)
        self.metrics = BridgeMetrics()
        self.mqtt.delivery_timer = self.metrics.publish_latency.observe
        self.board = StatusBoard(self.mqtt)
        self.app = create_app(settings, self.relay,
                              on_import=self.catch_up.remember_webhook if self.catch_up else None,
                              board=self.board, metrics=self.metrics,
                              catch_up=self.catch_up.state if self.catch_up else None)
        self.server: Any = create_server(
            self.app,
            host=settings.bridge.host,
            port=settings.bridge.port,
            threads=settings.bridge.threads,
            ident="arrsync-bridge",
            clear_untrusted_proxy_headers=True,
        )
        self._serving = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.settings.bridge.host}:{self.port}"

    def start(self) -> None:
        """Connect, re-send leftovers, then answer webhooks on a thread until `stop()`."""
        self.mqtt.start()
        self.relay.start()
        if self.catch_up:
            self.catch_up.start()
        self._serving.start()
        log.info("listening on %s/webhook/<app>; status page at %s/", self.url, self.url)

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:  # a socket closed under the loop by _stop_waitress
            if self.server.accepting:
                raise

    def stop(self) -> None:
        """Stop answering, finish the requests in progress, flush the relay, say offline."""
        _stop_waitress(self.server, self._serving)
        self._serving.join(timeout=10)
        self.server.task_dispatcher.shutdown(timeout=5)
        if self.catch_up:
            self.catch_up.stop()
        self.relay.stop()
        self.mqtt.stop()
        self.spool.close()
