"""The items of an arr's JSON list answer, parsed as the bytes arrive.

An arr's large answers (a week of history is tens of thousands of records, Radarr's
`/movie` is every movie) are plain JSON arrays. Read whole, then parsed, they cost several
times their size in memory; read here, only the item being parsed and one network chunk are
held, whatever the answer's length. The limits of the whole answer still hold: `max_bytes`
in all, and `deadline_s` of time spent waiting for the arr (not for the caller, who may
spool each item as it comes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import ijson


class StreamProblem(Exception):
    """The answer broke a limit or is not a JSON list; the message says which, for a person."""


class NotAList(StreamProblem):
    """The answer is something else than a JSON array; `body` is its first bytes, whole."""

    def __init__(self, body: bytes) -> None:
        super().__init__("not a JSON list")
        self.body = body


class Limits:
    """The bytes read and the time spent waiting, checked at each chunk."""

    def __init__(self, what: str, max_bytes: int | None, deadline_s: float | None) -> None:
        self.what, self.max_bytes, self.deadline_s = what, max_bytes, deadline_s
        self.read = 0
        self.waited = 0.0

    def chunks(self, response: httpx.Response) -> Iterator[bytes]:
        source = response.iter_bytes()
        while True:
            began = time.monotonic()
            chunk = next(source, None)
            self.waited += time.monotonic() - began
            if chunk is None:
                return
            self.read += len(chunk)
            if self.max_bytes is not None and self.read > self.max_bytes:
                raise StreamProblem(f"answered {self.what} with more than {self.max_bytes} "
                                    "bytes; not read further")
            if self.deadline_s is not None and self.waited > self.deadline_s:
                raise StreamProblem(f"took more than {self.deadline_s:.0f} s to answer "
                                    f"{self.what}; not read further")
            yield chunk


def read_all(chunks: Iterator[bytes]) -> bytes:
    """The whole body (an error's, or one that is no list: small, and bounded by Limits)."""
    return b"".join(chunks)


def list_items(chunks: Iterator[bytes]) -> Iterator[Any]:
    """Each item of a JSON array, as soon as it is whole; NotAList (with the body read
    whole) if the answer does not start as an array; ijson.JSONError if it is broken."""
    head = b""
    for chunk in chunks:
        head += chunk
        if head.strip():
            break
    if not head.lstrip().startswith(b"["):
        raise NotAList(head + read_all(chunks))
    found: list[Any] = ijson.sendable_list()
    parser = ijson.items_coro(found, "item", use_float=True)
    for chunk in _with_head(head, chunks):
        parser.send(chunk)
        yield from found
        del found[:]
    parser.close()  # an answer cut short raises IncompleteJSONError here
    yield from found


def _with_head(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from chunks
