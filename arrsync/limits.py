"""Size limits every process respects, so that no single message can wedge a connection.

The broker drops a client that sends a packet over its `max_packet_size` (Mosquitto 2.0 does
the same for `message_size_limit`), and a client that re-sends that packet after reconnecting
is stuck for good. `mqtt.max_packet_bytes` tells every process the broker's limit; a message
over it is never handed to the network. Text that echoes untrusted input (a refused path, a
malformed request) is quoted with `quote`, so what goes back out stays small.
"""

from __future__ import annotations

QUOTE_CHARS = 200  # enough to recognise a path or a request; never a megabyte echoed back

# An MQTT v5 PUBLISH beyond its topic and payload: fixed header (1 byte and a remaining length
# of up to 4), topic length (2), packet id (2), properties length (1). Rounded up.
PUBLISH_OVERHEAD = 16


def packet_bytes(topic: str, payload: str | bytes) -> int:
    """The size of a QoS 1 PUBLISH of `payload` on `topic`, as the broker counts it."""
    body = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    return PUBLISH_OVERHEAD + len(topic.encode("utf-8", "surrogatepass")) + len(body)


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` as a repr for a message, cut to `limit` characters with the length left out."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text) - limit} more characters)"


def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters, marked as cut; None stays None."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
