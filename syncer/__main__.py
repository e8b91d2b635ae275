"""`arrsync-syncer`: run the syncer, or check, explain, trigger, list and retry jobs."""

from __future__ import annotations

import argparse
import logging
import sys

from bridge.startup import add_config_argument, boot, run_until_signalled
from syncer import commands
from syncer.service import SyncerService

log = logging.getLogger("syncer")


def run(settings_path: str | None) -> int:
    settings = boot(settings_path, "arrsync-syncer")
    service = SyncerService(settings)
    log.info("syncer starting: %d mapping(s), %d worker(s)%s", len(settings.syncer.mappings),
             settings.syncer.workers, " (dry run)" if settings.syncer.dry_run else "")
    run_until_signalled(service.start, service.stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrsync-syncer", description=__doc__)
    add_config_argument(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the syncer (the default)")
    sub.add_parser("check", help="validate the config, mappings, rsync and the broker")
    explain = sub.add_parser("explain", help="show how a path maps: arr → source → dest")
    explain.add_argument("path")
    trigger = sub.add_parser("trigger", help="ask the running syncer to sync a path, and wait")
    trigger.add_argument("path", help="an arr path or a source path, a file or a folder")
    trigger.add_argument("--timeout", type=float, default=3600,
                         help="seconds to wait for the result (default 3600)")
    jobs = sub.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--failed", action="store_true", help="only failed jobs")
    jobs.add_argument("--limit", type=int, default=20)
    retry = sub.add_parser("retry", help="run a failed job again, and wait")
    retry.add_argument("job", help="the job id (see `jobs --failed`)")
    retry.add_argument("--timeout", type=float, default=3600)
    for subparser in sub.choices.values():
        add_config_argument(subparser, subcommand=True)
    args = parser.parse_args(argv)

    if args.command in (None, "run"):
        return run(args.config)
    settings = boot(args.config, "arrsync-syncer")
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    if args.command == "check":
        return commands.check(settings)
    if args.command == "explain":
        return commands.explain(settings, args.path)
    if args.command == "trigger":
        return commands.trigger(settings, {"path": args.path}, args.timeout)
    if args.command == "jobs":
        return commands.list_jobs(settings, failed=args.failed, limit=args.limit)
    return commands.trigger(settings, {"retry": args.job}, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
