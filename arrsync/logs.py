"""Logging set-up shared by every process, with secrets masked in every line."""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
# Only fragments this long are masked. Masking is a safety net for a secret that slips into a
# line, done by plain text replacement: a secret of a few characters ("a", "1234") also occurs
# in ordinary words, numbers and addresses, so masking it would garble every line and, by the
# pattern of what is masked, give the secret away. A secret that short is no secret anyway.
MIN_SECRET_CHARS = 6


def _is_address(text: str) -> bool:
    """A host name, an IP address or a port: where a URL says where, not who."""
    if (text.isdigit() and len(text) <= 5) or text.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        pass
    labels = text.split(".")
    return len(labels) > 1 and labels[-1].isalpha() and all(
        label and label.replace("-", "").isalnum() for label in labels)


def secret_fragments(secret: str) -> set[str]:
    """The secret and the parts of it that could be logged alone: an Apprise URL's user,
    password, tokens (in the host position too: tgram://TOKEN), path parts and query values,
    but not its scheme, host name, address or port."""
    fragments = {secret}
    if "://" in secret:
        parts = urlsplit(secret)
        userinfo, _, hostport = parts.netloc.rpartition("@")
        fragments.update(userinfo.split(":"))
        if not _is_address(hostport.rsplit(":", 1)[0]):
            fragments.add(hostport)
            fragments.update(p for p in hostport.split(":") if not _is_address(p))
        fragments.update(parts.path.split("/"))
        fragments.update(value for _key, value in parse_qsl(parts.query))
    return {f for f in fragments if len(f) >= MIN_SECRET_CHARS}


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
