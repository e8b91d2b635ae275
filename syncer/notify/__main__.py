"""`arrsync-notify --config FILE`: sync status in, Apprise notifications out."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bridge.startup import add_config_argument, boot
from syncer.notify.service import NotifierService

log = logging.getLogger("notify")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrsync-notify", description=__doc__)
    add_config_argument(parser)
    args = parser.parse_args(argv)
    settings = boot(args.config, "arrsync-notify")
    try:
        service = NotifierService(settings)
    except ValueError as exc:  # a bad template, URL or config file: messages are redacted
        print(f"arrsync-notify: invalid configuration: {exc}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.start()
    stopping.wait()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
