"""Noticing that another client keeps taking over our MQTT session (the same client id).

Two processes with one client id take turns: each connection kicks the other off, both
reconnect, forever. Mosquitto 2.0 just closes the old connection (newer brokers send the
DISCONNECT reason "Session taken over", 0x8E). Either way the sign is a connection that
the broker ends within seconds of making it, again and again. The long-running process's
first loss does not count (its connection had lasted), so the newcomer reaches the limit
first and is the one that ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SESSION_TAKEN_OVER = 0x8E
CONNECTION_LOST = 0x80  # paho's "Unspecified error": the socket closed without a DISCONNECT
SHORT_S = 3.0  # a connection closed sooner than this counts (a fight swaps every second or so)
LIMIT = 3      # this many in a row is a takeover loop


class TakeoverWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, short_s: float = SHORT_S,
                 limit: int = LIMIT) -> None:
        """`short_s` and `limit` as SHORT_S and LIMIT; tests pass smaller ones."""
        self._clock = clock
        self.short_s = short_s
        self.limit = limit
        self._since: float | None = None
        self.count = 0  # short-lived connections in a row

    def connected(self) -> None:
        self._since = self._clock()

    def disconnected(self, reason: int) -> bool:
        """Record a disconnect we did not ask for; True once it looks like a takeover loop."""
        lived = self._clock() - self._since if self._since is not None else None
        self._since = None
        short = lived is not None and lived < self.short_s
        if short and reason in (SESSION_TAKEN_OVER, CONNECTION_LOST):
            self.count += 1
        else:
            self.count = 0
        return self.count >= self.limit


def takeover_message(client_id: str) -> str:
    return (f"the broker keeps closing this syncer's connection within seconds of making it: "
            f"another client uses the same MQTT client id {client_id!r}. Stop the other "
            "syncer, or give each one its own syncer.client_id")
