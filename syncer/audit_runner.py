"""Audits asked for over MQTT: `{"audit": "NAME"}` or `{"audit": "all"}` on `sync/request`,
with `"fix": true` to also queue the missing files.

They run on a thread of their own, one at a time, never on the intake thread: reading a
large library and looking at thousands of files over NFS takes minutes. The result is the
retained summary on `<base>/audit/<arr>`, as after `arrsync-syncer audit`.
"""

from __future__ import annotations

import json
import logging
import threading

from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance, Settings
from arrsync.topics import audit_level
from syncer.audit import audit_arr, publish
from syncer.guard import DestinationGuard
from syncer.mapping import PathMapper

log = logging.getLogger(__name__)

PUBLISH_WAIT_S = 30


class BadAuditRequest(Exception):
    """An audit request that cannot be run; the message says why."""


def audit_request(payload: bytes, arrs: list[ArrInstance],
                  ) -> tuple[list[ArrInstance], bool] | None:
    """The arrs to audit and whether to fix, or None when the request is not an audit."""
    try:
        data = json.loads(payload.decode("utf-8")) if payload.lstrip()[:1] == b"{" else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # not for us: the usual request parsing says what is wrong
    if not isinstance(data, dict) or "audit" not in data:
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


class AuditRunner:
    def __init__(self, settings: Settings, mqtt: MqttConnection) -> None:
        self.mapper = PathMapper(settings.syncer.mappings)
        self.guard = DestinationGuard(settings.syncer.free_space_margin)
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
                publish(self.mqtt, audit, fix=fix, timeout=PUBLISH_WAIT_S)
                if audit.queued:
                    log.info("audit of %s: queued %d sync(s) of missing files", arr.name,
                             audit.queued)
        except Exception:
            log.exception("the audit failed")
        finally:
            with self._lock:
                self._running = False
