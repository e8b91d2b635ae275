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
from arrsync.wire.job import Move
from syncer.copying.files import FileSet, collect_for_attempt, verify_sizes
from syncer.copying.rsync import PARTIAL_DIR, build_command
from syncer.copying.space import SpaceLedger
from syncer.jobs.outcome import AttemptFailed, Decision, Done
from syncer.mirror.attempt import Attempt
from syncer.mirror.destination import make_folder_for, move_failed, rename, resolve
from syncer.mirror.recycle_bin import RecycleBin
from syncer.mirror.removals import recycle_paths
from syncer.mirror.verify import replaced_belong_to_the_item, source_is_there


def replace(attempt: Attempt, mapping: Mapping, recycle_bin: RecycleBin,
            settings: SyncerSettings, space: SpaceLedger) -> Done:
    dry_run, own, job = settings.dry_run, (settings.recycle_dir,), attempt.job
    files = collect_for_attempt(job, mapping, sidecars=settings.sidecars)
    if job.replaced:
        replaced_belong_to_the_item(job)
        source_is_there(mapping)
    if not dry_run:
        space.reserve(job.id, mapping.dest, files.bytes)
    attempt.begin()
    staging = recycle_bin.staging(job.id)
    if not dry_run:
        os.makedirs(staging, exist_ok=True)
    compare = os.path.realpath(mapping.dest).rstrip("/") + "/"
    command = build_command(settings.rsync_path, mapping.source, staging, dry_run=dry_run,
                            extra_args=[*settings.rsync_extra_args, *mapping.rsync_extra_args,
                                        f"--compare-dest={compare}"],
                            io_timeout=settings.stall_timeout)
    result = attempt.copy(command, files, into=staging)
    old = [r for r in job.replaced if r not in job.paths]
    if dry_run:
        moves = [Move(from_path=p, to_path=recycle_bin.where(p, r))
                 for r in result.transferred
                 if os.path.isfile(p := posixpath.join(mapping.dest, r))]
        moves += recycle_paths(mapping, old, recycle_bin, own, dry_run=True)
        would = sum(i.size for i in files.copies
                    if os.path.relpath(i.source, mapping.source) in result.transferred)
        return _done(moves, would, len(files.copies),
                     {"dry_run": True, "would_copy": result.transferred})
    moves, copied_bytes = _put_in_place(mapping, staging, files, recycle_bin, own)
    verify_sizes(files)
    moves += recycle_paths(mapping, old, recycle_bin, own, dry_run=False)
    shutil.rmtree(staging, ignore_errors=True)  # arrsync's own temporary folder, now empty
    return _done(moves, copied_bytes, len(files.copies), {})


def _done(moves: list[Move], copied_bytes: int, files: int, fields: dict[str, object]) -> Done:
    skipped = None if moves or copied_bytes else (
        "the destination already has this version; nothing was copied or replaced")
    return Done(skipped=skipped, bytes=copied_bytes, files=files,
                fields={**fields, "moved": moves})


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
    sizes = {os.path.relpath(i.source, mapping.source): i.size for i in files.copies}
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
