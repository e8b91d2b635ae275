"""The audit: is every file the arrs list at its destination, with the size the arr knows?

Each arr's inventory (Radarr `/movie` with its embedded files; Sonarr `/series`, then
`/episodefile` per series) goes through the mappings to its destination, which is looked
at a few files at a time (thousands of stat calls over NFS are slow one by one). A mapping
whose destination is not ready (the guard's checks) makes the audit fail rather than count
every file missing. With `fix`, each missing file becomes a request on `sync/request`, as
`arrsync-syncer trigger` sends, and each copy of another size a `replace` request where
the mapping's `on_upgrade` allows it; the running syncer does them like any other job.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from arrsync.arrs.client import ArrClient, ArrUnreadable, LibraryFile, Progress, shown_url
from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance
from arrsync.units import human_size
from arrsync.wire.audit import AuditSummary
from arrsync.wire.request import PathRequest, ReplaceRequest
from arrsync.wire.timestamps import utc_now_iso
from syncer.copying.guard import DestinationGuard
from syncer.jobs.outcome import DestinationNotReady
from syncer.paths.mapping import PathMapper, PathRefused

STAT_THREADS = 8


class FileState(StrEnum):
    PRESENT = "present"        # at its destination with the arr's size
    MISSING = "missing"        # not at its destination: --fix copies it
    DIFFERENT = "different"    # at its destination with another size: --fix may replace it
    UNMAPPED = "unmapped"      # under no mapping: not mirrored, not counted as missing


@dataclass(frozen=True)
class FileCheck:
    file: LibraryFile
    state: FileState
    mapping: str | None = None
    dest: str | None = None
    dest_size: int | None = None


@dataclass
class ArrAudit:
    arr: ArrInstance
    checks: list[FileCheck] = field(default_factory=list)
    error: str | None = None  # the arr or a destination could not be read
    queued: int = 0  # syncs requested by fix and taken by the broker

    def count(self, state: FileState) -> int:
        return sum(1 for check in self.checks if check.state is state)

    def having(self, state: FileState) -> list[FileCheck]:
        return [check for check in self.checks if check.state is state]

    def summary(self) -> AuditSummary:
        def counted(state: FileState) -> int | None:
            return None if self.error else self.count(state)

        return AuditSummary(
            arr=self.arr.name, app=self.arr.app,
            files=None if self.error else len(self.checks),
            present=counted(FileState.PRESENT), missing=counted(FileState.MISSING),
            different_size=counted(FileState.DIFFERENT), unmapped=counted(FileState.UNMAPPED),
            queued=self.queued, error=self.error, at=utc_now_iso(),
        )

    def report(self) -> list[str]:
        """What a person reads: the counts, then each missing and different file."""
        head = f"{self.arr.name} ({self.arr.app}, {shown_url(self.arr.url)})"
        if self.error:
            return [f"{head}: {self.error}"]
        counts = (f"{len(self.checks)} files, {self.count(FileState.PRESENT)} present, "
                  f"{self.count(FileState.MISSING)} missing, "
                  f"{self.count(FileState.DIFFERENT)} different size")
        lines = [f"{head}: {counts}"]
        for check in self.having(FileState.MISSING):
            lines.append(f"  missing         {check.file.title}: {check.dest}")
        for check in self.having(FileState.DIFFERENT):
            lines.append(f"  different size  {check.file.title}: {check.dest} "
                         f"(arr {_size(check.file.size)}, destination {_size(check.dest_size)})")
        unmapped = self.having(FileState.UNMAPPED)
        if unmapped:
            lines.append(f"  {len(unmapped)} file(s) under no mapping, not mirrored "
                         f"(e.g. {unmapped[0].file.path})")
        return lines


def _size(size: int | None) -> str:
    return "unknown" if size is None else f"{human_size(size)}, {size} bytes"


def check_file(file: LibraryFile, mapper: PathMapper) -> FileCheck:
    try:
        route = mapper.route(file.path)
    except PathRefused:
        return FileCheck(file, FileState.UNMAPPED)
    name = route.mapping.name
    try:
        size = os.stat(route.dest).st_size
    except (FileNotFoundError, NotADirectoryError):
        return FileCheck(file, FileState.MISSING, name, route.dest)
    same = file.size is None or size == file.size
    state = FileState.PRESENT if same else FileState.DIFFERENT
    return FileCheck(file, state, name, route.dest, size)


def check_files(files: list[LibraryFile], mapper: PathMapper,
                progress: Progress | None = None) -> list[FileCheck]:
    checks = []
    with ThreadPoolExecutor(STAT_THREADS, thread_name_prefix="audit-stat") as pool:
        for done, check in enumerate(pool.map(lambda f: check_file(f, mapper), files), 1):
            checks.append(check)
            if progress:
                progress(done, len(files))
    return checks


def check_destinations(checks: list[FileCheck], mapper: PathMapper,
                       guard: DestinationGuard) -> None:
    """DestinationNotReady if a mapping with files to check cannot be trusted now."""
    used = {check.mapping for check in checks}
    for mapping in mapper.mappings:
        if mapping.name in used:
            guard.check(mapping)


def audit_arr(arr: ArrInstance, mapper: PathMapper, guard: DestinationGuard, *,
              reading: Progress | None = None, checking: Progress | None = None,
              client: Callable[[ArrInstance], ArrClient] = ArrClient) -> ArrAudit:
    """Read one arr's inventory and check every file; an unreadable arr is `error`."""
    audit = ArrAudit(arr)
    try:
        with client(arr) as api:
            files = api.library(reading)
        audit.checks = check_files(files, mapper, checking)
        check_destinations(audit.checks, mapper, guard)
    except ArrUnreadable as exc:
        audit.error = f"cannot be read: {exc.problem}"
        audit.checks = []
    except (DestinationNotReady, OSError) as exc:
        audit.error = f"cannot check the destinations: {exc}"
        audit.checks = []
    return audit


