"""Logging set-up shared by every process, with secrets masked in every line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MASK = "***"


def secret_fragments(secret: str) -> set[str]:
    """The secret and the parts of it that could be logged alone (URL tokens, passwords)."""
    fragments = {secret}
    if "://" in secret:
        parts = urlsplit(secret)
        fragments.add(parts.netloc)
        fragments.update(parts.netloc.split("@")[0].split(":"))
        fragments.update(parts.netloc.split("@")[-1].split(":")[0:1])
        fragments.update(parts.path.split("/"))
        fragments.update(value for _key, value in parse_qsl(parts.query))
    # Short fragments (a port, "json") would mask harmless words; tokens are long.
    return {f for f in fragments if len(f) >= 6 or f == secret}


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        fragments: set[str] = set()
        for secret in secrets:
            fragments |= secret_fragments(secret)
        self._fragments = sorted(fragments, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for fragment in self._fragments:
            text = text.replace(fragment, MASK)
        return text

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def setup_logging(level: str, secrets: Iterable[str] = ()) -> RedactingFormatter:
    formatter = RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter stays at INFO even when arrsync debugs.
    for noisy in ("waitress", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # A line per request to an arr (catch-up, audit) says nothing arrsync does not say better.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # "Task queue depth is N" on every short burst of webhooks says nothing useful.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return formatter
