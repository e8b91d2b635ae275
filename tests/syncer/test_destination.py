"""Moves at the destination: never over a file, finished after a crash, safe without hard
links; the recycle bin's names."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.jobs.outcome import AttemptFailed
from syncer.mirror.destination import move, remove_empty_folders, resolve
from syncer.mirror.recycle_bin import RecycleBin


def test_a_move_never_replaces_a_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    with pytest.raises(FileExistsError):
        move(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "a").read_bytes() == b"a" and (tmp_path / "b").read_bytes() == b"b"


def test_a_move_half_done_by_a_crash_is_finished(tmp_path: Path) -> None:
    (tmp_path / "old").write_bytes(b"film")
    os.link(tmp_path / "old", tmp_path / "new")  # the crash came between link and unlink
    move(str(tmp_path / "old"), str(tmp_path / "new"))
    assert not (tmp_path / "old").exists()
    assert (tmp_path / "new").read_bytes() == b"film" and (tmp_path / "new").stat().st_nlink == 1


def test_without_hard_links_a_move_renames_after_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a").write_bytes(b"a")
    inode = (tmp_path / "a").stat().st_ino
    move(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "b").stat().st_ino == inode and not (tmp_path / "a").exists()
    (tmp_path / "c").write_bytes(b"c")
    with pytest.raises(FileExistsError):
        move(str(tmp_path / "c"), str(tmp_path / "b"))
    bin_ = RecycleBin(str(tmp_path), ".bin")
    (tmp_path / "staged").write_bytes(b"new")
    slot = bin_.swap_in(str(tmp_path / "staged"), str(tmp_path / "b"), "b")
    assert (Path(slot).read_bytes(), (tmp_path / "b").read_bytes()) == (b"a", b"new")


def test_paths_are_resolved_inside_the_root_at_the_moment_of_use(tmp_path: Path) -> None:
    root, outside = tmp_path / "dest", tmp_path / "outside"
    (root / "Film").mkdir(parents=True)
    outside.mkdir()
    assert resolve(str(root), "Film/film.mkv", (".bin",)) == str(root / "Film" / "film.mkv")
    (root / "Link").symlink_to(outside)
    for relative, reason in [("Link/film.mkv", "outside"), ("", "root"),
                             (".bin/2026-01-01/x.mkv", "own"), (".bin", "own")]:
        with pytest.raises(AttemptFailed, match=reason):
            resolve(str(root), relative, (".bin",))


def test_empty_folders_are_removed_up_to_the_root_only(tmp_path: Path) -> None:
    (tmp_path / "dest" / "Show" / "Season 1").mkdir(parents=True)
    (tmp_path / "dest" / "Show" / "poster.jpg").write_bytes(b"p")
    remove_empty_folders(str(tmp_path / "dest"), str(tmp_path / "dest" / "Show" / "Season 1"))
    assert sorted(p.name for p in (tmp_path / "dest" / "Show").iterdir()) == ["poster.jpg"]
    (tmp_path / "dest" / "Show" / "poster.jpg").unlink()
    remove_empty_folders(str(tmp_path / "dest"), str(tmp_path / "dest" / "Show"))
    assert (tmp_path / "dest").is_dir() and not (tmp_path / "dest" / "Show").exists()


def test_the_bin_keeps_a_second_file_of_the_same_name_beside_the_first(tmp_path: Path) -> None:
    bin_ = RecycleBin(str(tmp_path), ".bin", clock=lambda: 1_800_000_000.0)
    slots = []
    for content in (b"first", b"second"):
        (tmp_path / "Film").mkdir(exist_ok=True)
        (tmp_path / "Film" / "film.mkv").write_bytes(content)
        slots.append(bin_.put(str(tmp_path / "Film" / "film.mkv"), "Film/film.mkv"))
    day = slots[0].split("/.bin/")[1].split("/")[0]
    assert [Path(s).relative_to(tmp_path / ".bin" / day).as_posix() for s in slots] == [
        "Film/film.mkv", "Film/film (2).mkv"]
    assert [Path(s).read_bytes() for s in slots] == [b"first", b"second"]


def test_across_file_systems_a_move_copies_into_place_then_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Like a union file system (mergerfs) that answers EXDEV between two folders."""
    real_rename, real_link = os.rename, os.link

    def same_folder_only(real: Callable[..., None]) -> Callable[..., None]:
        def call(source: str, target: str, **kwargs: object) -> None:
            if os.path.dirname(os.fspath(source)) != os.path.dirname(os.fspath(target)):
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real(source, target, **kwargs)
        return call

    monkeypatch.setattr(os, "rename", same_folder_only(real_rename))
    monkeypatch.setattr(os, "link", same_folder_only(real_link))
    (tmp_path / "Film").mkdir()
    (tmp_path / "Film" / "film.mkv").write_bytes(b"old")
    (tmp_path / "Show" / "Season 1").mkdir(parents=True)
    (tmp_path / "Show" / "Season 1" / "e1.mkv").write_bytes(b"e1")
    bin_ = RecycleBin(str(tmp_path), ".bin")
    (tmp_path / ".staged").mkdir()
    (tmp_path / ".staged" / "film.mkv").write_bytes(b"new")
    slot = bin_.swap_in(str(tmp_path / ".staged" / "film.mkv"),
                        str(tmp_path / "Film" / "film.mkv"), "Film/film.mkv")
    assert (tmp_path / "Film" / "film.mkv").read_bytes() == b"new"
    assert Path(slot).read_bytes() == b"old"
    assert not (tmp_path / ".staged" / "film.mkv").exists()
    folder = bin_.put(str(tmp_path / "Show"), "Show")
    assert (Path(folder) / "Season 1" / "e1.mkv").read_bytes() == b"e1"
    assert not (tmp_path / "Show").exists()
    assert not list(tmp_path.rglob("*.arrsync-tmp"))
