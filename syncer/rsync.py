"""Run rsync for one job: an argument list, never a shell; file names travel on stdin.

The paths to copy are relative to the mapping's source root and are given NUL-separated
on stdin (`--files-from=- --from0`), so no file name is ever parsed as an option or by a
shell, whatever it contains. `--files-from` implies `--relative`: parent folders appear
at the destination. `--partial-dir` keeps an interrupted file out of sight and lets the
next run resume it; `--no-whole-file` makes local copies use what is already there.
After `--archive`, `--safe-links` skips links that point out of the tree and
`--no-devices --no-specials` keep FIFOs and device nodes from being recreated (see
`pathsafety`, which lists the same files).
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

log = logging.getLogger(__name__)

PARTIAL_DIR = ".arrsync-partial"
_PROGRESS = re.compile(
    r"^\s*(?P<bytes>\d+)\s+(?P<percent>\d+)%\s+(?P<rate>[\d.]+)(?P<unit>[kMGT]?B)/s\s+"
    r"(?P<eta>\d+:\d{2}:\d{2})"
)
_ESCAPED = re.compile(rb"\\#([0-7]{3})")
_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Progress:
    bytes: int
    percent: int
    bytes_per_s: int
    eta_s: int


@dataclass(frozen=True)
class RsyncResult:
    exit_code: int
    stderr: str
    transferred: list[str]  # relative names rsync reported (itemized), for dry runs too


def parse_progress(line: str) -> Progress | None:
    match = _PROGRESS.match(line)
    if not match:
        return None
    hours, minutes, seconds = (int(p) for p in match["eta"].split(":"))
    return Progress(
        bytes=int(match["bytes"]),
        percent=int(match["percent"]),
        bytes_per_s=int(float(match["rate"]) * _UNITS[match["unit"]]),
        eta_s=hours * 3600 + minutes * 60 + seconds,
    )


def unescape_name(raw: bytes) -> str:
    """A name as rsync prints it (bytes it deems unprintable, and `\\#` itself, written as
    `\\#ooo` in octal) back to the file's real name."""
    return _ESCAPED.sub(lambda m: bytes([int(m[1], 8)]), raw).decode(errors="surrogateescape")


def build_command(rsync: str, source_root: str, dest_root: str, *, dry_run: bool,
                  extra_args: Sequence[str]) -> list[str]:
    command = [
        rsync, "--archive", "--recursive", "--files-from=-", "--from0",
        "--safe-links", "--no-devices", "--no-specials",  # after --archive: they undo part of it
        "--ignore-existing",                 # never overwrite what the destination has
        f"--partial-dir={PARTIAL_DIR}",      # half-written files stay hidden and resume
        "--no-whole-file",
        "--info=progress2,name1", "--no-human-readable", "--out-format=%n",
    ]
    if dry_run:
        command.append("--dry-run")
    command.extend(extra_args)
    command += ["--", source_root.rstrip("/") + "/", dest_root.rstrip("/") + "/"]
    return command


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the syncer dies, so rsync saves its partial file."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RsyncRun:
    """One rsync process; `stop()` asks it to end (it keeps the partial file)."""

    def __init__(self, command: list[str], relative_paths: Sequence[str]) -> None:
        self.command = command
        self._paths = relative_paths
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def run(self, on_progress: Callable[[Progress], None]) -> RsyncResult:
        log.debug("running %s with %d path(s)", self.command, len(self._paths))
        env = {**os.environ, "LC_ALL": "C"}
        with self._lock:
            if self._stopped:
                return RsyncResult(20, "stopped before it started", [])
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, preexec_fn=_die_with_parent,
            )
        with self._process as process:
            assert process.stdin and process.stdout and process.stderr  # all three are pipes
            errors, stdin, stdout = process.stderr, process.stdin, process.stdout
            stderr_chunks: list[bytes] = []
            reader = threading.Thread(target=lambda: stderr_chunks.append(errors.read()),
                                      daemon=True)
            reader.start()
            try:
                stdin.write(b"".join(os.fsencode(p) + b"\0" for p in self._paths))
                stdin.close()
            except BrokenPipeError:
                pass
            transferred = self._read_output(stdout, on_progress)
            exit_code = process.wait()
            reader.join()
        stderr = b"".join(stderr_chunks).decode(errors="replace").strip()
        return RsyncResult(exit_code, stderr, transferred)

    @staticmethod
    def _read_output(stdout: IO[bytes], on_progress: Callable[[Progress], None]) -> list[str]:
        transferred: list[str] = []
        buffer = b""
        while chunk := stdout.read1(65536):  # type: ignore[attr-defined]
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                line = raw.decode(errors="replace")
                progress = parse_progress(line)
                if progress:
                    on_progress(progress)
                elif line.strip() and not line.startswith(" "):
                    transferred.append(unescape_name(raw))
        return transferred

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process and self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
