"""Run rsync: an argument list, never a shell; file names travel on stdin.

The paths to copy are relative to the mapping's source root and are given NUL-separated
on stdin (`--files-from=- --from0`), so no file name is ever parsed as an option or by a
shell, whatever it contains. `--files-from` implies `--relative`: parent folders appear
at the destination. `--partial-dir` keeps an interrupted file out of sight and lets the
next run resume it; `--no-whole-file` makes local copies use what is already there.
After `--archive`, `--safe-links` skips links that point out of the tree and
`--no-devices --no-specials` keep FIFOs and device nodes from being recreated (see
`syncer.paths.safety`, which lists the same files).

rsync is spawned without `preexec_fn`, which would force a fork of the whole threaded
syncer (about 10 ms a spawn, against 1 ms): `setpriv --pdeathsig TERM` (util-linux) asks
the kernel to send rsync SIGTERM if the syncer dies, so rsync still keeps its partial file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncer.copying.watchdog import Watchdog, abandon

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
    stalled_s: float = 0      # the watchdog ended it after this long without progress
    abandoned: bool = False   # ...and it would not end: left behind (`watchdog.abandon`)


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
                  extra_args: Sequence[str], io_timeout: float = 0) -> list[str]:
    """The one rsync command line; `io_timeout`: rsync's own --timeout (0: none)."""
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
    if io_timeout:
        command.append(f"--timeout={max(1, round(io_timeout))}")
    command.extend(extra_args)
    command += ["--", source_root.rstrip("/") + "/", dest_root.rstrip("/") + "/"]
    return command


def resolve(program: str) -> str:
    """The absolute path of `program` (looked up once, not at every spawn), or it unchanged."""
    return shutil.which(program) or program


@functools.cache
def death_signal_prefix() -> tuple[str, ...]:
    """`setpriv --pdeathsig TERM --`, checked once; () if util-linux's setpriv cannot do it."""
    setpriv, true = shutil.which("setpriv"), shutil.which("true")
    if setpriv and true:
        prefix = (setpriv, "--pdeathsig", "TERM", "--")
        if subprocess.run([*prefix, true], capture_output=True, check=False).returncode == 0:
            return prefix
    log.warning("setpriv from util-linux (2.33 or later) is not available: rsync is started "
                "through a slower fork so that it still stops if the syncer dies; install "
                "util-linux for faster copies")
    return ()


