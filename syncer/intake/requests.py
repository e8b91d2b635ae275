"""Manual requests on `<base>/sync/request`: a path as plain text, or JSON with "path" (and
an "id"), or "retry" / "dismiss" with a job id. Whatever comes in, what is echoed back stays
small, and it is read with the wire's own JSON parser and limits."""

from __future__ import annotations

import uuid
from typing import Any

from arrsync.wire.parse import WireError, parse_json

MAX_REQUEST_ID = 100  # ids travel in every status of the job and key the de-duplication


class BadRequest(Exception):
    """A manual request that cannot be understood."""


JOB_VERBS = ("retry", "dismiss")  # {"retry": JOB}: run again or release; {"dismiss": JOB}


def request_id_of(data: dict[str, Any]) -> str:
    """A JSON request's "id", or a new one; BadRequest if it is too long to echo back."""
    given = data.get("id") if isinstance(data.get("id"), str) else None
    if given and len(given) > MAX_REQUEST_ID:
        raise BadRequest(f'the request "id" is longer than {MAX_REQUEST_ID} characters')
    return given or new_request_id()


def new_request_id() -> str:
    return f"req-{uuid.uuid4().hex[:12]}"


def parse_request(payload: bytes) -> tuple[str, str | None, tuple[str, str] | None]:
    """A request as (request id, path, (verb, job id) for a request about a job)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        try:
            data = parse_json(text)
        except WireError as exc:
            raise BadRequest(f"the request {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("a JSON request must be an object")
        request_id = request_id_of(data)
        for verb in JOB_VERBS:
            if isinstance(data.get(verb), str):
                return request_id, None, (verb, data[verb])
        if not isinstance(data.get("path"), str):
            raise BadRequest('a JSON request needs "path" (a string), or "retry" or "dismiss" '
                             "(a job id)")
        return request_id, data["path"], None
    path = text.strip("\r\n")
    if not path.strip():
        raise BadRequest("the request is empty; send a path")
    return new_request_id(), path, None
