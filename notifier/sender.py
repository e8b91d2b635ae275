"""Delivery through Apprise on its own thread, retried, never blocking status processing."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import apprise

from notifier.messages import Message

log = logging.getLogger(__name__)


class AppriseSender:
    def __init__(self, urls: list[str], config_file: Path | None, *, attempts: int,
                 retry_delay: float = 5.0) -> None:
        self.apprise = apprise.Apprise()
        for url in urls:
            if not self.apprise.add(url):
                # The URL itself may hold a token: name its scheme only.
                raise ValueError(f"notify.urls: Apprise does not understand a "
                                 f"{url.split('://', 1)[0]}:// URL")
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
            for attempt in range(1, self.attempts + 1):
                try:
                    delivered = bool(self.apprise.notify(
                        body=message.body or message.title, title=message.title,
                        notify_type=message.kind, body_format=apprise.NotifyFormat.MARKDOWN,
                        tag=tag or apprise.common.MATCH_ALL_TAG))
                except Exception:
                    log.exception("Apprise raised while sending %r", message.title)
                    delivered = False
                if delivered:
                    log.info("sent notification %r", message.title)
                    break
                if attempt < self.attempts:
                    log.warning("notification %r not delivered (attempt %d/%d); retrying",
                                message.title, attempt, self.attempts)
                    if self._stop.wait(self.retry_delay * attempt):
                        break
            else:
                log.error("gave up sending notification %r after %d attempts", message.title,
                          self.attempts)
