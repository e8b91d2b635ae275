"""`arrsync-syncer`: run the syncer, or check, explain, trigger, list and retry jobs, audit."""

from __future__ import annotations

import logging
import sys

import click

from arrsync.config import config_source
from arrsync.settings import Settings
from arrsync.sqlitefile import DatabaseUnusable
from arrsync.startup import boot, config_option, exit_with, run_until_signalled
from arrsync.wire.request import DismissRequest, PathRequest, RetryRequest
from syncer import commands
from syncer.audit.command import run_audit
from syncer.service import SyncerService

log = logging.getLogger("syncer")
PROGRAM = "arrsync-syncer"


def _settings(ctx: click.Context, config: str | None) -> Settings:
    """The settings for a command for people: its own --config, else the group's; quiet logs."""
    settings = boot(config or ctx.find_root().params["config"], PROGRAM)
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    # The commands say in their own words what the broker answered (a refused login or
    # publish): the connection's log lines would only repeat it.
    logging.getLogger("arrsync.mqtt").setLevel(logging.CRITICAL)
    return settings


def _run(config: str | None) -> None:
    # An event passes between three threads (MQTT network loop, intake, worker); a short
    # GIL switch interval keeps each hand-over from waiting on a busy one (make bench).
    sys.setswitchinterval(0.001)
    settings = boot(config, PROGRAM)
    service = SyncerService(settings)
    log.info("syncer starting: %d mapping(s), %d worker(s)%s", len(settings.syncer.mappings),
             settings.syncer.workers, " (dry run)" if settings.syncer.dry_run else "")
    reason = run_until_signalled(service.start, service.stop, lambda: service.fatal)
    if reason:
        exit_with(PROGRAM, reason)


class _Commands(click.Group):
    """Every command: a damaged or unreachable job store ends it with the file and the way
    out (`DatabaseUnusable`), never with a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DatabaseUnusable as exc:
            exit_with(PROGRAM, str(exc))


@click.group(name=PROGRAM, cls=_Commands, help=__doc__, invoke_without_command=True)
@config_option
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    if ctx.invoked_subcommand is None:
        _run(config)


@main.command(help="Run the syncer (the default).")
@config_option
@click.pass_context
def run(ctx: click.Context, config: str | None) -> None:
    _run(config or ctx.find_root().params["config"])


@main.command(help="Validate the config, mappings, rsync and the broker.")
@config_option
@click.pass_context
def check(ctx: click.Context, config: str | None) -> None:
    chosen = config or ctx.find_root().params["config"]
    ctx.exit(commands.check(_settings(ctx, chosen), config_source(chosen)))


@main.command(help="Show how a path maps: arr → source → dest.")
@click.argument("path")
@config_option
@click.pass_context
def explain(ctx: click.Context, path: str, config: str | None) -> None:
    ctx.exit(commands.explain(_settings(ctx, config), path))


@main.command(help="Ask the running syncer to sync a path (arr or source path), and wait.")
@click.argument("path")
@click.option("--timeout", type=float, default=3600, show_default=True,
              help="Seconds to wait for the result.")
@config_option
@click.pass_context
def trigger(ctx: click.Context, path: str, timeout: float, config: str | None) -> None:
    ctx.exit(commands.trigger(_settings(ctx, config), PathRequest(path=path), timeout))


@main.command(help="List recent jobs.")
@click.option("--failed", is_flag=True, help="Only failed jobs.")
@click.option("--held", is_flag=True, help="Only removals the circuit breaker holds.")
@click.option("--limit", type=int, default=20, show_default=True)
@config_option
@click.pass_context
def jobs(ctx: click.Context, failed: bool, held: bool, limit: int, config: str | None) -> None:
    ctx.exit(commands.list_jobs(_settings(ctx, config), failed=failed, held=held, limit=limit))


@main.command(help="Run a failed job again (see `jobs --failed`), or release a removal the "
              "circuit breaker holds (see `jobs --held`; `--held` releases them all), and wait.")
@click.argument("job", required=False)
@click.option("--held", is_flag=True, help="Release every removal on hold.")
@click.option("--timeout", type=float, default=3600, show_default=True)
@config_option
@click.pass_context
def retry(ctx: click.Context, job: str | None, held: bool, timeout: float,
          config: str | None) -> None:
    ctx.exit(_about_job(ctx, config, "retry", job, held, timeout))


@main.command(help="Dismiss a removal the circuit breaker holds, so it never happens "
              "(see `jobs --held`; `--held` dismisses them all).")
@click.argument("job", required=False)
@click.option("--held", is_flag=True, help="Dismiss every removal on hold.")
@click.option("--timeout", type=float, default=60, show_default=True)
@config_option
@click.pass_context
def dismiss(ctx: click.Context, job: str | None, held: bool, timeout: float,
            config: str | None) -> None:
    ctx.exit(_about_job(ctx, config, "dismiss", job, held, timeout))


def _about_job(ctx: click.Context, config: str | None, verb: str, job: str | None,
               held: bool, timeout: float) -> int:
    if held and job:
        raise click.UsageError("give a JOB id or --held, not both")
    if not held and not job:
        raise click.UsageError("give a JOB id, or --held")
    settings = _settings(ctx, config)
    if held or job is None:
        return commands.all_held(settings, verb, timeout)
    request = RetryRequest(retry=job) if verb == "retry" else DismissRequest(dismiss=job)
    return commands.trigger(settings, request, timeout)


@main.command(help="Check that every file the arrs list is at its destination (exit 0: none "
                   "missing, 1: some missing, 2: an arr cannot be read).")
@click.option("--fix", is_flag=True, help="Queue a sync of each missing file, and a "
              "replacement of each copy of another size where on_upgrade: recycle.")
@click.option("--arr", "names", multiple=True, metavar="NAME",
              help="Only this arr (its arrs[].name); repeatable. Default: all.")
@config_option
@click.pass_context
def audit(ctx: click.Context, fix: bool, names: tuple[str, ...], config: str | None) -> None:
    ctx.exit(run_audit(_settings(ctx, config), names, fix=fix))


if __name__ == "__main__":
    main()
