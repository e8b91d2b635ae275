"""The one classifier of a finished rsync, for coalesced copies and mirror actions alike.

What proves a file arrived is its final name at the destination with the source's size
(rsync prints a name *before* it sends the file, and renames a file into place only once it
is whole), so where the caller can check the files, a whole copy succeeds whatever rsync's
exit code says about the other files of its run. Otherwise the exit code decides, by the one
table in `exitcodes`; a destination that filled up mid-copy has this attempt's partial files
removed (they would keep it full for good) and the job is held.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from arrsync.units import human_size
from syncer.copying.exitcodes import rsync_error_line, rsync_outcome
from syncer.copying.rsync import RsyncResult
from syncer.jobs.outcome import AttemptFailed, Decision, Failed, Held, Result, Stopped

NO_SPACE = "No space left on device"  # rsync's message for ENOSPC (LC_ALL=C)
MAX_DETAIL = 300  # characters of rsync's own words in a job's error


def classify(result: RsyncResult | None, *, stopping: bool,
             check: Callable[[], AttemptFailed | None] | None,
             remove_partials: Callable[[], int], relatives: Sequence[str] = ()) -> Result | None:
    """None when the copy is whole, else the attempt's result.

    `result`: None when the stop came before rsync began. `check()`: what is wrong with the
    files at the destination, None if they all arrived whole (None instead of a function:
    the caller checks them later, as a replace does after its staged files are in place, or
    a dry run that writes nothing). `remove_partials()` removes this attempt's partial files
    and returns their bytes. `relatives`: the attempt's names, to pick rsync's lines about
    them out of a coalesced run's messages."""
    if result is None:
        return Stopped()
    if result.stalled_s:  # the watchdog ended it: its exit code says only "killed"
        return Failed(Decision.RETRY, stall_reason(result))
    problem = check() if check is not None else None
    if check is not None and problem is None:
        return None
    if result.exit_code == 0:
        return Failed(problem.decision, problem.reason) if problem else None
    if problem is not None and problem.decision is Decision.GIVE_UP:
        return Failed(problem.decision, problem.reason)  # its own files' problem
    if stopping:
        return Stopped()
    if NO_SPACE in result.stderr:
        freed = remove_partials()
        return Held(f"the destination filled up during the copy "
                    f"({rsync_error_line(result.stderr)}); removed this attempt's partial "
                    f"files ({human_size(freed)})")
    failure = rsync_failure(result, relatives)
    return Failed(failure.decision, failure.reason)


def stall_reason(result: RsyncResult) -> str:
    left = ("; it could not be ended (a read blocked on a dead mount?) and was left "
            "behind") if result.abandoned else ""
    return (f"the copy made no progress for {result.stalled_s:.0f} s (syncer.stall_timeout), "
            f"so its rsync was ended{left}; it is tried again later: check the shares")


def rsync_failure(result: RsyncResult, relatives: Sequence[str] = ()) -> AttemptFailed:
    """The exit code's decision, with rsync's lines about these files (or its first own
    error line)."""
    outcome = rsync_outcome(result.exit_code)
    own = [line for line in result.stderr.splitlines() if any(rel in line for rel in relatives)]
    detail = "; ".join(own[:2]) if own else rsync_error_line(result.stderr)
    reason = f"{outcome.reason} (rsync exit {result.exit_code}"
    reason = f"{reason}: {detail[:MAX_DETAIL]})" if detail else f"{reason})"
    return AttemptFailed(outcome.decision, reason)
