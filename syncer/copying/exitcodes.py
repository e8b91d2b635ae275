"""What rsync's exit code means: `RSYNC_EXIT_CODES` is the one table from rsync's exit
values (`man rsync`, EXIT VALUES) to a decision and a sentence a person understands."""

from __future__ import annotations

from dataclasses import dataclass

from syncer.jobs.outcome import Decision


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reason: str


def _retry(reason: str) -> Outcome:
    return Outcome(Decision.RETRY, reason)


def _give_up(reason: str) -> Outcome:
    return Outcome(Decision.GIVE_UP, reason)


RSYNC_EXIT_CODES: dict[int, Outcome] = {
    1: _give_up("rsync rejected its arguments (syntax or usage error); check rsync_extra_args"),
    2: _give_up("rsync versions are incompatible (protocol incompatibility)"),
    3: _retry("rsync could not open the source or destination folder (a share may be offline)"),
    4: _give_up("rsync does not support a requested option; check rsync_extra_args"),
    5: _retry("rsync could not start its client-server protocol"),
    6: _retry("the rsync daemon could not write its log file"),
    10: _retry("network or socket error while copying"),
    11: _retry("file I/O error while copying (disk full, or a share went away)"),
    12: _retry("the rsync data stream broke (a share or connection dropped)"),
    13: _give_up("rsync could not write its diagnostics"),
    14: _retry("rsync's inter-process communication failed"),
    19: _retry("rsync was interrupted (SIGUSR1)"),
    20: _retry("rsync was interrupted (a stop signal); the copy resumes on the next attempt"),
    21: _retry("rsync lost one of its own processes (waitpid error)"),
    22: _retry("rsync ran out of memory"),
    23: _retry("some files could not be copied (permissions, or a file changed while copying)"),
    24: _retry("source files vanished while copying (the arr may still be moving them)"),
    25: _give_up("rsync hit its --max-delete limit"),
    30: _retry("rsync timed out sending or receiving data"),
    35: _retry("rsync timed out waiting for the daemon"),
}


def rsync_error_line(stderr: str) -> str:
    """The line that says what went wrong: rsync's first own error ("rsync: [receiver]
    mkstemp … failed: Read-only file system (30)"), not its closing summary ("rsync error:
    some files/attrs were not transferred (see previous errors)"), cut to a readable size."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines
              if not (line.startswith(("rsync error:", "rsync warning:")) and "(code " in line)]
    chosen = errors[0] if errors else (lines[-1] if lines else "")
    more = len(errors) - 1
    detail = chosen if len(chosen) <= 300 else chosen[:299] + "…"
    return f"{detail} (and {more} more error line(s))" if more > 0 else detail


def rsync_outcome(exit_code: int) -> Outcome:
    if exit_code < 0:
        return _retry(f"rsync was killed by signal {-exit_code}; the copy resumes next attempt")
    known = RSYNC_EXIT_CODES.get(exit_code)
    return known or _give_up(f"rsync failed with an unknown exit code {exit_code}")
