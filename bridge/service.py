"""The bridge process assembled: spool, MQTT connection, relay, Flask app, WSGI server."""

from __future__ import annotations

import logging

from waitress.server import create_server

from bridge.app import create_app
from bridge.mqtt import MqttConnection
from bridge.relay import EventRelay
from bridge.settings import Settings
from bridge.spool import Spool

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


class BridgeService:
    def __init__(self, settings: Settings) -> None:
        check_listen_safety(settings)
        self.settings = settings
        self.spool = Spool(settings.bridge.spool_path)
        self.mqtt = MqttConnection(settings.mqtt, "bridge")
        self.relay = EventRelay(self.spool, self.mqtt, settings.bridge.ack_wait)
        self.app = create_app(settings, self.relay)
        self._closed = False
        self.server = create_server(
            self.app,
            host=settings.bridge.host,
            port=settings.bridge.port,
            threads=settings.bridge.threads,
            ident="arrsync-bridge",
            clear_untrusted_proxy_headers=True,
        )

    @property
    def port(self) -> int:
        return self.server.effective_port  # type: ignore[union-attr]

    def serve(self) -> None:
        """Connect, re-send leftovers, then answer webhooks until `close()`."""
        self.mqtt.start()
        self.relay.start()
        log.info("listening on http://%s:%s/webhook/<app>", self.settings.bridge.host, self.port)
        try:
            self.server.run()
        except OSError:  # the listening socket closed under the loop by close()
            if self.server.accepting:  # type: ignore[union-attr]
                raise

    def close(self) -> None:
        """Make `serve()` return. Safe to call again, from a signal handler or another thread:
        the sockets are closed by the server's own loop."""
        if self._closed:
            return
        self._closed = True
        self.server.trigger.pull_trigger(self._close_sockets)  # type: ignore[union-attr]

    def _close_sockets(self) -> None:
        """Listening socket, wake-up pipe and open connections: the loop ends when none is left."""
        server = self.server
        for dispatcher in list(server._map.values()):  # type: ignore[union-attr]
            if dispatcher not in (server, server.trigger):  # type: ignore[union-attr]
                dispatcher.close()
        server.close()

    def shutdown(self) -> None:
        if self.server._map:  # type: ignore[union-attr]  # serve() never ran its loop
            self._close_sockets()
        self.server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        self.relay.stop()
        self.mqtt.stop()
        self.spool.close()
