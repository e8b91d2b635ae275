"""What every arrsync command does first: read the config or exit 1 with a clear message."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable

from bridge.logs import setup_logging
from bridge.settings import CONFIG_ENV, ConfigError, Settings, load_settings


def add_config_argument(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    parser.add_argument(
        "--config", "-c", metavar="FILE",
        # On a subcommand, an absent --config must not hide one given before the subcommand.
        default=argparse.SUPPRESS if subcommand else None,
        help=f"the arrsync YAML file (default: ${CONFIG_ENV})",
    )


def boot(config: str | None, program: str) -> Settings:
    """Load and validate the settings and set up redacted logging; exit 1 if they are bad."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    setup_logging(settings.log_level, settings.secrets())
    return settings


def run_until_signalled(start: Callable[[], None], stop: Callable[[], None]) -> None:
    """Start, wait for SIGTERM or SIGINT (Ctrl-C), stop. A second signal changes nothing."""
    stopping = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    start()
    # Wake up now and then: a signal delivered to another thread sets no lock the main
    # thread waits on, and Python runs handlers only in the main thread.
    while not stopping.wait(0.5):
        pass
    stop()
