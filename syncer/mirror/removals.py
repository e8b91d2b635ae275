"""Removals at the destination: recycling a list of paths, and the sidecars that follow a
renamed file.

A destination copy is recycled only when the source no longer has it: the arr says it
deleted the file, and this host's view of the source must agree (an NFS cache may lag a few
seconds: the attempt is retried). Sidecars that follow the file (`Film.en.srt` beside
`Film.mkv`) go with it when the source no longer has them either.
"""

from __future__ import annotations

import os
import posixpath

from arrsync.settings import Mapping
from arrsync.wire.job import Move
from syncer.jobs.outcome import AttemptFailed, Decision
from syncer.mirror.destination import move_failed, remove_empty_folders, resolve
from syncer.mirror.recycle_bin import RecycleBin
from syncer.paths.sidecars import sidecars_of


def _source_of(mapping: Mapping, relative: str) -> str:
    return posixpath.join(mapping.source, relative)


def recycle_paths(mapping: Mapping, relatives: list[str], recycle_bin: RecycleBin,
                  own: tuple[str, ...], *, dry_run: bool) -> list[Move]:
    """Move the destination copies of `relatives` (and their sidecars) into the bin and
    remove the folders left empty; what is not at the destination is skipped."""
    moves: list[Move] = []
    for relative in relatives:
        current = resolve(mapping.dest, relative, own)
        if not os.path.lexists(current):
            continue
        if os.path.lexists(_source_of(mapping, relative)):
            raise AttemptFailed(Decision.RETRY, (
                f"the source still has {_source_of(mapping, relative)}; arrsync recycles only "
                "what the arr removed (the share may not show the deletion yet)"))
        folder = posixpath.dirname(relative)
        items = [relative]
        if os.path.isfile(current) and not os.path.islink(current):
            items += [posixpath.join(folder, name) for name in sidecars_of(current)
                      if not os.path.lexists(_source_of(mapping, posixpath.join(folder, name)))]
        for item in items:
            here = resolve(mapping.dest, item, own)
            if dry_run:
                moves.append(Move(from_path=here, to_path=recycle_bin.where(here, item)))
                continue
            try:
                moves.append(Move(from_path=here, to_path=recycle_bin.put(here, item)))
            except OSError as exc:
                raise move_failed(here, recycle_bin.where(here, item), exc) from None
        if not dry_run:
            remove_empty_folders(mapping.dest, os.path.dirname(current))
    return moves


def sidecar_renames(old: str, new: str) -> list[tuple[str, str]]:
    """(old sidecar, new sidecar) for the sidecars beside `old` at the destination: the
    part after the media file's name is kept (`.en.srt`, `-poster.jpg`)."""
    old_stem = os.path.splitext(os.path.basename(old))[0]
    new_stem = os.path.splitext(os.path.basename(new))[0]
    old_folder, new_folder = os.path.dirname(old), os.path.dirname(new)
    return [(os.path.join(old_folder, name),
             os.path.join(new_folder, new_stem + name[len(old_stem):]))
            for name in sidecars_of(old)]