def _die_with_parent() -> None:
    """In the child (only without setpriv): get SIGTERM if the syncer dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RsyncRun:
    """One rsync process; `stop()` asks it to end (it keeps the partial file).

    `begin(paths)` spawns it (unless it was spawned ahead, see `syncer.copying.standby`) and
    hands it the list; `finish()` reads its output until it exits. One thread
    does it all: stdin, stdout and stderr go through one selector, so no pipe can fill up
    while another one waits."""

    def __init__(self, command: list[str], stall_s: float = 0) -> None:
        self.command = command
        self.stall_s = stall_s  # the watchdog's limit (`syncer.copying.watchdog`); 0: none
        self._paths: Sequence[str] = ()  # its list, once given: a standby has none yet
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # guards _process and _stopped
        self._stopped = False
        self._unsent = memoryview(b"")  # the part of the list rsync has not taken yet

    def spawn(self) -> bool:
        """Start rsync; it waits for its list. False if stopped before; FileNotFoundError
        if there is no rsync."""
        executable = resolve(self.command[0])
        if not os.path.isabs(executable) or not os.access(executable, os.X_OK):
            raise FileNotFoundError(executable)
        prefix = death_signal_prefix()
        env = {**os.environ, "LC_ALL": "C"}
        with self._lock:
            if self._stopped:
                return False
            self._process = subprocess.Popen(
                [*prefix, executable, *self.command[1:]], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                preexec_fn=None if prefix else _die_with_parent,
                start_new_session=True,  # its own process group: the watchdog ends it whole
            )
        assert self._process.stdin  # a pipe
        os.set_blocking(self._process.stdin.fileno(), False)
        return True

    def waiting(self) -> bool:
        """Spawned, given no list yet, and still there."""
        return bool(self._process and not self._paths and self._process.poll() is None)

    def begin(self, relative_paths: Sequence[str]) -> bool:
        """Give rsync its list (what the pipe takes now, the rest in `finish`), spawning it
        first unless it waits already; one spawned ahead that has ended meanwhile is
        replaced. False if stopped."""
        if self._process is not None and self._process.poll() is not None:
            self.close()  # spawned ahead, and gone since (a --timeout, a kill)
        if self._process is None and not self.spawn():
            return False
        assert self._process and self._process.stdin
        log.debug("running %s with %d path(s)", self.command, len(relative_paths))
        with self._lock:
            if self._stopped:
                return False
            self._paths = relative_paths
        self._unsent = memoryview(b"".join(os.fsencode(p) + b"\0" for p in relative_paths))
        if self._feed():
            self._process.stdin.close()
        return True

    def close(self) -> None:
        """End an rsync that got no list: given an empty one, it exits having done nothing."""
        self.release()
        self.reap()

    def release(self) -> None:
        """Close rsync's pipes: one waiting for its list reads an empty one and exits."""
        if self._process:
            for pipe in (self._process.stdin, self._process.stdout, self._process.stderr):
                with contextlib.suppress(OSError):
                    if pipe:
                        pipe.close()

    def reap(self) -> None:
        """Wait for a released rsync to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _feed(self) -> bool:
        """Write what the pipe takes without waiting; True once the whole list is written
        (or rsync stopped reading it)."""
        assert self._process and self._process.stdin
        try:
            while self._unsent:
                written = os.write(self._process.stdin.fileno(), self._unsent[:65536])
                self._unsent = self._unsent[written:]
        except BlockingIOError:
            return False
        except BrokenPipeError:
            self._unsent = memoryview(b"")
        return True

    def finish(self, on_progress: Callable[[Progress], None],
               on_name: Callable[[str], None] | None = None) -> RsyncResult:
        """Read progress and names until rsync exits; its result."""
        assert self._process
        process, watchdog = self._process, Watchdog(self.stall_s)
        transferred, errors = self._exchange(process, on_progress, on_name, watchdog)
        text = errors.decode(errors="replace").strip()
        stalled = self.stall_s if watchdog.killed_at is not None else 0
        if watchdog.give_up():
            abandon(process)
            return RsyncResult(-9, text, transferred, stalled, abandoned=True)
        with process:
            exit_code = process.wait()
        return RsyncResult(exit_code, text, transferred, stalled)

    def _exchange(self, process: subprocess.Popen[bytes], on_progress: Callable[[Progress],
                  None], on_name: Callable[[str], None] | None,
                  watchdog: Watchdog) -> tuple[list[str], bytes]:
        assert process.stdin and process.stdout and process.stderr  # all three are pipes
        transferred: list[str] = []
        errors, buffer = bytearray(), b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            selector.register(process.stderr, selectors.EVENT_READ)
            if not process.stdin.closed:
                selector.register(process.stdin, selectors.EVENT_WRITE)
            while selector.get_map():
                ready = selector.select(watchdog.wait_s())
                if not ready and watchdog.killed_at is None and watchdog.stalled():
                    watchdog.kill(process)
                elif not ready and watchdog.give_up():
                    break
                for key, _events in ready:
                    if key.fileobj is process.stdin:
                        if self._feed():
                            selector.unregister(process.stdin)
                            process.stdin.close()
                        continue
                    chunk = os.read(key.fd, 65536)
                    watchdog.heard()
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is process.stderr:
                        errors += chunk
                    else:
                        buffer += chunk
                        *lines, buffer = re.split(rb"[\r\n]", buffer)
                        _take_lines(lines, transferred, on_progress, on_name)
        return transferred, bytes(errors)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process and self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)


def _take_lines(lines: list[bytes], transferred: list[str],
                on_progress: Callable[[Progress], None],
                on_name: Callable[[str], None] | None) -> None:
    """rsync's output lines: progress, or a name it is about to send (or a folder)."""
    for raw in lines:
        line = raw.decode(errors="replace")
        progress = parse_progress(line)
        if progress:
            on_progress(progress)
        elif line.strip() and not line.startswith(" "):
            name = unescape_name(raw)
            transferred.append(name)
            if on_name:
                on_name(name)
