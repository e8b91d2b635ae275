"""Looking at the destinations for the audit: each folder is read once, a few at a time.

An arr's files come in as its answer is read (never the whole library in memory); they are
taken in batches, each file routed through the mappings (folder by folder: `routes.py`),
and the files of one destination folder are looked up in one `os.scandir` of that folder,
folders in parallel on a small pool (over NFS a listing is one round trip where a stat per
file is one each). Only the files found in a listing are stat'ed, for their size; a folder
that is not there makes all its files missing at once.
"""

from __future__ import annotations

import os
import posixpath
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from arrsync.arrs.client import LibraryFile
from syncer.audit.routes import Routes
from syncer.paths.mapping import PathMapper, PathRefused

THREADS = 8  # folders read at once
BATCH = 500  # files routed together, then looked up folder by folder
AHEAD = 2  # batches looked up while the next is read


class FileState(StrEnum):
    PRESENT = "present"        # at its destination with the arr's size
    MISSING = "missing"        # not at its destination: --fix copies it
    DIFFERENT = "different"    # at its destination with another size: --fix may replace it
    UNMAPPED = "unmapped"      # under no mapping: not mirrored, not counted as missing


@dataclass(frozen=True)
class FileCheck:
    file: LibraryFile
    state: FileState
    mapping: str | None = None
    dest: str | None = None
    dest_size: int | None = None


@dataclass(frozen=True)
class Wanted:
    """A file of the arr's library and where its mapping puts it."""

    file: LibraryFile
    mapping: str
    dest: str


def verdict(wanted: Wanted, size: int | None) -> FileCheck:
    """What the destination's size (None: no such file) says about the arr's file."""
    file = wanted.file
    if size is None:
        return FileCheck(file, FileState.MISSING, wanted.mapping, wanted.dest)
    same = file.size is None or size == file.size
    return FileCheck(file, FileState.PRESENT if same else FileState.DIFFERENT, wanted.mapping,
                     wanted.dest, size)


def look_in_folder(folder: str, wanted: list[Wanted]) -> list[FileCheck]:
    """The files of one destination folder, from one listing of it."""
    try:
        with os.scandir(folder) as listing:
            entries = {entry.name: entry for entry in listing}
    except (FileNotFoundError, NotADirectoryError):
        entries = {}
    checks = []
    for one in wanted:
        entry = entries.get(posixpath.basename(one.dest))
        size = None
        if entry is not None:
            try:
                size = entry.stat().st_size  # follows a link, as a copy would
            except FileNotFoundError:  # a dangling link, or removed since the listing
                size = None
        checks.append(verdict(one, size))
    return checks


Share = list[tuple[int, str, list[Wanted]]]  # (place in the batch, folder, its files)


def look_in_folders(share: Share) -> list[tuple[int, list[FileCheck]]]:
    """One thread's share of a batch's folders (a task per folder costs more than it reads)."""
    return [(place, look_in_folder(folder, wanted)) for place, folder, wanted in share]


def _batches(files: Iterable[LibraryFile]) -> Iterator[list[LibraryFile]]:
    batch: list[LibraryFile] = []
    for file in files:
        batch.append(file)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def check_each(files: Iterable[LibraryFile], mapper: PathMapper) -> Iterator[FileCheck]:
    """Each file's check, batch by batch as `files` arrives: a batch's folders are read on
    the pool while the next batch is read from the arr (at most `AHEAD` batches wait)."""
    routes = Routes(mapper)
    waiting: deque[list[Future[list[tuple[int, list[FileCheck]]]]]] = deque()
    with ThreadPoolExecutor(THREADS, thread_name_prefix="audit-look") as pool:
        for batch in _batches(files):
            folders: dict[str, list[Wanted]] = {}
            for file in batch:
                try:
                    route = routes.route(file.path)
                except PathRefused:
                    yield FileCheck(file, FileState.UNMAPPED)
                    continue
                dest = route.dest
                folders.setdefault(posixpath.dirname(dest), []).append(
                    Wanted(file, route.mapping.name, dest))
            places = [(n, folder, wanted) for n, (folder, wanted) in enumerate(folders.items())]
            waiting.append([pool.submit(look_in_folders, places[n::THREADS])
                            for n in range(min(THREADS, len(places)))])
            while len(waiting) > AHEAD:
                yield from _in_order(waiting.popleft())
        while waiting:
            yield from _in_order(waiting.popleft())


def _in_order(shares: list[Future[list[tuple[int, list[FileCheck]]]]]) -> Iterator[FileCheck]:
    """A batch's checks in the order its folders came."""
    found = sorted((pair for share in shares for pair in share.result()), key=lambda p: p[0])
    for _place, checks in found:
        yield from checks
