"""Rename: the destination copies take the names the arr gave the source's files.

Both names of each file are looked at first: the old one there is renamed (with the
sidecars that follow it); one file under both names is a crash between link and unlink,
finished now; a new name the destination never had is copied; a new name taken by another
file is left alone and reported.
"""

from __future__ import annotations

import logging
import os

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire.job import Move
from syncer.copying.files import FileSet, collect_for_attempt, copied
from syncer.copying.rsync import build_command
from syncer.copying.space import SpaceLedger
from syncer.jobs.outcome import AttemptFailed, Decision, Done
from syncer.mirror.attempt import Attempt
from syncer.mirror.destination import (
    make_folder_for,
    move,
    move_failed,
    remove_empty_folders,
    resolve,
    same_file,
)
from syncer.mirror.removals import sidecar_renames
from syncer.mirror.verify import source_is_there, source_renamed

log = logging.getLogger(__name__)


def rename(attempt: Attempt, mapping: Mapping, settings: SyncerSettings,
           space: SpaceLedger) -> Done:
    job, own, dry_run = attempt.job, (settings.recycle_dir,), settings.dry_run
    renames: list[tuple[str, str]] = []
    missing: list[str] = []
    conflicts: list[str] = []
    for old_relative, new_relative in job.renames:
        new = resolve(mapping.dest, new_relative, own)
        old = resolve(mapping.dest, old_relative, own) if old_relative else None
        if old is None or not os.path.lexists(old):
            if not os.path.lexists(new):
                missing.append(new_relative)  # never synced: copy the new name
        elif os.path.lexists(new) and not same_file(old, new):
            conflicts.append(new)
        else:  # one file under both names: a crash came between link and unlink
            renames.append((old, new))
            source_renamed(mapping, old_relative, new_relative)
    if renames:
        source_is_there(mapping)
    files = None
    if missing:  # the new names the destination never had, with their sidecars
        files = collect_for_attempt(job, mapping, sidecars=settings.sidecars, paths=missing)
        if not dry_run:
            space.reserve(job.id, mapping.dest, files.bytes)
    attempt.begin()
    moves = [m for old, new in renames for m in _rename_one(mapping, old, new, dry_run)]
    copied_bytes = _copy(attempt, mapping, settings, files) if files else 0
    fields = {"moved": moves, **({"dry_run": True} if dry_run else {})}
    if conflicts:
        raise AttemptFailed(Decision.GIVE_UP, (
            f"{', '.join(conflicts)} already exist(s) at the destination and is not the "
            "renamed copy; arrsync left both names as they are: remove the one you do "
            "not want, then retry"))
    skipped = None if moves or copied_bytes else (
        "nothing to rename: the destination already has the new names")
    return Done(skipped=skipped, bytes=copied_bytes,
                files=len(moves) + (len(files.copies) if files else 0), fields=fields)


def _rename_one(mapping: Mapping, old: str, new: str, dry_run: bool) -> list[Move]:
    """Rename the file and the sidecars that follow it; returns what moved."""
    pairs = [(old, new)] + [pair for pair in sidecar_renames(old, new)
                            if not os.path.lexists(pair[1])]
    if dry_run:
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


def _copy(attempt: Attempt, mapping: Mapping, settings: SyncerSettings,
          files: FileSet) -> int:
    """Copy the new names the destination never had; returns the bytes copied."""
    command = build_command(settings.rsync_path, mapping.source, mapping.dest,
                            dry_run=settings.dry_run,
                            extra_args=[*settings.rsync_extra_args, *mapping.rsync_extra_args],
                            io_timeout=settings.stall_timeout)
    result = attempt.copy(command, files)
    return sum(item.size for item in copied(files, mapping.source, result.transferred))
