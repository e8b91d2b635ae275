"""Requests answered: one handler per kind of request, each returning its answer.

A lookup table from the kind (`arrsync.wire.request`) to its handler, as zigbee2mqtt's
bridge does. The jobs a handler makes go into the intake batch and are stored before the
answer is published; a request that cannot run is an answer with the reason and a log line,
never a job, a `failed` status, a notification or a failure count.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from arrsync.limits import clip, quote
from arrsync.settings import ArrInstance
from arrsync.topics import audit_level
from arrsync.wire.job import JobState
from arrsync.wire.request import (
    RETRY_LAST,
    AuditRequest,
    BadRequest,
    DismissRequest,
    PathRequest,
    ReplaceRequest,
    Request,
    RequestAnswer,
    RetryRequest,
    parse_request,
)
from syncer.audit.runner import AuditRunner
from syncer.engine.engine import Engine
from syncer.intake.changes import replace_job
from syncer.intake.inbox import IntakeBatch
from syncer.intake.peers import Peers
from syncer.intake.plan import drop_claimed, job_for_request, new_request_id, retry_refusal
from syncer.jobs.store import JobStore
from syncer.paths.mapping import PathMapper, PathRefused, Unmapped

log = logging.getLogger(__name__)

MAX_MESSAGE = 1000  # characters of an answer's message


class RequestHandler:
    def __init__(self, mapper: PathMapper, engine: Engine, store: JobStore,
                 auditor: AuditRunner, arrs: list[ArrInstance], max_attempts: int,
                 peers: Peers) -> None:
        self.mapper, self.engine, self.store = mapper, engine, store
        self.auditor, self.arrs, self.max_attempts = auditor, arrs, max_attempts
        self.peers, self.name = peers, peers.topics.syncer
        self._handlers: dict[type[Any],
                             Callable[[Any, IntakeBatch, float], RequestAnswer | None]] = {
            PathRequest: self._path, RetryRequest: self._retry,
            DismissRequest: self._dismiss, AuditRequest: self._audit,
            ReplaceRequest: self._replace,
        }

    def answer(self, payload: bytes, batch: IntakeBatch, now: float) -> RequestAnswer | None:
        """Read the request once and answer it; its jobs go into `batch`. None: the request
        is another syncer's to answer (it names one, or concerns what another maps)."""
        try:
            request: Request = parse_request(payload)
        except BadRequest as exc:
            if not self.peers.reports_unmapped():
                return None  # one answer, from the syncer that reports what nobody maps
            return self._no(exc.request_id, exc.reason, payload.decode("utf-8", "replace"))
        if request.syncer is not None and request.syncer != self.name:
            return None
        answer = self._handlers[type(request)](request, batch, now)
        if answer is None or answer.ok or request.syncer or self.peers.alone():
            return answer
        # A retry or dismiss of a job this syncer does not have: another may hold it (the
        # CLI names its syncer, so its requests are always answered).
        return None if isinstance(request, RetryRequest | DismissRequest) else answer

    def _unmapped(self, request: PathRequest | ReplaceRequest, path: str,
                  exc: Unmapped) -> RequestAnswer | None:
        """A path under none of this syncer's mappings: another syncer's to answer, unless
        this one was asked by name, or nobody maps it and this one says so for all."""
        if not request.syncer and (self.peers.mapped_by(path)
                                   or not self.peers.reports_unmapped()):
            return None
        return self._no(request.id, str(exc), path)

    # -- the handlers ------------------------------------------------------------------------
    def _path(self, request: PathRequest, batch: IntakeBatch, now: float
              ) -> RequestAnswer | None:
        if request.id and batch.seen(request.id):
            log.info("request %s was already handled; ignoring the repeat", request.id)
            return self._yes(request.id, f"request {request.id} was already handled", [])
        try:
            route = self.mapper.route(request.path)
        except Unmapped as exc:
            return self._unmapped(request, request.path, exc)
        except PathRefused as exc:
            return self._no(request.id, str(exc), request.path)
        job = job_for_request(request.id or new_request_id(), route,
                              max_attempts=self.max_attempts, now=now)
        wanted = job.paths
        job, owners = drop_claimed(job, batch.owners(job.mapping, wanted, float("inf")))
        if not job.paths:  # only active jobs count: a manual request may repeat a sync
            reason = f"already queued or running as job {', '.join(owners)}"
            batch.add(job.trigger, [replace(job, paths=wanted, state=JobState.SKIPPED,
                                            error=reason)])
            return self._yes(request.id, reason, owners)
        batch.add(job.trigger, [job])
        return self._yes(request.id, f"queued job {job.id}: {job.title} (mapping "
                                     f"{job.mapping})", [job.id])

    def _retry(self, request: RetryRequest, batch: IntakeBatch, now: float) -> RequestAnswer:
        job_id = request.retry
        if job_id == RETRY_LAST:  # Home Assistant's button: the most recent failure
            failed = self.store.recent(1, JobState.FAILED)
            if not failed:
                return self._no(request.id, "nothing has failed: there is no failure to retry")
            job_id = failed[0].id
        before = self.store.get(job_id)
        job = self.engine.retry(job_id)
        if job is None:
            return self._no(request.id, retry_refusal(job_id, before), job_id)
        verb = "released from hold" if before and before.on_hold else "queued again"
        return self._yes(request.id, f"job {job.id} ({job.title}) is {verb}", [job.id])

    def _dismiss(self, request: DismissRequest, batch: IntakeBatch,
                 now: float) -> RequestAnswer:
        job = self.engine.dismiss(request.dismiss)
        if job is None:
            return self._no(request.id, f"there is no job on hold {quote(request.dismiss)} "
                                        "to dismiss", request.dismiss)
        return self._yes(request.id, f"job {job.id} ({job.title}) is dismissed: nothing was "
                                     "removed", [job.id])

    def _audit(self, request: AuditRequest, batch: IntakeBatch, now: float) -> RequestAnswer:
        if not self.arrs:
            return self._no(request.id, "no arrs are configured to audit (arrs: in the config)")
        target = request.audit.strip()
        found = list(self.arrs) if target.lower() == "all" else [
            arr for arr in self.arrs if audit_level(arr.name) == audit_level(target)]
        if not found:
            known = ", ".join(arr.name for arr in self.arrs)
            return self._no(request.id, f"no arr named {target!r} to audit (configured: "
                                        f"{known})")
        if not self.auditor.start(found, request.fix):
            return self._no(request.id, "an audit is still running; ask again once it is done")
        names = ", ".join(arr.name for arr in found)
        return self._yes(request.id, f"audit of {names} started{' (with --fix)' * request.fix}"
                                     "; its summary follows on <base>/audit/<arr>", [])

    def _replace(self, request: ReplaceRequest, batch: IntakeBatch,
                 now: float) -> RequestAnswer | None:
        """Only where the mapping's `on_upgrade` is `recycle`: the copy it replaces goes to
        the recycle bin."""
        path, request_id = request.replace, request.id or new_request_id()
        if request.id and batch.seen(request.id):
            return self._yes(request.id, f"request {request.id} was already handled", [])
        try:
            route = self.mapper.route(path)
        except Unmapped as exc:
            return self._unmapped(request, path, exc)
        except PathRefused as exc:
            return self._no(request.id, str(exc), path)
        job = replace_job(route, trigger=request_id, app="manual",
                          title=request.title or posixpath.basename(path),
                          max_attempts=self.max_attempts, now=now)
        if job is None:
            return self._no(request.id, f"mapping {route.mapping.name!r} has on_upgrade: keep, "
                                        "so its destination copies are never replaced", path)
        job, owners = drop_claimed(job, batch.owners(job.mapping, job.paths, float("inf")))
        if not job.paths:
            return self._no(request.id, f"already queued or running as job "
                                        f"{', '.join(owners)}", path)
        batch.add(request_id, [job])
        return self._yes(request.id, f"queued job {job.id}: replace {job.title}", [job.id])

    # -- answers -----------------------------------------------------------------------------
    def _yes(self, request_id: str | None, message: str, jobs: list[str]) -> RequestAnswer:
        log.info("request %s: %s", request_id or "(no id)", message)
        return RequestAnswer(id=request_id, ok=True, message=clip(message, MAX_MESSAGE) or "",
                             jobs=jobs, syncer=self.name)

    def _no(self, request_id: str | None, reason: str, what: str | None = None
            ) -> RequestAnswer:
        """A request that cannot run: quoted in a few hundred characters at most."""
        log.warning("refused request %s%s: %s", request_id or "(no id)",
                    f" {quote(what)}" if what else "", clip(reason, MAX_MESSAGE))
        return RequestAnswer(id=request_id, ok=False, message=clip(reason, MAX_MESSAGE) or "",
                             syncer=self.name)
