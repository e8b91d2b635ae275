"""`arrsync-notify --config FILE`: sync status in, Apprise notifications out."""

from __future__ import annotations

import argparse
import sys

from bridge.startup import add_config_argument, boot, run_until_signalled
from syncer.notify.service import NotifierService


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
    run_until_signalled(service.start, service.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
