"""The syncer's commands for people: check, explain, trigger/retry, jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from paho.mqtt.reasoncodes import ReasonCode

from arrsync.config import CONFIG_ENV
from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.settings.apprise_urls import url_problem
from arrsync.units import human_size
from arrsync.wire.job import FINISHED, JobState, JobStatus
from arrsync.wire.request import (
    DismissRequest,
    Request,
    RequestAnswer,
    RetryRequest,
)
from syncer.copying.guard import DestinationGuard, mount_of
from syncer.jobs.outcome import DestinationNotReady
from syncer.jobs.store import JobStore
from syncer.paths.mapping import PathMapper, PathRefused

OK, BAD = "ok  ", "FAIL"
NOT_AUTHORIZED = 0x87  # the PUBACK reason code Mosquitto gives a publish its ACL forbids


def check(settings: Settings, config_file: str | None) -> int:
    """Validate everything the syncer needs, one line per check; exit 1 if anything is wrong."""
    problems = 0

    def report(ok: bool, text: str) -> None:
        nonlocal problems
        problems += not ok
        print(f"  [{OK if ok else BAD}] {text}")

    print(f"config: {config_file or f'none: defaults (no --config and no ${CONFIG_ENV})'}")
    overrides = sorted(name for name in os.environ
                       if name.upper().startswith("ARRSYNC_") and name != CONFIG_ENV)
    if overrides:
        print(f"overridden from the environment: {', '.join(overrides)}")
    print(f"mappings ({len(settings.syncer.mappings)}):")
    guard = DestinationGuard()
    for mapping in settings.syncer.mappings:
        print(f"- {mapping.name}: {mapping.arr_path} -> {mapping.source} -> {mapping.dest}")
        try:
            guard.check_source(mapping)
            report(True, f"source {mapping.source} is readable")
        except DestinationNotReady as exc:
            report(False, str(exc))
        try:
            guard.check_dest(mapping)
            report(True, f"destination {mapping.dest} is writable, on {mount_of(mapping.dest)}")
        except DestinationNotReady as exc:
            report(False, str(exc))
    if not settings.syncer.mappings:
        report(False, "no mappings configured: nothing would be synced")
    rsync = shutil.which(settings.syncer.rsync_path)
    version = ""
    if rsync:
        first = subprocess.run([rsync, "--version"], capture_output=True, text=True,
                               check=False).stdout.splitlines()
        version = first[0] if first else ""
    report(bool(rsync), f"rsync: {version or 'not found: install the rsync package'}")
    for number, url in enumerate(settings.notify.urls, 1):
        problem = url_problem(url.get_secret_value())
        report(problem is None, f"notify.urls, URL {number}: {problem or 'Apprise can use it'}")
    mqtt = MqttConnection(settings.mqtt, "check", announce=False)
    mqtt.start()
    problem = mqtt.connection_problem(5)
    mqtt.stop()
    report(problem is None, problem or f"broker {settings.mqtt.host}:{settings.mqtt.port} "
                                       "accepted the login")
    print("all good" if not problems else f"{problems} problem(s)")
    return 1 if problems else 0


def explain(settings: Settings, path: str) -> int:
    try:
        route = PathMapper(settings.syncer.mappings, (settings.syncer.recycle_dir,)).route(path)
    except PathRefused as exc:
        print(f"refused: {exc}")
        return 1
    source_state = "exists" if os.path.lexists(route.source) else "does not exist (yet)"
    print(f"mapping:  {route.mapping.name} (arr_path {route.mapping.arr_path})")
    print(f"arr path: {route.arr_path}")
    print(f"source:   {route.source}  [{source_state}]")
    print(f"dest:     {route.dest}")
    return 0


def trigger(settings: Settings, request: Request, timeout: float) -> int:
    """Send a request, print the syncer's answer, then its jobs' statuses until they end."""
    return _run_requests(settings, [request], timeout)


def all_held(settings: Settings, verb: str, timeout: float) -> int:
    """Release ("retry") or dismiss every removal the circuit breaker holds, and wait."""
    held = _held_ids(settings)
    if not held:
        print("no removals on hold")
        return 0
    print(f"{'releasing' if verb == 'retry' else 'dismissing'} {len(held)} removal(s) on hold")
    requests: list[Request] = [RetryRequest(retry=job_id) if verb == "retry"
                               else DismissRequest(dismiss=job_id) for job_id in held]
    return _run_requests(settings, requests, timeout)


def _held_ids(settings: Settings) -> list[str]:
    if not settings.syncer.state_path.exists():
        return []
    store = JobStore(settings.syncer.state_path)
    held = [job.id for job in store.recent(1_000_000, on_hold=True)]
    store.close()
    return held


class _Follower:
    """The answers to our requests and the statuses of their jobs, until each has ended: a
    refusal, a job that finished, or one that waits by itself (held, or on hold)."""

    def __init__(self, requests: dict[str, Request]) -> None:
        self.jobs: dict[str, str] = {}  # job id → our request id
        for request_id, request in requests.items():
            about = getattr(request, "retry", None) or getattr(request, "dismiss", None)
            if about:
                self.jobs[about] = request_id
        self.pending = set(requests)
        self.refused = False
        self.failed = False
        self.done = threading.Event()
        self._lock = threading.Lock()  # guards the fields above (network thread and caller)

    def answer(self, answer: RequestAnswer) -> None:
        with self._lock:
            if answer.id not in self.pending:
                return
            print(f"{'ok' if answer.ok else 'refused'}: {answer.message}")
            self.jobs.update((job, answer.id) for job in answer.jobs)
            if not answer.ok:
                self.refused = True
            if not answer.ok or not answer.jobs:
                self._end(answer.id)

    def status(self, status: JobStatus) -> None:
        with self._lock:
            request_id = status.trigger if status.trigger in self.pending else (
                self.jobs.get(status.job))
            if request_id not in self.pending:
                return
            if status.state is JobState.PROGRESS:
                print(f"  {status.percent}%  {human_size(status.bytes_per_s or 0)}/s  "
                      f"eta {status.eta_s}s")
                return
            print(f"{status.state.value}: {status.title or ''} {status.error or ''}".rstrip())
            if status.state is JobState.RETRYING and (status.held or status.on_hold):
                print("it waits " + ("for a person: `arrsync-syncer retry "
                                     f"{status.job}` releases it" if status.on_hold else
                                     "for the destination and will run by itself"))
                self._end(request_id)
            elif status.state in FINISHED:
                self.failed |= status.state is JobState.FAILED
                self._end(request_id)

    def _end(self, request_id: str | None) -> None:
        self.pending.discard(request_id or "")
        if not self.pending or self.refused:
            self.done.set()


def _run_requests(settings: Settings, requests: list[Request], timeout: float) -> int:
    """Publish the requests; print the answers and their jobs' statuses until all ended."""
    sent = {f"cli-{uuid.uuid4().hex[:12]}": request for request in requests}
    follower = _Follower(sent)
    mqtt = MqttConnection(settings.mqtt, "cli", announce=False)

    def on_message(message: Any) -> None:
        try:
            if message.topic == mqtt.topics.sync_response:
                follower.answer(RequestAnswer.model_validate_json(message.payload))
            elif mqtt.topics.sync_state_name(message.topic):
                follower.status(JobStatus.model_validate_json(message.payload))
        except ValueError:
            return

    mqtt.on_message(on_message)
    mqtt.subscribe(mqtt.topics.all_sync_states)
    mqtt.subscribe(mqtt.topics.sync_response)
    mqtt.start()
    problem = mqtt.connection_problem(10)
    if problem:
        print(problem)
        mqtt.stop()
        return 2
    topic = mqtt.topics.sync_request
    for request_id, request in sent.items():
        answered = threading.Event()
        refused: list[ReasonCode] = []

        def published(ok: bool, event: threading.Event = answered) -> None:
            event.set()

        payload = request.model_copy(update={"id": request_id,
                                             "syncer": settings.syncer.name}).payload()
        mqtt.publish(topic, payload, on_done=published, on_refused=refused.append)
        answered.wait(10)
        if refused:
            print(_refusal(settings, topic, refused[0]))
            mqtt.stop()
            return 2
    finished = follower.done.wait(timeout)
    mqtt.stop()
    if not finished:
        print(f"no answer within {timeout:.0f}s; is arrsync-syncer running?")
        return 2
    return 1 if follower.refused or follower.failed else 0


def _refusal(settings: Settings, topic: str, reason: ReasonCode) -> str:
    if reason.value == NOT_AUTHORIZED:
        user = settings.mqtt.username or "(anonymous)"
        return (f"the broker refused: user {user} may not publish to {topic} "
                "(use the trigger user)")
    return f"the broker refused the request on {topic}: {reason.getName()}"


def list_jobs(settings: Settings, *, failed: bool, held: bool, limit: int) -> int:
    if not settings.syncer.state_path.exists():
        print(f"no job store at {settings.syncer.state_path} yet")
        return 0
    store = JobStore(settings.syncer.state_path)
    jobs = store.recent(limit, JobState.FAILED if failed else None, on_hold=held)
    store.close()
    for job in jobs:
        when = datetime.fromtimestamp(job.updated_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "on hold" if job.on_hold else job.state.value
        print(f"{job.id}  {when}  {state:<9}  {job.action.value:<7}  "
              f"{job.attempt}/{job.max_attempts}  {job.title or ''}")
        if job.error:
            print(f"{'':14}{job.error}")
    if not jobs:
        print("no jobs")
    return 0
