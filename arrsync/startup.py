"""What every arrsync process does first and last: read the config or exit 1 with a clear
message, then run until SIGTERM or Ctrl-C. One signal loop for the three processes."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from arrsync.config import CONFIG_ENV, ConfigError, load_settings
from arrsync.logs import setup_logging
from arrsync.settings import Settings
from arrsync.transport import TlsUnusable, tls_context

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def config_option(function: F) -> F:
    """`--config FILE` (or `-c`); absent, `load_settings` reads `$ARRSYNC_CONFIG`."""
    return click.option(
        "--config", "-c", "config", metavar="FILE", default=None,
        help=f"The arrsync YAML file (default: ${CONFIG_ENV}).",
    )(function)


def exit_with(program: str, message: str) -> NoReturn:
    """Say why the program cannot go on (a message already free of secrets), exit 1."""
    print(f"{program}: {message}", file=sys.stderr)
    raise SystemExit(1)


def boot(config: str | None, program: str) -> Settings:
    """Load and validate the settings and set up redacted logging; exit 1 if they are bad."""
    try:
        settings = load_settings(config)
        tls_context(settings.mqtt)  # the TLS files are usable, before anything starts
    except (ConfigError, TlsUnusable) as exc:
        exit_with(program, str(exc))
    setup_logging(settings.log_level, settings.secrets())
    return settings


def run_until_signalled(start: Callable[[], None], stop: Callable[[], None],
                        failure: Callable[[], str | None] = lambda: None) -> str | None:
    """Start, wait for SIGTERM or SIGINT (Ctrl-C), stop. A second signal changes nothing.
    `failure()` names a reason the process cannot go on; then it stops too and returns it."""
    stopping = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    start()
    reason = None
    try:
        # Wake up now and then: a signal delivered to another thread sets no lock the main
        # thread waits on, and Python runs handlers only in the main thread.
        while not stopping.wait(0.5):
            reason = failure()
            if reason:
                log.error("stopping: %s", reason)
                break
    finally:
        stop()
    return reason
