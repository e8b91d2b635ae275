"""Audits asked for on `sync/request` (`{"audit": "NAME" | "all", "fix": true}`, answered by
`syncer.intake.requests`).

Audits run on a thread of their own, one at a time, never on the intake thread: reading a
large library and looking at thousands of files over NFS takes minutes. The result is the
retained summary on `<base>/audit/<arr>`, as after `arrsync-syncer audit`.
"""

from __future__ import annotations

import logging
import threading

from arrsync.mqtt import MqttConnection
from arrsync.settings import ArrInstance, Settings
from syncer.audit.check import audit_arr, publish
from syncer.copying.guard import DestinationGuard
from syncer.paths.mapping import PathMapper

log = logging.getLogger(__name__)

PUBLISH_WAIT_S = 30


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
