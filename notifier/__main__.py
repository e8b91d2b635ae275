"""`arrsync-notify --config FILE`: sync status in, Apprise notifications out."""

from __future__ import annotations

import click

from arrsync.startup import boot, config_option, exit_with, run_until_signalled
from notifier.service import NotifierService


@click.command(name="arrsync-notify", help=__doc__)
@config_option
def main(config: str | None) -> None:
    settings = boot(config, "arrsync-notify")
    try:
        service = NotifierService(settings)
    except ValueError as exc:  # a bad template, URL or config file: messages are redacted
        exit_with("arrsync-notify", f"invalid configuration: {exc}")
    run_until_signalled(service.start, service.stop)


if __name__ == "__main__":
    main()
