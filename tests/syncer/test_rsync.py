"""rsync itself: hostile names copy literally, nothing is overwritten, progress parses,
and the exit-code table decides every code rsync documents."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.copying.exitcodes import RSYNC_EXIT_CODES, rsync_outcome
from syncer.copying.rsync import (
    PARTIAL_DIR,
    Progress,
    RsyncResult,
    RsyncRun,
    build_command,
    death_signal_prefix,
    parse_progress,
)
from syncer.jobs.outcome import Decision

HOSTILE = [
    "spaces in name.mkv",
    "quote's \"double\".mkv",
    "$(touch PWNED).mkv",
    "`touch PWNED2`.mkv",
    "semi;colon && echo x | cat.mkv",
    "-rf --delete.mkv",
    "--remove-source-files.mkv",
    "new\nline.mkv",
    "Amélie 日本語 😀.mkv",
    "star*?[x].mkv",
    "back\\slash.mkv",
    "tab\there.mkv",
]


def run_once(run: RsyncRun, paths: list[str],
             on_progress: Callable[[Progress], None] = lambda _p: None) -> RsyncResult:
    assert run.begin(paths)
    return run.finish(on_progress)


def copy(source: Path, dest: Path, paths: list[str], *extra: str) -> int:
    command = build_command("rsync", str(source), str(dest), dry_run=False, extra_args=extra)
    return run_once(RsyncRun(command), paths).exit_code


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_copy_literally_and_run_nothing(tmp_path: Path, name: str) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    (source / "-dir $(x)").mkdir(parents=True)
    dest.mkdir()
    (source / "-dir $(x)" / name).write_bytes(b"media " + name.encode())
    assert copy(source, dest, [f"-dir $(x)/{name}"]) == 0
    assert (dest / "-dir $(x)" / name).read_bytes() == b"media " + name.encode()
    assert sorted(p.name for p in (dest / "-dir $(x)").iterdir()) == [name]
    for witness in (tmp_path, Path.cwd()):
        assert not (witness / "PWNED").exists() and not (witness / "PWNED2").exists()
    assert (source / "-dir $(x)" / name).exists()  # --remove-source-files was not obeyed


def test_existing_destination_files_are_never_overwritten(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    (source / "Film").mkdir(parents=True)
    (dest / "Film").mkdir(parents=True)
    (source / "Film" / "film.mkv").write_bytes(b"new version")
    (dest / "Film" / "film.mkv").write_bytes(b"old")
    assert copy(source, dest, ["Film/film.mkv"]) == 0
    assert (dest / "Film" / "film.mkv").read_bytes() == b"old"


def test_folders_copy_recursively_with_parents(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    (source / "Show" / "Season 1").mkdir(parents=True)
    dest.mkdir()
    for n in range(3):
        (source / "Show" / "Season 1" / f"e{n}.mkv").write_bytes(bytes([n]) * 100)
    assert copy(source, dest, ["Show"]) == 0
    assert sorted(p.name for p in (dest / "Show" / "Season 1").iterdir()) == \
        ["e0.mkv", "e1.mkv", "e2.mkv"]


def test_dry_run_writes_nothing_and_reports_names(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    (source / "Film").mkdir(parents=True)
    dest.mkdir()
    (source / "Film" / "film.mkv").write_bytes(b"x")
    command = build_command("rsync", str(source), str(dest), dry_run=True, extra_args=[])
    result = run_once(RsyncRun(command), ["Film/film.mkv"])
    assert result.exit_code == 0
    assert "Film/film.mkv" in result.transferred
    assert list(dest.iterdir()) == []


def test_progress_lines_parse() -> None:
    assert parse_progress("     10846208  21%   10.01MB/s    0:00:03  ") == Progress(
        bytes=10846208, percent=21, bytes_per_s=int(10.01 * 1024**2), eta_s=3)
    assert parse_progress("  1000 100%  500.00kB/s    1:02:03 (xfr#1, to-chk=0/2)") == \
        Progress(1000, 100, 512000, 3723)
    assert parse_progress("Film/film.mkv") is None


def test_slow_copy_reports_progress_and_resumes_after_stop(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    source.mkdir()
    dest.mkdir()
    (source / "big.mkv").write_bytes(bytes(range(256)) * 40_000)  # 10 MB
    command = build_command("rsync", str(source), str(dest), dry_run=False,
                            extra_args=["--bwlimit=2m"])
    run = RsyncRun(command)
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if progress.bytes > 1_000_000:
            run.stop()

    assert run_once(run, ["big.mkv"], on_progress).exit_code == 20
    assert seen and seen[-1].bytes_per_s > 0
    assert not (dest / "big.mkv").exists()  # never visible under its final name while partial
    partial = dest / PARTIAL_DIR / "big.mkv"
    assert partial.stat().st_size > 0
    resumed = subprocess.run(
        [*build_command("rsync", str(source), str(dest), dry_run=False, extra_args=["--stats"])],
        input=b"big.mkv\0", capture_output=True, check=True)
    matched = int(next(line for line in resumed.stdout.decode().splitlines()
                       if line.startswith("Matched data")).split()[2].replace(",", ""))
    assert matched > 0  # the partial file was reused, not copied again from zero
    assert (dest / "big.mkv").read_bytes() == (source / "big.mkv").read_bytes()


# `man rsync`, EXIT VALUES: every non-zero code it documents.
DOCUMENTED = (1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 30, 35)


@pytest.mark.parametrize("code", DOCUMENTED)
def test_every_documented_exit_code_has_its_own_row_and_sentence(code: int) -> None:
    assert code in RSYNC_EXIT_CODES, f"exit code {code} falls through to 'unknown'"
    reason = rsync_outcome(code).reason
    assert "unknown exit code" not in reason
    others = [rsync_outcome(c).reason for c in DOCUMENTED if c != code]
    assert reason not in others  # a sentence about this code, not a shared one


@pytest.mark.parametrize(
    ("code", "decision"),
    [(1, Decision.GIVE_UP), (4, Decision.GIVE_UP), (11, Decision.RETRY), (12, Decision.RETRY),
     (23, Decision.RETRY), (24, Decision.RETRY), (30, Decision.RETRY), (99, Decision.GIVE_UP),
     (-9, Decision.RETRY)],
)
def test_exit_codes_decide_retry_or_give_up(code: int, decision: Decision) -> None:
    assert rsync_outcome(code).decision is decision


def test_real_rsync_usage_error_is_code_1_and_gives_up(tmp_path: Path) -> None:
    command = build_command("rsync", str(tmp_path), str(tmp_path), dry_run=False,
                            extra_args=["--no-such-option"])
    code = run_once(RsyncRun(command), []).exit_code
    assert code == 1
    assert rsync_outcome(code).decision is Decision.GIVE_UP


def test_without_setpriv_rsync_still_runs_and_the_log_says_why_it_is_slower(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None
                        if name == "setpriv" else real_which(name, *args, **kwargs))
    death_signal_prefix.cache_clear()
    try:
        assert death_signal_prefix() == ()
        assert "setpriv from util-linux" in caplog.text
        source, dest = tmp_path / "src", tmp_path / "dst"
        source.mkdir()
        dest.mkdir()
        (source / "film.mkv").write_bytes(b"still copied")
        assert copy(source, dest, ["film.mkv"]) == 0
        assert (dest / "film.mkv").read_bytes() == b"still copied"
    finally:
        monkeypatch.undo()
        death_signal_prefix.cache_clear()
    assert death_signal_prefix()[:3] == (real_which("setpriv"), "--pdeathsig", "TERM")


def test_a_missing_rsync_is_reported_as_such(tmp_path: Path) -> None:
    command = build_command(str(tmp_path / "no-rsync"), str(tmp_path), str(tmp_path),
                            dry_run=False, extra_args=[])
    with pytest.raises(FileNotFoundError):
        run_once(RsyncRun(command), ["x"])


def test_a_list_longer_than_a_pipe_holds_is_given_whole(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dst"
    folder = source / ("A folder with a long name " * 3).strip()
    folder.mkdir(parents=True)
    dest.mkdir()
    names = [f"{folder.name}/{'an episode with a long file name ' * 2}{n:04d}.mkv"
             for n in range(1500)]
    for name in names:
        (source / name).write_bytes(name.encode())
    assert sum(len(n) + 1 for n in names) > 128 * 1024  # twice a pipe's buffer
    assert copy(source, dest, names) == 0
    assert all((dest / name).read_bytes() == name.encode() for name in names)
