"""`arrsync-bridge --config FILE`: arr webhooks in, MQTT events out."""

from __future__ import annotations

import sys

import click

from arrsync.startup import boot, config_option, exit_with, run_until_signalled
from bridge.service import BridgeService, UnsafeListenError


@click.command(name="arrsync-bridge", help=__doc__)
@config_option
def main(config: str | None) -> None:
    # Each webhook passes between three threads (HTTP worker, MQTT network loop, spool
    # sender); a shorter GIL switch interval cuts the tail latency of bursts (make bench).
    sys.setswitchinterval(0.001)
    settings = boot(config, "arrsync-bridge")
    try:
        service = BridgeService(settings)
    except UnsafeListenError as exc:
        exit_with("arrsync-bridge", f"refusing to start: {exc}")
    except OSError as exc:
        exit_with("arrsync-bridge", f"cannot listen on {settings.bridge.host}:"
                                    f"{settings.bridge.port}: {exc.strerror}")
    run_until_signalled(service.start, service.stop)


if __name__ == "__main__":
    main()
