"""Replace: copy an upgrade in, then move what it replaced into the recycle bin.

The new files are copied into a staging folder inside the recycle bin (same file system as
the destination), with `--compare-dest` so a file the destination already has (same size
and time) is not copied at all. Each staged file then takes its final name with one
rename(2); a file already under that name (a same-name upgrade) is first hard-linked into
the recycle bin, so the final name always names a whole file: the old one, then the new one.
Last, the destination copies of the files the upgrade replaced go to the recycle bin.

After a crash: a staged copy resumes (rsync keeps its partial file), a staged file not yet
renamed is renamed, an old file already linked into the bin is not linked twice.
"""

from __future__ import annotations

import os
import posixpath
import shutil

from arrsync.settings import Mapping, SyncerSettings
from arrsync.wire.job import JobState, Move
from syncer.copying.files import FileSet, collect_for_attempt, verify_sizes
from syncer.copying.rsync import PARTIAL_DIR, build_command
from syncer.copying.space import SpaceLedger
from syncer.jobs.job import Ending, Job
from syncer.jobs.outcome import AttemptFailed, Decision
from syncer.mirror.destination import make_folder_for, move_failed, rename, resolve
from syncer.mirror.recycle_bin import RecycleBin
from syncer.mirror.removals import EngineHooks, recycle_paths


def replace(job: Job, mapping: Mapping, recycle_bin: RecycleBin, settings: SyncerSettings,
            space: SpaceLedger, hooks: EngineHooks) -> Ending:
    dry_run, own = settings.dry_run, (settings.recycle_dir,)
    files = collect_for_attempt(job, mapping, sidecars=settings.sidecars)
    if not dry_run:
        space.reserve(job.id, mapping.dest, files.bytes)
    hooks.begin_attempt(job)
    staging = recycle_bin.staging(job.id)
    if not dry_run:
        os.makedirs(staging, exist_ok=True)
    compare = os.path.realpath(mapping.dest).rstrip("/") + "/"
    command = build_command(settings.rsync_path, mapping.source, staging, dry_run=dry_run,
                            extra_args=[*settings.rsync_extra_args, f"--compare-dest={compare}"])
    result = hooks.run_rsync(job, command, files.entries)
    old = [r for r in job.replaced if r not in job.paths]
    if dry_run:
        moves = [Move(from_path=p, to_path=recycle_bin.where(p, r))
                 for r in result.transferred
                 if os.path.isfile(p := posixpath.join(mapping.dest, r))]
        moves += recycle_paths(mapping, old, recycle_bin, own, dry_run=True)
        job.bytes = sum(i.size for i in files.items
                        if os.path.relpath(i.source, mapping.source) in result.transferred)
        return _ending(job, moves, {"dry_run": True, "would_copy": result.transferred})
    moves, job.bytes = _put_in_place(mapping, staging, files, recycle_bin, own)
    verify_sizes(files)
    moves += recycle_paths(mapping, old, recycle_bin, own, dry_run=False)
    shutil.rmtree(staging, ignore_errors=True)  # arrsync's own temporary folder, now empty
    job.files = len(files.items)
    return _ending(job, moves, {})


def _ending(job: Job, moves: list[Move], extra: dict[str, object]) -> Ending:
    extra = {**extra, "moved": moves}
    if not moves and not job.bytes:
        return Ending(JobState.SKIPPED, "the destination already has this version; nothing "
                      "was copied or replaced", extra)
    return Ending(JobState.SUCCEEDED, None, extra)


def _staged(staging: str) -> list[str]:
    """Relative names of the complete files in the staging folder."""
    found = []
    for folder, folders, names in os.walk(staging):
        folders[:] = [f for f in folders if f != PARTIAL_DIR]
        found += [os.path.relpath(os.path.join(folder, n), staging) for n in names]
    return sorted(found)


def _put_in_place(mapping: Mapping, staging: str, files: FileSet, recycle_bin: RecycleBin,
                  own: tuple[str, ...]) -> tuple[list[Move], int]:
    """Rename each staged file to its final name; returns what went to the bin, and bytes."""
    sizes = {os.path.relpath(i.source, mapping.source): i.size for i in files.items}
    moves: list[Move] = []
    copied = 0
    for relative in _staged(staging):
        staged = os.path.join(staging, relative)
        size = os.lstat(staged).st_size
        if relative not in sizes:  # left by an earlier attempt, no longer part of the job
            os.unlink(staged)
            continue
        if sizes[relative] != size:
            os.unlink(staged)  # our own copy, of a source that changed meanwhile
            raise AttemptFailed(Decision.RETRY, (
                f"{relative} changed at the source while it was copied; copying it again"))
        final = resolve(mapping.dest, relative, own)
        make_folder_for(mapping.dest, final)
        try:
            if os.path.lexists(final):
                moves.append(Move(from_path=final,
                                  to_path=recycle_bin.swap_in(staged, final, relative)))
            else:
                rename(staged, final)
        except OSError as exc:
            raise move_failed(staged, final, exc) from None
        copied += size
    return moves, copied
