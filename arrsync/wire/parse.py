"""The one JSON parser of the wire, so what the bridge accepts, the syncer can read.

Both ends parse with pydantic-core (the parser behind `model_validate_json`), with the same
limits: nesting up to `MAX_DEPTH` levels, no lone UTF-16 surrogates, no NaN or Infinity,
integers up to 4,300 digits. Python's `json` module is more lenient on each of these, so a
body it accepts could never be parsed by the consumer: never use it for wire text.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic_core
from pydantic import ValidationError

# pydantic-core's fixed recursion limit (200 levels, counted a little differently for arrays
# and objects). Arr payloads nest about 6 deep. Both ends parse here, so they always agree.
MAX_DEPTH = 200
_POSITION = re.compile(r"at line (\d+) column (\d+)")
_ESCAPE = re.compile(r"\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


class WireError(ValueError):
    """Text that cannot travel on the wire. The message is a predicate for a person:
    "is nested more than 199 levels deep"; the caller names the subject ("body …")."""


def _explain(text: str | bytes, error: str) -> str:
    if "recursion limit" in error:
        return f"is nested too deeply (the limit is about {MAX_DEPTH} levels)"
    if "hex escape" in error or "surrogate" in error:
        lone = _lone_surrogate(text if isinstance(text, str) else text.decode("utf-8", "replace"))
        if lone:
            return f"contains a lone UTF-16 surrogate (\\u{lone}), which is not valid Unicode"
    constant = _constant_at(text, error)
    if constant:
        return f"is not valid JSON: {constant} is not a JSON value"
    if "number out of range" in error:
        return f"contains a number too large to read ({error})"
    return f"is not valid JSON ({error})"


def _constant_at(text: str | bytes, error: str) -> str | None:
    """NaN or Infinity where the parser stopped, which Python's json would have read."""
    where = _POSITION.search(error)
    if not where:
        return None
    sample = text if isinstance(text, str) else text.decode("utf-8", "replace")
    lines = sample.split("\n")
    line, column = int(where[1]) - 1, int(where[2]) - 1
    rest = lines[line][column:] if line < len(lines) else ""
    return next((c for c in ("NaN", "Infinity", "-Infinity") if rest.startswith(c)), None)


def _lone_surrogate(text: str) -> str | None:
    """The first surrogate escape that is not half of a pair, e.g. "d800"."""
    pending: re.Match[str] | None = None  # a high surrogate waiting for its low half
    for found in _ESCAPE.finditer(text):
        high = int(found[1], 16) < 0xDC00
        if pending is not None:
            if not high and found.start() == pending.end():
                pending = None
                continue
            return pending[1]
        if not high:
            return found[1]
        pending = found
    return pending[1] if pending else None


def parse_json(text: str | bytes) -> Any:
    """Parse wire JSON; raise WireError with a readable reason."""
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        raise WireError(_explain(text, str(exc))) from None


def describe(exc: WireError | ValidationError, limit: int = 3) -> str:
    """A WireError's reason, or a model's first problems as "files.0.path: Input should be
    a valid string; …", for a person."""
    if isinstance(exc, WireError):
        return str(exc)
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in exc.errors(include_url=False, include_input=False)[:limit])
