"""The audit: is every file the arrs list at its destination, with the size the arr knows?

Each arr's inventory (Radarr `/movie` with its embedded files; Sonarr `/series`, then
`/episodefile` per series) is read as it arrives and goes through the mappings to its
destination, where each folder is read once (`look.py`); only the counts and the files a
person must act on are kept, so memory does not grow with the library. A mapping
whose destination is not ready (the guard's checks) makes the audit fail rather than count
every file missing. With `fix`, each missing file becomes a request on `sync/request`, as
`arrsync-syncer trigger` sends, and each copy of another size a `replace` request where
the mapping's `on_upgrade` allows it; the running syncer does them like any other job.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from arrsync.arrs.client import ArrClient, ArrUnreadable, Progress, shown_url
from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance
from arrsync.units import human_size
from arrsync.wire.audit import AuditSummary
from arrsync.wire.request import PathRequest, ReplaceRequest
from arrsync.wire.timestamps import utc_now_iso
from syncer.audit.look import FileCheck, FileState, check_each
from syncer.copying.guard import DestinationGuard
from syncer.jobs.outcome import DestinationNotReady
from syncer.paths.mapping import PathMapper

PROGRESS_EVERY = 100  # files checked between two progress reports


@dataclass
class ArrAudit:
    """One arr's audit: the count of each state, and the files a person must read about
    (missing, different size), never every file of the library."""

    arr: ArrInstance
    counts: Counter[FileState] = field(default_factory=Counter)
    noted: list[FileCheck] = field(default_factory=list)  # missing and different, in order
    unmapped_example: str | None = None  # the first file under no mapping
    mappings: set[str] = field(default_factory=set)  # the mappings that have files
    error: str | None = None  # the arr or a destination could not be read
    queued: int = 0  # syncs requested by fix and taken by the broker

    def add(self, check: FileCheck) -> None:
        self.counts[check.state] += 1
        if check.state in (FileState.MISSING, FileState.DIFFERENT):
            self.noted.append(check)
        if check.state is FileState.UNMAPPED and self.unmapped_example is None:
            self.unmapped_example = check.file.path
        if check.mapping:
            self.mappings.add(check.mapping)

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    def count(self, state: FileState) -> int:
        return self.counts[state]

    def having(self, state: FileState) -> list[FileCheck]:
        """The missing or the different files (the others are only counted)."""
        return [check for check in self.noted if check.state is state]

    def summary(self) -> AuditSummary:
        def counted(state: FileState) -> int | None:
            return None if self.error else self.count(state)

        return AuditSummary(
            arr=self.arr.name, app=self.arr.app,
            files=None if self.error else self.files,
            present=counted(FileState.PRESENT), missing=counted(FileState.MISSING),
            different_size=counted(FileState.DIFFERENT), unmapped=counted(FileState.UNMAPPED),
            queued=self.queued, error=self.error, at=utc_now_iso(),
        )

    def report(self) -> list[str]:
        """What a person reads: the counts, then each missing and different file."""
        head = f"{self.arr.name} ({self.arr.app}, {shown_url(self.arr.url)})"
        if self.error:
            return [f"{head}: {self.error}"]
        counts = (f"{self.files} files, {self.count(FileState.PRESENT)} present, "
                  f"{self.count(FileState.MISSING)} missing, "
                  f"{self.count(FileState.DIFFERENT)} different size")
        lines = [f"{head}: {counts}"]
        for check in self.having(FileState.MISSING):
            lines.append(f"  missing         {check.file.title}: {check.dest}")
        for check in self.having(FileState.DIFFERENT):
            lines.append(f"  different size  {check.file.title}: {check.dest} "
                         f"(arr {_size(check.file.size)}, destination {_size(check.dest_size)})")
        if self.unmapped_example:
            lines.append(f"  {self.count(FileState.UNMAPPED)} file(s) under no mapping, not "
                         f"mirrored (e.g. {self.unmapped_example})")
        return lines


def _size(size: int | None) -> str:
    return "unknown" if size is None else f"{human_size(size)}, {size} bytes"


def check_destinations(audit: ArrAudit, mapper: PathMapper, guard: DestinationGuard) -> None:
    """DestinationNotReady if a mapping with files to check cannot be trusted now."""
    for mapping in mapper.mappings:
        if mapping.name in audit.mappings:
            guard.check(mapping)


def audit_arr(arr: ArrInstance, mapper: PathMapper, guard: DestinationGuard, *,
              reading: Progress | None = None, checking: Progress | None = None,
              client: Callable[[ArrInstance], ArrClient] = ArrClient) -> ArrAudit:
    """Read one arr's inventory and check every file as it comes; an unreadable arr is
    `error`. `reading(done, total)`: Sonarr's series read; `checking(done, seen)`: the
    files checked so far, of those read so far."""
    audit = ArrAudit(arr)
    try:
        with client(arr) as api:
            for done, check in enumerate(check_each(api.each_file(reading), mapper), 1):
                audit.add(check)
                if checking and done % PROGRESS_EVERY == 0:
                    checking(done, done)
        if checking:
            checking(audit.files, audit.files)
        check_destinations(audit, mapper, guard)
    except ArrUnreadable as exc:
        audit = ArrAudit(arr, error=f"cannot be read: {exc.problem}")
    except (DestinationNotReady, OSError) as exc:
        audit = ArrAudit(arr, error=f"cannot check the destinations: {exc}")
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
               for c in audit.having(FileState.DIFFERENT) if replaceable(c, mapper)])


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
