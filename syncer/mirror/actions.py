"""Mirror actions: rename, recycle and replace jobs, each run on its own (never batched
with copies), with the same guard, retries, dry run and status as a copy.

Every action is idempotent, so a crash in the middle is finished by the next attempt:
a rename looks at both names (the old one gone and the new one there means done; one file
under both names means a crash between link and unlink), a recycle skips what is already
in the bin, a replace resumes its staged copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire.job import JobAction
from syncer.copying.space import SpaceLedger
from syncer.jobs.outcome import Done
from syncer.jobs.store import JobStore
from syncer.mirror.attempt import Attempt
from syncer.mirror.breaker import CircuitBreaker
from syncer.mirror.recycle_bin import RecycleBin
from syncer.mirror.removals import recycle_paths
from syncer.mirror.rename import rename
from syncer.mirror.replace import replace
from syncer.mirror.verify import source_is_there


class MirrorActions:
    def __init__(self, settings: SyncerSettings, store: JobStore, space: SpaceLedger,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.space = space  # reservations shared with the copies running meanwhile
        self.clock = clock
        self.own = (settings.recycle_dir,)
        self.breaker = CircuitBreaker(store, settings.max_removals_per_hour, clock)

    def run(self, attempt: Attempt, mapping: Mapping) -> Done:
        """The job's action; what cannot go on raises (see `syncer.jobs.outcome`)."""
        recycle_bin = RecycleBin(mapping.dest, self.settings.recycle_dir, self.clock)
        action = attempt.job.action
        if action is JobAction.RENAME:
            return rename(attempt, mapping, self.settings, self.space)
        if action is JobAction.RECYCLE:
            return self._recycle(attempt, mapping, recycle_bin)
        return replace(attempt, mapping, recycle_bin, self.settings, self.space)

    def finished(self, job_id: str) -> None:
        """The attempt ended and its state is saved."""
        self.breaker.finished(job_id)

    def _recycle(self, attempt: Attempt, mapping: Mapping, recycle_bin: RecycleBin) -> Done:
        dry_run, job = self.settings.dry_run, attempt.job
        if not dry_run:
            self.breaker.admit(job)  # WaitsForPerson: on hold until a person decides
        source_is_there(mapping)
        attempt.begin()
        moves = recycle_paths(mapping, job.paths, recycle_bin, self.own, dry_run=dry_run)
        fields = {"moved": moves, **({"dry_run": True} if dry_run else {})}
        skipped = None if moves else ("nothing to recycle: the destination does not have "
                                      f"{'it' if len(job.paths) == 1 else 'them'}")
        return Done(skipped=skipped, bytes=0, files=len(moves), fields=fields)
