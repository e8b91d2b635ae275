"""Delivery through Apprise on its own thread, URL by URL, never blocking status processing.

Each URL gets each message once: a URL that fails is retried on its own (the others are not
sent it again), and one that still fails after `attempts` is reported through `on_failed`
(the notifier publishes it on `<base>/notifier/alert`), named by its privacy-safe form.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apprise

from arrsync.settings.apprise_urls import url_problem
from notifier.messages import Message

log = logging.getLogger(__name__)


class AppriseSender:
    def __init__(self, urls: list[str], config_file: Path | None, *, attempts: int,
                 retry_delay: float = 5.0,
                 on_failed: Callable[[Message, str], None] = lambda _m, _url: None) -> None:
        self.on_failed = on_failed
        self.apprise = apprise.Apprise()
        for number, url in enumerate(urls, 1):
            if problem := url_problem(url):  # never the URL itself: it may hold a token
                raise ValueError(f"notify.urls, URL {number}: {problem}")
            self.apprise.add(url)
        if config_file:
            if not config_file.is_file():
                raise ValueError(f"notify.config_file {config_file} does not exist")
            config = apprise.AppriseConfig()
            config.add(str(config_file))
            self.apprise.add(config)
        self.attempts = attempts
        self.retry_delay = retry_delay
        self._queue: queue.Queue[tuple[Message, str | None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._deliver, name="apprise", daemon=True)

    def __len__(self) -> int:
        return len(self.apprise)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def send(self, message: Message, tag: str | None) -> None:
        self._queue.put((message, tag))

    def stop(self, timeout: float = 10) -> None:
        """Deliver what is queued (one more try each, without waiting out retries), then stop."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def _deliver(self) -> None:
        while (item := self._queue.get()) is not None:
            message, tag = item
            waiting = list(self.apprise.find(tag=tag or apprise.common.MATCH_ALL_TAG))
            for attempt in range(1, self.attempts + 1):
                waiting = [server for server in waiting if not self._sent(server, message)]
                if not waiting or attempt == self.attempts:
                    break
                names = ", ".join(_shown(server) for server in waiting)
                log.warning("notification %r not delivered to %s (attempt %d/%d); retrying "
                            "there", message.title, names, attempt, self.attempts)
                if self._stop.wait(self.retry_delay * attempt):
                    break
            for server in waiting:
                log.error("gave up sending notification %r to %s after %d attempts",
                          message.title, _shown(server), self.attempts)
                self.on_failed(message, _shown(server))

    def _sent(self, server: Any, message: Message) -> bool:
        """One try through one URL (its own Apprise, which converts the Markdown for it)."""
        one = apprise.Apprise()
        one.add(server)
        try:
            delivered = bool(one.notify(
                body=message.body or message.title, title=message.title,
                notify_type=message.kind, body_format=apprise.NotifyFormat.MARKDOWN))
        except Exception:
            log.exception("Apprise raised while sending %r to %s", message.title,
                          _shown(server))
            return False
        if delivered:
            log.info("sent notification %r to %s", message.title, _shown(server))
        return delivered


def _shown(server: Any) -> str:
    """The URL without its secrets (Apprise's privacy form), without its query."""
    return str(server.url(privacy=True)).split("?", 1)[0]
