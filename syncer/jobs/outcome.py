"""What an attempt's failure means for the job: retry later, wait, or give up."""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    RETRY = "retry"      # may work next time: back off and try again, counting an attempt
    GIVE_UP = "give_up"  # will not fix itself: the job fails now


class DestinationNotReady(Exception):
    """The destination guard failed (mount dropped, anchor missing, disk full). Hold the job."""


class DestinationFull(DestinationNotReady):
    """rsync ran out of space at the destination mid-copy: hold the job, and remove the
    attempt's own partial files first so they do not keep the disk full."""


class AttemptFailed(Exception):
    """An attempt did not copy everything; `decision` says whether to try again."""

    def __init__(self, decision: Decision, reason: str) -> None:
        super().__init__(reason)
        self.decision = decision
        self.reason = reason


class Interrupted(Exception):
    """The syncer is stopping: the attempt ends without counting, the job resumes later."""


class WaitsForPerson(Exception):
    """The circuit breaker holds a removal until a person releases it (`retry`).
    `alert`: this is the first hold of the hour, the one that is announced."""

    def __init__(self, reason: str, *, alert: bool) -> None:
        super().__init__(reason)
        self.alert = alert
