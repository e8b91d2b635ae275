"""How an attempt ends: one result type, made in one place.

Deep inside an attempt (collecting files, a rename, a full disk) a step that cannot go on
raises one of the exceptions below; `result_of` turns each into a `Result`, and so does
`syncer.copying.classify` for a finished rsync. The engine hands the result to the job's
lifecycle (`syncer.engine.lifecycle`), which is the only code that turns it into the job's
next state. Two kinds of waiting are kept apart by name: *held* (the destination is not
ready: the job waits by itself and runs when it is) and *on hold* (the circuit breaker: the
job waits for a person, `retry` or `dismiss`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    RETRY = "retry"      # may work next time: back off and try again, counting an attempt
    GIVE_UP = "give_up"  # will not fix itself: the job fails now


@dataclass(frozen=True)
class Done:
    """Succeeded, or skipped with the reason (nothing needed doing). `bytes`/`files`: what the
    attempt copied or moved (None keeps what its start announced); `fields`: status fields
    such as `moved`, `dry_run`, `would_copy`."""

    skipped: str | None = None
    bytes: int | None = None
    files: int | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """The attempt failed: retried later (counting it) or given up, by `decision`."""

    decision: Decision
    reason: str


@dataclass(frozen=True)
class Held:
    """The destination is not ready (mount, anchor, space): the job waits by itself, without
    spending an attempt, and runs when the destination is ready."""

    reason: str


@dataclass(frozen=True)
class OnHold:
    """The circuit breaker holds a removal until a person releases or dismisses it;
    `announce`: the first hold of the hour, the one that is published."""

    reason: str
    announce: bool


@dataclass(frozen=True)
class Stopped:
    """The syncer is stopping: the attempt does not count; the job resumes at the next start."""


Result = Done | Failed | Held | OnHold | Stopped


class AttemptFailed(Exception):
    """An attempt did not copy everything; `decision` says whether to try again."""

    def __init__(self, decision: Decision, reason: str) -> None:
        super().__init__(reason)
        self.decision = decision
        self.reason = reason


class DestinationNotReady(Exception):
    """The destination guard failed (mount dropped, anchor missing, disk full): held."""


class WaitsForPerson(Exception):
    """The circuit breaker holds a removal until a person releases it (`retry`).
    `announce`: this is the first hold of the hour, the one that is announced."""

    def __init__(self, reason: str, *, announce: bool) -> None:
        super().__init__(reason)
        self.announce = announce


class AttemptEnded(Exception):
    """A step inside an attempt already knows the attempt's result (from the classifier)."""

    def __init__(self, result: Result) -> None:
        super().__init__(repr(result))
        self.result = result


def result_of(exc: Exception) -> Result | None:
    """The result an exception raised inside an attempt stands for; None for any other error
    (a bug: the engine fails the job with the error's name)."""
    match exc:
        case AttemptEnded(result=result):
            return result
        case AttemptFailed(decision=decision, reason=reason):
            return Failed(decision, reason)
        case DestinationNotReady():
            return Held(str(exc))
        case WaitsForPerson(announce=announce):
            return OnHold(str(exc), announce)
    return None
