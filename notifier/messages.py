"""Notification texts people want to read, from job status messages (and templates)."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arrsync.units import human_duration, human_size
from arrsync.wire.alert import Alert
from arrsync.wire.job import JobAction, JobState, JobStatus

ICONS = {"success": "✅", "failure": "❌", "warning": "⚠️", "info": "🔔"}
DEFAULT_TITLE = "{icon} {title} → {mapping}"
DEFAULT_SUCCESS_BODY = "{what}, {size} in {duration} ({speed})"
DEFAULT_FAILURE_BODY = "{error}\nAttempt {attempt}/{max_attempts} · {dest}"
# What a success says, by the job's action (a rename or a recycle copies nothing).
SUCCESS_BODIES = {
    JobAction.COPY: DEFAULT_SUCCESS_BODY,
    JobAction.REPLACE: "upgrade replaced: " + DEFAULT_SUCCESS_BODY,
    JobAction.RENAME: "renamed {moved} file(s) at the destination",
    JobAction.RECYCLE: "moved {moved} file(s) or folder(s) to the recycle bin",
}
FIELDS = ("icon", "title", "mapping", "what", "size", "duration", "speed", "error", "attempt",
          "max_attempts", "files", "count", "state", "app", "instance", "dest", "source",
          "action", "moved")


@dataclass(frozen=True)
class Message:
    kind: str  # info, success, warning, failure (Apprise's notify types)
    title: str
    body: str


class TemplateError(ValueError):
    """A notify template names a field that does not exist."""


def check_template(template: str) -> None:
    for _text, name, _spec, _conv in string.Formatter().parse(template):
        if name is not None and name not in FIELDS:
            raise TemplateError(f"unknown field {{{name}}}; use any of {', '.join(FIELDS)}")


def group_title(statuses: Sequence[JobStatus]) -> str:
    """"Chernobyl S01" for episodes of one season of one series, else the one title."""
    titles = [s.title or s.job for s in statuses]
    if len(set(titles)) == 1:
        return titles[0]
    series = {s.series for s in statuses}
    seasons = {e.season for s in statuses for e in s.episodes}
    if len(series) == 1 and None not in series and all(s.episodes for s in statuses):
        first, last = min(seasons), max(seasons)
        label = f"S{first:02d}" if first == last else f"S{first:02d}-S{last:02d}"
        return f"{series.pop()} {label}"
    return f"{titles[0]} and {len(titles) - 1} more"


def _what(statuses: Sequence[JobStatus]) -> str:
    episodes = {(e.season, e.episode) for s in statuses for e in s.episodes}
    files = sum(s.files for s in statuses)
    counted = f"{files} file{'s' if files != 1 else ''}"
    if len(episodes) > 1:  # what was copied first: a multi-episode file is one file
        return f"{len(episodes)} episodes" if files >= len(episodes) else \
            f"{counted} ({len(episodes)} episodes)"
    return counted


def fields_of(statuses: Sequence[JobStatus], icon: str) -> dict[str, Any]:
    first, last = statuses[0], statuses[-1]
    size = sum(s.bytes for s in statuses)
    duration = sum(s.duration_s or 0 for s in statuses)
    speed = f"{human_size(int(size / duration))}/s" if duration > 0 else "instant"
    return {
        "icon": icon, "title": group_title(statuses), "mapping": first.mapping or "arrsync",
        "what": _what(statuses), "size": human_size(size), "duration": human_duration(duration),
        "speed": speed, "error": last.error or "", "attempt": last.attempt,
        "max_attempts": last.max_attempts, "files": sum(s.files for s in statuses),
        "count": len(statuses), "state": last.state.value, "app": first.app or "",
        "instance": first.instance or "", "dest": last.dest or "", "source": last.source or "",
        "action": last.action.value, "moved": sum(len(s.moved or []) for s in statuses),
    }


class MessageBuilder:
    def __init__(self, title_template: str | None, body_template: str | None) -> None:
        for template in (title_template, body_template):
            if template:
                check_template(template)
        self.title_template = title_template
        self.body_template = body_template

    def _render(self, fields: Mapping[str, Any], title: str, body: str) -> tuple[str, str]:
        return ((self.title_template or title).format_map(fields),
                (self.body_template or body).format_map(fields))

    def jobs(self, statuses: Sequence[JobStatus]) -> Message:
        """One message for a group of jobs that share a state (one release)."""
        state = statuses[-1].state
        if state is JobState.SUCCEEDED:
            fields = fields_of(statuses, ICONS["success"])
            body = SUCCESS_BODIES[statuses[-1].action]
            if statuses[-1].dry_run:
                body = ("dry run: would copy {what}, {size}"
                        if statuses[-1].action is JobAction.COPY
                        else "dry run, nothing changed: " + body)
            return Message("success", *self._render(fields, DEFAULT_TITLE, body))
        if state is JobState.FAILED:
            fields = fields_of(statuses, ICONS["failure"])
            if not statuses[-1].max_attempts:  # refused before it began: no attempt, no mapping
                return Message("failure", *self._render(
                    fields, "{icon} {title} failed: not synced", "{error}"))
            return Message("failure", *self._render(fields, DEFAULT_TITLE + " failed",
                                                    DEFAULT_FAILURE_BODY))
        kind = "warning" if state is JobState.RETRYING else "info"
        fields = fields_of(statuses, ICONS[kind])
        return Message(kind, *self._render(fields, DEFAULT_TITLE + f": {state.value}",
                                           "{error}" if state in (JobState.RETRYING,
                                                                  JobState.SKIPPED) else
                                           "{what}, {size}"))

    def destinations(self, statuses: Sequence[JobStatus]) -> Message:
        """One release that several named syncers copied: each one's outcome, one line each
        ("→ unraid ✓ · → offsite ❌"); with one syncer, the usual message."""
        by_syncer: dict[str, list[JobStatus]] = {}
        for status in statuses:
            by_syncer.setdefault(status.syncer or "syncer", []).append(status)
        if len(by_syncer) == 1:
            return self.jobs(statuses)
        lines, marks, failed = [], [], 0
        for syncer, own in sorted(by_syncer.items()):
            broke = [s for s in own if s.state is JobState.FAILED]
            failed += bool(broke)
            fields = fields_of(own, "")
            outcome = (f"failed: {broke[-1].error or 'no reason given'}" if broke else
                       DEFAULT_SUCCESS_BODY.format_map(fields))
            marks.append(f"→ {syncer} {ICONS['failure'] if broke else '✓'}")
            lines.append(f"{syncer} ({fields['mapping']}): {outcome}")
        kind = "success" if not failed else "failure" if failed == len(by_syncer) else "warning"
        title = f"{ICONS[kind]} {group_title(statuses)} {' · '.join(marks)}"
        return Message(kind, title, "\n".join(lines))

    @staticmethod
    def on_hold(status: JobStatus) -> Message:
        """The circuit breaker tripped: removals wait for a person."""
        return Message("warning", f"{ICONS['warning']} Removals on hold → "
                       f"{status.mapping or 'arrsync'}", status.error or "")

    @staticmethod
    def test(status: JobStatus) -> Message:
        who = status.instance or status.app or "arrsync"
        syncer = f"syncer {status.syncer}" if status.syncer else "syncer"
        return Message("info", "🔔 arrsync connected",
                       f"{who} webhook works: arr → bridge → {syncer} → notifier.")

    @staticmethod
    def recovered(mapping: str, reason: str) -> Message:
        return Message("success", f"✅ {mapping} recovered",
                       f"Syncing again. The problem was: {reason}")

    @staticmethod
    def alert(alert: Alert) -> Message:
        """A component's own problem (dead letter, spool, store), or its end."""
        who = f"{alert.component} {alert.syncer}" if alert.syncer else alert.component
        if alert.active:
            return Message("failure", f"❌ arrsync {who} needs attention", alert.message)
        return Message("success", f"✅ arrsync {who} recovered", alert.message)

    @staticmethod
    def availability(component: str, online: bool) -> Message:
        if online:
            return Message("success", f"✅ arrsync {component} is back online", "")
        return Message("failure", f"❌ arrsync {component} went offline",
                       "It stopped or lost its broker connection; events wait until it returns.")
