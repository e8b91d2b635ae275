"""The audit's look at the destinations, on real folders: one listing per folder tells
present, missing and different files apart as a stat of each did; a large library keeps
only its counts and the files a person must act on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arrsync.arrs.shapes import LibraryFile
from arrsync.settings import ArrInstance
from arrsync.settings.syncer import Mapping
from syncer.audit import look
from syncer.audit.check import ArrAudit
from syncer.audit.look import FileState, check_each
from syncer.paths.mapping import PathMapper


@pytest.fixture
def mapper(tmp_path: Path) -> PathMapper:
    (tmp_path / "source").mkdir()
    return PathMapper([Mapping(name="Movies", arr_path="/movies",
                               source=str(tmp_path / "source"), dest=str(tmp_path / "dest"))])


def put(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_each_state_as_a_stat_of_each_file_tells_it(tmp_path: Path, mapper: PathMapper) -> None:
    dest = tmp_path / "dest"
    put(dest / "Ran" / "Ran.mkv", 30)
    put(dest / "Heat" / "Heat.mkv", 6)
    put(dest / "Elsewhere" / "real.mkv", 9)
    (dest / "Linked").mkdir()
    (dest / "Linked" / "Linked.mkv").symlink_to(dest / "Elsewhere" / "real.mkv")
    (dest / "Dangling").mkdir()
    (dest / "Dangling" / "Dangling.mkv").symlink_to(dest / "nowhere.mkv")
    (dest / "Folder" / "Folder.mkv").mkdir(parents=True)  # a folder where the file should be
    put(dest / "AFile", 1)  # a file where a folder should be
    files = {
        "/movies/Ran/Ran.mkv": (30, FileState.PRESENT),
        "/movies/Ran/Ran.en.srt": (5, FileState.MISSING),        # the folder has others
        "/movies/Heat/Heat.mkv": (7, FileState.DIFFERENT),
        "/movies/Linked/Linked.mkv": (9, FileState.PRESENT),     # a link counts its target
        "/movies/Dangling/Dangling.mkv": (9, FileState.MISSING),
        "/movies/Gone/Gone.mkv": (1, FileState.MISSING),         # no folder at all
        "/movies/AFile/Inside.mkv": (1, FileState.MISSING),
        "/movies/Unknown/Unknown.mkv": (None, FileState.PRESENT),  # no size: there is enough
        "/archive/Old.mkv": (1, FileState.UNMAPPED),
    }
    put(dest / "Unknown" / "Unknown.mkv", 3)
    found = {check.file.path: check for check in check_each(
        (LibraryFile(path, size, path) for path, (size, _) in files.items()), mapper)}
    assert {path: check.state for path, check in found.items()} == {
        path: state for path, (_, state) in files.items()}
    assert found["/movies/Heat/Heat.mkv"].dest_size == 6
    assert found["/movies/Heat/Heat.mkv"].dest == str(dest / "Heat" / "Heat.mkv")
    checks = list(check_each([LibraryFile("/movies/Folder/Folder.mkv", 5, "F")], mapper))
    assert checks[0].state is FileState.DIFFERENT  # as os.stat saw a folder's size


def test_a_large_library_keeps_counts_and_only_the_files_to_act_on(
    tmp_path: Path, mapper: PathMapper, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(look, "BATCH", 64)  # many batches, folders split across them
    dest = tmp_path / "dest"
    library = []
    for show in range(20):
        for episode in range(60):
            relative = f"Show {show}/Season 1/E{episode:02d}.mkv"
            if (show, episode) != (7, 33):
                put(dest / relative, 2)
            library.append(LibraryFile(f"/movies/{relative}", 2, f"Show {show}"))
    listings: list[str] = []
    real_scandir = os.scandir

    def counted(path: str) -> os._ScandirIterator[str]:
        listings.append(path)
        return real_scandir(path)

    monkeypatch.setattr(look.os, "scandir", counted)
    audit = ArrAudit(ArrInstance(name="Sonarr", app="sonarr", url="http://sonarr:8989"))
    for check in check_each(iter(library), mapper):
        audit.add(check)
    assert (audit.files, audit.count(FileState.PRESENT), audit.count(FileState.MISSING)) == \
        (1200, 1199, 1)
    assert [c.file.path for c in audit.noted] == ["/movies/Show 7/Season 1/E33.mkv"]
    assert audit.mappings == {"Movies"}
    at_dest = [path for path in listings if path.startswith(str(dest))]
    assert len(at_dest) <= 20 * 2  # each folder read once per batch it spans, not per file
