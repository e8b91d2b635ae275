"""Mirror actions: rename, recycle and replace jobs, each run on its own (never batched
with copies), with the same guard, retries, dry run and status as a copy.

Every action is idempotent, so a crash in the middle is finished by the next attempt:
a rename looks at both names (the old one gone and the new one there means done; one file
under both names means a crash between link and unlink), a recycle skips what is already
in the bin, a replace resumes its staged copy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire.job import JobAction, JobState, Move
from syncer.copying.files import FileSet, collect_for_attempt, copied, verify_sizes
from syncer.copying.rsync import build_command
from syncer.copying.space import SpaceLedger
from syncer.jobs.job import Ending, Job
from syncer.jobs.outcome import AttemptFailed, Decision, WaitsForPerson
from syncer.jobs.store import JobStore
from syncer.mirror.breaker import CircuitBreaker
from syncer.mirror.destination import (
    make_folder_for,
    move,
    move_failed,
    remove_empty_folders,
    resolve,
    same_file,
)
from syncer.mirror.recycle_bin import RecycleBin
from syncer.mirror.removals import EngineHooks, recycle_paths, sidecar_renames
from syncer.mirror.replace import replace

log = logging.getLogger(__name__)


class MirrorActions:
    def __init__(self, settings: SyncerSettings, store: JobStore, space: SpaceLedger,
                 hooks: EngineHooks, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.space = space  # reservations shared with the copies running meanwhile
        self.hooks = hooks
        self.clock = clock
        self.own = (settings.recycle_dir,)
        self.store = store
        self.breaker = CircuitBreaker(store, settings.max_removals_per_hour, clock)

    def run(self, job: Job, mapping: Mapping) -> Ending:
        recycle_bin = RecycleBin(mapping.dest, self.settings.recycle_dir, self.clock)
        if job.action is JobAction.RENAME:
            return self._rename(job, mapping)
        if job.action is JobAction.RECYCLE:
            return self._recycle(job, mapping, recycle_bin)
        return replace(job, mapping, recycle_bin, self.settings, self.space, self.hooks)

    def finished(self, job: Job) -> None:
        """The attempt ended and its state is saved."""
        self.breaker.finished(job.id)

    # -- recycle -----------------------------------------------------------------------------
    def _recycle(self, job: Job, mapping: Mapping, recycle_bin: RecycleBin) -> Ending:
        dry_run = self.settings.dry_run
        if not dry_run:
            try:
                self.breaker.admit(job)
            except WaitsForPerson as exc:
                return self._on_hold(job, str(exc), alert=exc.alert)
        self.hooks.begin_attempt(job)
        moves = recycle_paths(mapping, job.paths, recycle_bin, self.own, dry_run=dry_run)
        job.files, job.bytes = len(moves), 0
        extra = {"moved": moves, **({"dry_run": True} if dry_run else {})}
        if not moves:
            return Ending(JobState.SKIPPED, "nothing to recycle: the destination does not have "
                          f"{'it' if len(job.paths) == 1 else 'them'}", extra)
        return Ending(JobState.SUCCEEDED, None, extra)

    def _on_hold(self, job: Job, reason: str, *, alert: bool) -> Ending:
        """Held until a person retries or dismisses it; the first hold in an hour alerts."""
        job.on_hold = True
        return Ending(JobState.RETRYING, reason, publish=alert)

    # -- rename ------------------------------------------------------------------------------
    def _rename(self, job: Job, mapping: Mapping) -> Ending:
        """Look at both names of each file first, then rename what is there and copy what
        never was; a new name taken by another file is left alone and reported."""
        renames: list[tuple[str, str]] = []
        missing: list[str] = []
        conflicts: list[str] = []
        for old_relative, new_relative in job.renames:
            new = resolve(mapping.dest, new_relative, self.own)
            old = resolve(mapping.dest, old_relative, self.own) if old_relative else None
            if old is None or not os.path.lexists(old):
                if not os.path.lexists(new):
                    missing.append(new_relative)  # never synced: copy the new name
            elif os.path.lexists(new) and not same_file(old, new):
                conflicts.append(new)
            else:  # one file under both names: a crash came between link and unlink
                renames.append((old, new))
        files = self._missing_files(job, mapping, missing)
        self.hooks.begin_attempt(job)
        moves = [m for old, new in renames for m in self._rename_one(mapping, old, new)]
        job.bytes = self._copy(job, mapping, files) if files else 0
        job.files = len(moves) + (len(files.items) if files else 0)
        extra = {"moved": moves, **({"dry_run": True} if self.settings.dry_run else {})}
        if conflicts:
            raise AttemptFailed(Decision.GIVE_UP, (
                f"{', '.join(conflicts)} already exist(s) at the destination and is not the "
                "renamed copy; arrsync left both names as they are: remove the one you do "
                "not want, then retry"))
        if not moves and not job.bytes:
            return Ending(JobState.SKIPPED, "nothing to rename: the destination already has "
                          "the new names", extra)
        return Ending(JobState.SUCCEEDED, None, extra)

    def _rename_one(self, mapping: Mapping, old: str, new: str) -> list[Move]:
        """Rename the file and the sidecars that follow it; returns what moved."""
        pairs = [(old, new)] + [pair for pair in sidecar_renames(old, new)
                                if not os.path.lexists(pair[1])]
        if self.settings.dry_run:
            return [Move(from_path=a, to_path=b) for a, b in pairs]
        make_folder_for(mapping.dest, new)
        for source, target in pairs:
            try:
                move(source, target)
            except OSError as exc:
                raise move_failed(source, target, exc) from None
        remove_empty_folders(mapping.dest, os.path.dirname(old))
        log.info("renamed %s to %s (%d sidecar(s))", old, new, len(pairs) - 1)
        return [Move(from_path=a, to_path=b) for a, b in pairs]

    def _missing_files(self, job: Job, mapping: Mapping, missing: list[str]) -> FileSet | None:
        """The new names the destination never had, with their sidecars; space checked."""
        if not missing:
            return None
        files = collect_for_attempt(job, mapping, sidecars=self.settings.sidecars,
                                    paths=missing)
        if not self.settings.dry_run:
            self.space.reserve(job.id, mapping.dest, files.bytes)
        return files

    def _copy(self, job: Job, mapping: Mapping, files: FileSet) -> int:
        """Copy them; returns the bytes copied."""
        command = build_command(self.settings.rsync_path, mapping.source, mapping.dest,
                                dry_run=self.settings.dry_run,
                                extra_args=self.settings.rsync_extra_args)
        result = self.hooks.run_rsync(job, command, files.entries)
        if not self.settings.dry_run:
            verify_sizes(files)
        return sum(item.size for item in copied(files, mapping.source, result.transferred))
