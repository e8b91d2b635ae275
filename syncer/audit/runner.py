"""The audit's requests on `sync/request`: `{"audit": "NAME"}` or `{"audit": "all"}` (with
`"fix": true` to also queue the missing files), and `{"replace": PATH}`, which `--fix`
sends for a destination copy of another size than the arr's file.

Audits run on a thread of their own, one at a time, never on the intake thread: reading a
large library and looking at thousands of files over NFS takes minutes. The result is the
retained summary on `<base>/audit/<arr>`, as after `arrsync-syncer audit`.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from collections.abc import Callable
from typing import Any

from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance, Settings
from arrsync.topics import audit_level
from arrsync.wire.parse import WireError, parse_json
from syncer.audit.check import audit_arr, publish
from syncer.copying.guard import DestinationGuard
from syncer.intake.changes import replace_job
from syncer.intake.plan import Refusal, drop_claimed
from syncer.intake.requests import BadRequest, new_request_id, request_id_of
from syncer.jobs.job import Job
from syncer.paths.mapping import PathMapper, PathRefused

log = logging.getLogger(__name__)

PUBLISH_WAIT_S = 30


class BadAuditRequest(Exception):
    """An audit request that cannot be run; the message says why."""


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:  # the wire's parser: Python's json raises other errors for hostile nesting or digits
        data = parse_json(payload) if payload.lstrip()[:1] == b"{" else None
    except WireError:
        return None  # not for us: the usual request parsing says what is wrong
    return data if isinstance(data, dict) else None


def audit_request(payload: bytes, arrs: list[ArrInstance],
                  ) -> tuple[list[ArrInstance], bool] | None:
    """The arrs to audit and whether to fix, or None when the request is not an audit."""
    data = _json_object(payload)
    if data is None or "audit" not in data:
        return None
    target, fix = data["audit"], data.get("fix", False)
    if not isinstance(target, str) or not target.strip():
        raise BadAuditRequest('"audit" must be the name of an arr, or "all"')
    if not isinstance(fix, bool):
        raise BadAuditRequest('"fix" must be true or false')
    if not arrs:
        raise BadAuditRequest("no arrs are configured to audit (arrs: in the config)")
    if target.strip().lower() == "all":
        return list(arrs), fix
    found = [arr for arr in arrs if audit_level(arr.name) == audit_level(target)]
    if not found:
        known = ", ".join(arr.name for arr in arrs)
        raise BadAuditRequest(f"no arr named {target!r} to audit (configured: {known})")
    return found, fix


def replace_request(payload: bytes, mapper: PathMapper,
                    claimed: Callable[[str, list[str]], dict[str, str]], *, max_attempts: int,
                    now: float) -> tuple[str, Job | Refusal] | None:
    """`{"replace": PATH, "id": ..., "title": ...}` as (request id, the replace job or why
    there is none); None when the request is not a replacement. Only where the mapping's
    `on_upgrade` is `recycle`: the copy it replaces goes to the recycle bin."""
    data = _json_object(payload)
    if data is None or "replace" not in data:
        return None
    path, title = data["replace"], data.get("title")
    try:
        request_id = request_id_of(data)
    except BadRequest as exc:
        return new_request_id(), Refusal(str(path)[:200], str(exc))
    if not isinstance(path, str):
        return request_id, Refusal(str(path)[:200], '"replace" must be a path (a string)')
    try:
        route = mapper.route(path)
    except PathRefused as exc:
        return request_id, Refusal(path, str(exc))
    job = replace_job(route, trigger=request_id, app="manual",
                      title=title if isinstance(title, str) else posixpath.basename(path),
                      max_attempts=max_attempts, now=now)
    if job is None:
        return request_id, Refusal(path, f"mapping {route.mapping.name!r} has on_upgrade: "
                                         "keep, so its destination copies are never replaced")
    owners = drop_claimed(job, claimed(job.mapping, job.paths))
    if not job.paths:
        return request_id, Refusal(path, f"already queued or running as job {', '.join(owners)}")
    return request_id, job


class AuditRunner:
    def __init__(self, settings: Settings, mqtt: MqttConnection) -> None:
        self.mapper = PathMapper(settings.syncer.mappings, (settings.syncer.recycle_dir,))
        self.guard = DestinationGuard()
        self.mqtt = mqtt
        self._lock = threading.Lock()  # guards _running only
        self._running = False

    def start(self, arrs: list[ArrInstance], fix: bool) -> bool:
        """Start an audit on its own thread; False if one is still running."""
        with self._lock:
            if self._running:
                return False
            self._running = True
        threading.Thread(target=self._run, args=(arrs, fix), name="audit", daemon=True).start()
        return True

    def _run(self, arrs: list[ArrInstance], fix: bool) -> None:
        try:
            for arr in arrs:
                audit = audit_arr(arr, self.mapper, self.guard)
                if audit.error:
                    log.warning("audit of %s: %s", arr.name, audit.error)
                else:
                    log.info("audit of %s", audit.report()[0])
                publish(self.mqtt, audit, self.mapper, fix=fix, timeout=PUBLISH_WAIT_S)
                if audit.queued:
                    log.info("audit of %s: queued %d sync(s) of missing or different files",
                             arr.name, audit.queued)
        except Exception:
            log.exception("the audit failed")
        finally:
            with self._lock:
                self._running = False
