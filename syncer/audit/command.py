"""`arrsync-syncer audit [--fix] [--arr NAME]`: the audit for a person at a terminal.

Exit status: 0 when nothing is missing, 1 when a file is missing, 2 when an arr (or a
destination) cannot be read or no arr matches. Files of a different size are reported but
do not change the status; --fix replaces them only where the mapping's `on_upgrade` is
`recycle` (the old copy goes to the recycle bin), as an upgrade would.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance, Settings
from arrsync.topics import Topics, audit_level
from syncer.audit.check import ArrAudit, FileState, audit_arr, publish, replaceable
from syncer.copying.guard import DestinationGuard
from syncer.paths.mapping import PathMapper

OK, MISSING, UNREADABLE = 0, 1, 2
BROKER_WAIT_S = 10


class Bar:
    """A progress bar on a terminal (stderr), with a note after it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._done = 0
        self._note: str | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr,
                                          item_show_func=lambda note: note)
            self._bar.__enter__()
        self._bar.update(done - self._done, self._note)
        self._done = done

    def note(self, text: str) -> None:
        """Shown after the bar from its next step on."""
        self._note = text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def chosen(settings: Settings, names: tuple[str, ...]) -> list[ArrInstance] | str:
    """The arrs to audit, or why there are none."""
    if not settings.arrs:
        return "no arrs are configured: add them under arrs: (see docs/catch-up-and-audit.md)"
    if not names:
        return list(settings.arrs)
    # Matched as {"audit": NAME} on MQTT matches: "Radarr 4K", "radarr 4k" and "radarr-4k".
    by_name = {audit_level(arr.name): arr for arr in settings.arrs}
    unknown = [name for name in names if audit_level(name) not in by_name]
    if unknown:
        known = ", ".join(arr.name for arr in settings.arrs)
        return f"no arr named {', '.join(unknown)} (configured: {known})"
    return [by_name[audit_level(name)] for name in names]


def audit_one(arr: ArrInstance, mapper: PathMapper, guard: DestinationGuard,
              terminal: bool) -> ArrAudit:
    """One arr's audit, the files checked as the library is read. On a terminal: Sonarr's
    series read as a bar, with the files checked after it; Radarr's files checked as a count
    (its one answer has no total until it ends)."""
    if not terminal:
        click.echo(f"{arr.name}: reading the library and checking each file at its "
                   "destination", err=True)
        return audit_arr(arr, mapper, guard)
    series = Bar(f"{arr.name}: series read")

    def checked(done: int, _seen: int) -> None:
        text = f"{done} files checked at their destinations"
        if arr.app == "sonarr":
            series.note(text)
        else:
            click.echo(f"\r{arr.name}: {text}", err=True, nl=False)

    try:
        return audit_arr(arr, mapper, guard, checking=checked,
                         reading=series if arr.app == "sonarr" else None)
    finally:
        series.close()
        if arr.app != "sonarr":
            click.echo(err=True)  # ends the count's line


def run_audit(settings: Settings, names: tuple[str, ...], *, fix: bool,
              terminal: bool | None = None) -> int:
    arrs = chosen(settings, names)
    if isinstance(arrs, str):
        click.echo(f"audit: {arrs}", err=True)
        return UNREADABLE
    terminal = sys.stderr.isatty() if terminal is None else terminal
    mapper = PathMapper(settings.syncer.mappings, (settings.syncer.recycle_dir,))
    guard = DestinationGuard()
    mqtt = MqttConnection(settings.mqtt, "audit", announce=False,
                          topics=Topics(settings.mqtt.base_topic, settings.syncer.name))
    mqtt.start()
    try:
        audits = []
        for arr in arrs:
            audit = audit_one(arr, mapper, guard, terminal)
            audits.append(audit)
            click.echo("\n".join(audit.report()))
        _publish(settings, mqtt, mapper, audits, fix)
    finally:
        mqtt.stop()
    if any(audit.error for audit in audits):
        return UNREADABLE
    return MISSING if any(audit.count(FileState.MISSING) for audit in audits) else OK


def _publish(settings: Settings, mqtt: MqttConnection, mapper: PathMapper,
             audits: list[ArrAudit], fix: bool) -> None:
    """Queue the fixes and publish the summaries; say so if the broker did not take them."""
    where = f"{settings.mqtt.host}:{settings.mqtt.port}"
    if not mqtt.wait_connected(BROKER_WAIT_S):
        click.echo(f"audit: the broker at {where} is not reachable: the summary was not "
                   f"published{' and nothing was queued' if fix else ''}", err=True)
        return
    for audit in audits:
        if not publish(mqtt, audit, mapper, fix=fix, timeout=BROKER_WAIT_S):
            click.echo(f"audit: the broker at {where} did not take everything for "
                       f"{audit.arr.name} (its ACL must let this user write "
                       f"{mqtt.topics.audit(audit.arr.name)} and "
                       f"{mqtt.topics.sync_request})", err=True)
        if fix:
            _say_what_was_fixed(settings, mapper, audit)


def _say_what_was_fixed(settings: Settings, mapper: PathMapper, audit: ArrAudit) -> None:
    different = audit.having(FileState.DIFFERENT)
    replacing = sum(1 for check in different if replaceable(check, mapper))
    if audit.queued:
        click.echo(f"{audit.arr.name}: queued {audit.queued} sync(s) "
                   f"({audit.count(FileState.MISSING)} missing, {replacing} to replace); "
                   f"follow them with `arrsync-syncer jobs` or on "
                   f"{settings.mqtt.base_topic}/sync/#")
    if len(different) > replacing:
        click.echo(f"{audit.arr.name}: {len(different) - replacing} file(s) of a different "
                   "size were not replaced: their mapping has on_upgrade: keep, so arrsync "
                   "never overwrites them; remove the copy at the destination and run the "
                   "audit with --fix again")
