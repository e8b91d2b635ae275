"""`arrsync-bridge --config FILE`: arr webhooks in, MQTT events out."""

from __future__ import annotations

import sys

import click

from arrsync.sqlitefile import DatabaseUnusable
from arrsync.startup import boot, config_option, exit_with, run_until_signalled
from bridge.outbox.deadletter import DeadLetters
from bridge.service import BridgeService, UnsafeListenError


@click.command(name="arrsync-bridge", help=__doc__)
@config_option
@click.option("--resend-dead-letters", is_flag=True,
              help="Queue the events set aside as dead letters again, then run.")
def main(config: str | None, resend_dead_letters: bool) -> None:
    # Each webhook passes between three threads (HTTP worker, MQTT network loop, spool
    # sender); a shorter GIL switch interval cuts the tail latency of bursts (make bench).
    sys.setswitchinterval(0.001)
    settings = boot(config, "arrsync-bridge")
    try:
        service = BridgeService(settings)
    except UnsafeListenError as exc:
        exit_with("arrsync-bridge", f"refusing to start: {exc}")
    except DatabaseUnusable as exc:
        exit_with("arrsync-bridge", str(exc))
    except OSError as exc:
        exit_with("arrsync-bridge", f"cannot listen on {settings.bridge.host}:"
                                    f"{settings.bridge.port}: {exc.strerror}")
    if resend_dead_letters:
        count = DeadLetters(service.spool).resend()
        print(f"arrsync-bridge: {count} dead letter(s) queued again", file=sys.stderr)
    run_until_signalled(service.start, service.stop)


if __name__ == "__main__":
    main()
