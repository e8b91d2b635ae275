"""From a job to the files one attempt copies, and the check that they arrived whole."""

from __future__ import annotations

import dataclasses
import logging
import os
import posixpath
from dataclasses import dataclass

from arrsync.limits import quote
from arrsync.settings import Mapping
from arrsync.units import join_below
from syncer.jobs.job import Job
from syncer.jobs.outcome import AttemptFailed, Decision, Done
from syncer.paths.safety import SourceMissing, SourceRefused, check_inside, files_below, locate
from syncer.paths.sidecars import sidecars_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileCopy:
    """One file of an attempt: where it is copied from and to, and its size."""

    source: str
    dest: str
    size: int
    existed: bool  # the destination had this file before the attempt: never touched


@dataclass(frozen=True)
class FileSet:
    """What one attempt copies: rsync's relative entries and every file for verification."""

    entries: list[str]
    copies: list[FileCopy]  # each file: where from, where to, its size

    @property
    def bytes(self) -> int:
        return sum(copy.size for copy in self.copies)


def _copy_of(source: str, dest: str) -> FileCopy:
    return FileCopy(source, dest, os.lstat(source).st_size, os.path.lexists(dest))


def collect(job: Job, mapping: Mapping, *, sidecars: bool) -> FileSet:
    """Expand the job's paths to the files one attempt copies: SourceMissing if one is not
    (yet) there, SourceRefused if it never can be (see `syncer.paths.safety`)."""
    entries: list[str] = []
    copies: list[FileCopy] = []
    skipped: list[str] = []

    def add(relative: str) -> None:
        check_inside(mapping.source, relative)
        listing = files_below(mapping.source, relative)
        if not listing.files and listing.skipped == [relative]:
            raise SourceRefused(f"{quote(join_below(mapping.source, relative))} is not a file or a "
                                "folder (a FIFO, socket or device); arrsync does not copy those")
        entries.append(relative or ".")
        skipped.extend(listing.skipped)
        copies.extend(_copy_of(path, join_below(mapping.dest, inner))
                      for path, inner in listing.files)

    for wanted in job.paths:
        relative = locate(mapping.source, wanted)
        if relative != wanted:
            log.info("job %s: the share spells %s in another Unicode form than the arr; "
                     "copying it as the share spells it", job.id, quote(wanted))
        add(relative)
        source = join_below(mapping.source, relative)
        if sidecars and os.path.isfile(source) and not os.path.islink(source):
            folder = posixpath.dirname(relative)
            for sidecar in sidecars_of(source):
                add(posixpath.join(folder, sidecar) if folder else sidecar)
    if skipped:
        log.warning("job %s: not copying %d link(s) out of the tree or special file(s): %s",
                    job.id, len(skipped), ", ".join(quote(s, 80) for s in skipped[:5]))
    return FileSet(list(dict.fromkeys(entries)), copies)


def collect_for_attempt(job: Job, mapping: Mapping, *, sidecars: bool,
                        paths: list[str] | None = None) -> FileSet:
    """`collect` (of `paths` only, if given) for an attempt about to begin: a missing source
    fails the attempt and retries (it may never come), a refused one gives up
    (AttemptFailed); either way the attempt counts."""
    try:
        return collect(job if paths is None else dataclasses.replace(job, paths=paths),
                       mapping, sidecars=sidecars)
    except (SourceMissing, SourceRefused) as exc:
        decision = Decision.RETRY if isinstance(exc, SourceMissing) else Decision.GIVE_UP
        raise AttemptFailed(decision, str(exc)) from None


def verify_sizes(files: FileSet) -> None:
    """Compare sizes after the copy. A bad copy of ours is removed and retried (the source
    may have grown while it was copied); a file that was there before is never touched."""
    for copy in files.copies:
        try:
            size = os.lstat(copy.dest).st_size
        except FileNotFoundError:
            raise AttemptFailed(Decision.RETRY, f"{copy.dest} is missing after the copy") from None
        if size == copy.size:
            continue
        if copy.existed:
            raise AttemptFailed(Decision.GIVE_UP, (
                f"{copy.dest} already existed with {size} bytes but the source has "
                f"{copy.size}; arrsync never overwrites a file (only an upgrade event replaces "
                "one, with on_upgrade: recycle): remove it to copy again"))
        os.unlink(copy.dest)
        raise AttemptFailed(Decision.RETRY, (
            f"{copy.dest} had {size} bytes after the copy but the source has {copy.size}; "
            "the source may still be growing"))


def problem_with(files: FileSet) -> AttemptFailed | None:
    """What `verify_sizes` finds wrong with the files at the destination, if anything."""
    try:
        verify_sizes(files)
    except AttemptFailed as exc:
        return exc
    except OSError as exc:  # e.g. a file where one of its folders should be
        return AttemptFailed(Decision.RETRY, f"could not check the copy: {exc}")
    return None


def copied(files: FileSet, source_root: str, transferred: list[str]) -> list[FileCopy]:
    """The copies rsync reported as transferred (names relative to the source root)."""
    names = set(transferred)
    return [copy for copy in files.copies
            if os.path.relpath(copy.source, source_root) in names]


def already_there(files: FileSet) -> bool:
    """Every file of the attempt is at the destination with the source's size: rsync, which
    never overwrites, would copy nothing, so it need not start (a repeated request)."""
    try:
        return bool(files.copies) and all(
            copy.existed and os.lstat(copy.dest).st_size == copy.size for copy in files.copies)
    except OSError:
        return False


def nothing_copied(files: FileSet) -> str:
    return (f"the destination already has "
            f"{'this file' if len(files.copies) == 1 else 'these files'} (same size); "
            "nothing was copied")


def copy_done(files: FileSet, source_root: str, transferred: list[str], *,
              dry_run: bool) -> Done:
    """Succeeded when something was copied (its bytes); skipped when the destination had it
    all."""
    done = copied(files, source_root, transferred)
    fields: dict[str, object] = {"dry_run": True, "would_copy": transferred} if dry_run else {}
    skipped = None if done or not files.copies else nothing_copied(files)
    return Done(skipped=skipped, bytes=sum(copy.size for copy in done), fields=fields)
