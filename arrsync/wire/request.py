"""Requests on `<base>/sync/request` and their answers on `<base>/sync/response`.

A request is one of five kinds, told apart by its one key: a path to sync (`{"path"}`, or
the path as plain text), `{"retry": JOB | "last"}`, `{"dismiss": JOB}`, `{"audit": NAME |
"all", "fix"}` and `{"replace": PATH, "title"}`; any may carry an `"id"`, which its answer
echoes, and a `"syncer"`, the name of the one syncer that is to answer it. Every producer
(the CLI, the status page, Home Assistant's buttons, the audit) builds one of these models
and sends `payload()`; the syncer reads each request once, with `parse_request`, and
answers every one with a `RequestAnswer`. Where several syncers share the broker, a request
without `"syncer"` is answered by those it concerns (`syncer.intake.requests`).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from arrsync.wire.parse import WireError, parse_json

MAX_REQUEST_ID = 100  # ids travel in every status of the job and key the de-duplication
RETRY_LAST = "last"   # {"retry": "last"}: the most recent failed job (Home Assistant's button)


class BadRequest(Exception):
    """A request that cannot be understood; `request_id` is its "id" if it could be read."""

    def __init__(self, reason: str, request_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


class _Request(BaseModel):
    key: ClassVar[str]  # the JSON key that names this kind of request
    id: str | None = Field(None, max_length=MAX_REQUEST_ID,
                           description="Echoed in the answer and in the statuses of its jobs.")
    syncer: str | None = Field(None, max_length=64, description="Only the syncer of this "
                               "name (`syncer.name`) answers; the others ignore the request.")

    def payload(self) -> str:
        return json.dumps(self.model_dump(exclude_defaults=True))


class PathRequest(_Request):
    key = "path"
    path: str = Field(description="An arr path or a source path, a file or a folder.")


class RetryRequest(_Request):
    key = "retry"
    retry: str = Field(description="A failed job to run again, or one on hold to release; "
                                   '"last" for the most recent failure.')


class DismissRequest(_Request):
    key = "dismiss"
    dismiss: str = Field(description="A removal on hold that a person decided must not happen.")


class AuditRequest(_Request):
    key = "audit"
    audit: str = Field(description='The name of an arr in arrs:, or "all".')
    fix: bool = Field(False, description="Also queue a sync of each missing file.")


class ReplaceRequest(_Request):
    key = "replace"
    replace: str = Field(description="A path whose destination copy is replaced by the "
                                     "source's file (the old copy goes to the recycle bin).")
    title: str | None = Field(None, description="Shown in the job's statuses.")


Request = PathRequest | RetryRequest | DismissRequest | AuditRequest | ReplaceRequest
KINDS: tuple[type[_Request], ...] = (
    AuditRequest, ReplaceRequest, RetryRequest, DismissRequest, PathRequest)


class RequestAnswer(BaseModel):
    """Published by the syncer on `<base>/sync/response` for every request (QoS 1)."""

    id: str | None = Field(description="The request's id; null when it had none.")
    ok: bool = Field(description="True when the request runs (or ran); false: it cannot.")
    message: str = Field(description="What happens, or why it cannot, for a person.")
    jobs: list[str] = Field(default_factory=list, description="The ids of the jobs it made "
                                                              "or concerns.")
    syncer: str | None = Field(None, description="The name of the syncer that answered, where "
                                                 "several share one broker; null otherwise.")


def parse_request(payload: bytes) -> Request:
    """The one reading of a request; BadRequest says what is wrong, in a few hundred
    characters at most whatever came in."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request is not UTF-8 text") from None
    if not text.lstrip().startswith("{"):
        path = text.strip("\r\n")
        if not path.strip():
            raise BadRequest("the request is empty; send a path")
        return PathRequest(path=path)
    try:
        data = parse_json(text)
    except WireError as exc:
        raise BadRequest(f"the request {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("a JSON request must be an object")
    request_id = _request_id(data)
    for kind in KINDS:
        if kind.key in data:
            return _build(kind, data, request_id)
    raise BadRequest('a JSON request needs "path" (a string), or "retry" or "dismiss" (a job '
                     'id), "audit" (an arr name) or "replace" (a path)', request_id)


def _request_id(data: dict[str, Any]) -> str | None:
    given = data.get("id")
    if given is None:
        return None
    if not isinstance(given, str):
        raise BadRequest('the request "id" must be a string')
    if len(given) > MAX_REQUEST_ID:
        raise BadRequest(f'the request "id" is longer than {MAX_REQUEST_ID} characters')
    return given or None


def _build(kind: type[_Request], data: dict[str, Any], request_id: str | None) -> Request:
    value = data[kind.key]
    if not isinstance(value, str) or not value.strip():
        what = {"path": "a path", "replace": "a path", "audit": 'the name of an arr, or "all"'}
        raise BadRequest(f'"{kind.key}" must be {what.get(kind.key, "a job id")} (a string)',
                         request_id)
    if kind is AuditRequest and not isinstance(data.get("fix", False), bool):
        raise BadRequest('"fix" must be true or false', request_id)
    if kind is ReplaceRequest and not isinstance(data.get("title"), str | None):
        raise BadRequest('"title" must be a string', request_id)
    if not isinstance(data.get("syncer"), str | None):
        raise BadRequest('"syncer" must be the name of a syncer (a string)', request_id)
    fields = {name: data[name] for name in kind.model_fields if name in data}
    request: Request = kind.model_validate({**fields, "id": request_id})  # type: ignore[assignment]
    return request
