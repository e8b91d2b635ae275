"""`arrsync-bridge --config FILE`: arr webhooks in, MQTT events out."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from bridge.service import BridgeService, UnsafeListenError
from bridge.startup import add_config_argument, boot

log = logging.getLogger("bridge")


def main(argv: list[str] | None = None) -> int:
    # Each webhook passes between three threads (HTTP worker, MQTT network loop, spool
    # sender); a shorter GIL switch interval cuts the tail latency of bursts (make bench).
    sys.setswitchinterval(0.001)
    parser = argparse.ArgumentParser(prog="arrsync-bridge", description=__doc__)
    add_config_argument(parser)
    args = parser.parse_args(argv)
    settings = boot(args.config, "arrsync-bridge")
    try:
        service = BridgeService(settings)
    except UnsafeListenError as exc:
        print(f"arrsync-bridge: refusing to start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"arrsync-bridge: cannot listen on {settings.bridge.host}:{settings.bridge.port}: "
              f"{exc.strerror}", file=sys.stderr)
        return 1

    def stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        service.close()  # serve() returns; a second signal changes nothing

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        service.serve()
    finally:
        service.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