def replaceable(check: FileCheck, mapper: PathMapper) -> bool:
    """May `--fix` replace this different-size copy? Only where the mapping's `on_upgrade`
    is `recycle` (the copy goes to the recycle bin, as for an upgrade)."""
    policies = {mapping.name: mapping.on_upgrade for mapping in mapper.mappings}
    return check.state is FileState.DIFFERENT and policies.get(check.mapping or "") == "recycle"


def fix_requests(audit: ArrAudit, mapper: PathMapper, syncer: str | None = None) -> list[str]:
    """What `--fix` sends on `sync/request`: a sync of each missing file, and a replacement
    of each different-size copy that may be replaced; for the syncer that audited."""
    def request_id() -> str:
        return f"audit-{uuid.uuid4().hex[:12]}"

    return ([PathRequest(path=c.file.path, id=request_id(), syncer=syncer).payload()
             for c in audit.having(FileState.MISSING)]
            + [ReplaceRequest(replace=c.file.path, title=c.file.title, id=request_id(),
                              syncer=syncer).payload()
               for c in audit.checks if replaceable(c, mapper)])


def publish(mqtt: MqttConnection, audit: ArrAudit, mapper: PathMapper, *, fix: bool,
            timeout: float) -> bool:
    """With `fix`, send the fix requests; then publish the summary, retained. True when the
    broker took everything within `timeout` seconds."""
    requests = (fix_requests(audit, mapper, mqtt.topics.syncer) if fix and not audit.error
                else [])
    taken = _deliver(mqtt, [(mqtt.topics.sync_request, body, False) for body in requests],
                     timeout)
    audit.queued = taken
    summary = audit.summary().model_dump_json()
    return _deliver(mqtt, [(mqtt.topics.audit(audit.arr.name), summary, True)],
                    timeout) == 1 and taken == len(requests)


def _deliver(mqtt: MqttConnection, messages: list[tuple[str, str, bool]],
             timeout: float) -> int:
    """Publish at QoS 1 and wait for the broker's answers; returns how many it took."""
    answered = threading.Semaphore(0)
    taken: list[bool] = []

    def done(ok: bool) -> None:
        taken.append(ok)  # list.append is atomic: no lock needed
        answered.release()

    for topic, body, retain in messages:
        mqtt.publish(topic, body, retain=retain, on_done=done)
    for _ in messages:
        if not answered.acquire(timeout=timeout):
            break
    return sum(taken)
