"""The Radarr/Sonarr API (v3) as far as arrsync reads it: import history and the file inventory.

Facts from the arrs' source (see docs/catch-up-and-audit.md): every endpoint needs the key
(sent as `X-Api-Key`; a wrong one gets 401 with an empty body); `history/since` returns a
plain array, oldest first, inclusive of `date`, with dates in whole seconds; Radarr's
`/movie` embeds each movie's file, Sonarr lists files one series at a time. Responses are
gzip-compressed when asked (httpx asks) and one connection serves all calls of a client.

Every failure becomes `ArrUnreadable`, whose message names the arr and never holds the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import ijson
from pydantic import ValidationError

from arrsync.arrs.shapes import (
    FileShape,
    HistoryImport,
    HistoryShape,
    LibraryFile,
    MovieShape,
    SeriesShape,
    Shape,
    full_path,
    history_import,
)
from arrsync.arrs.stream import Limits, NotAList, StreamProblem, list_items, read_all
from arrsync.settings import ArrInstance

log = logging.getLogger(__name__)

API = "/api/v3"
TIMEOUT = httpx.Timeout(120.0, connect=10.0)  # /movie takes seconds for a large library
IMPORTED = "downloadFolderImported"

Progress = Callable[[int, int], None]  # (done, total)


class ArrUnreadable(Exception):
    """An arr could not be read; the message says which and why, for a person."""

    def __init__(self, arr: ArrInstance, problem: str) -> None:
        super().__init__(f"{arr.name} at {shown_url(arr.url)}: {problem}")
        self.arr_name = arr.name
        self.problem = problem


def shown_url(url: str) -> str:
    """The arr's URL without any user:password@ in it."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def api_date(moment: datetime) -> str:
    """The `date` parameter: ISO 8601 UTC in whole seconds, as the arrs write dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ArrClient:
    """One arr's API over one reused connection; use as a context manager or `close()`."""

    def __init__(self, arr: ArrInstance, *, timeout: httpx.Timeout | float = TIMEOUT,
                 deadline_s: float | None = None, max_bytes: int | None = None) -> None:
        """`deadline_s`: the most one answer may keep us waiting in all (an arr that trickles
        its answer resets every read timeout; the time the caller spends on each item read is
        not counted); `max_bytes`: the largest answer taken."""
        self.arr = arr
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        key = arr.api_key.get_secret_value() if arr.api_key else ""
        self._http = httpx.Client(
            base_url=arr.url + API, timeout=timeout, follow_redirects=False,
            headers={"X-Api-Key": key, "Accept": "application/json"},
        )

    def __enter__(self) -> ArrClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- history ---------------------------------------------------------------------------
    def imports_since(self, since: datetime) -> list[HistoryImport]:
        """Imports recorded at or after `since` (whole seconds), oldest first."""
        return list(self.each_import_since(since))

    def each_import_since(self, since: datetime) -> Iterator[HistoryImport]:
        """The same, one at a time as the answer arrives: never the whole answer in memory."""
        include = ({"includeMovie": "true"} if self.arr.app == "radarr"
                   else {"includeSeries": "true", "includeEpisode": "true"})
        records = self._each("/history/since", {"date": api_date(since),
                                                 "eventType": IMPORTED, **include})
        for raw in records:
            record = self._parse(HistoryShape, raw, "history record")
            if record is None or record.event_type not in (IMPORTED, 3):
                continue
            path = record.data.get("importedPath")
            if not path:
                log.warning("%s: history record %s names no importedPath; skipped",
                            self.arr.name, record.id)
                continue
            yield history_import(record, path, raw)

    # -- inventory -------------------------------------------------------------------------
    def library(self, progress: Progress | None = None) -> list[LibraryFile]:
        """Every file the arr has in its library, as it lists them."""
        return list(self.each_file(progress))

    def each_file(self, progress: Progress | None = None) -> Iterator[LibraryFile]:
        """The same, one at a time as the answers arrive. `progress(done, total)`: Radarr
        (1, 1) once `/movie` is read; Sonarr after each series' files."""
        if self.arr.app == "radarr":
            return self._movie_files(progress)
        return self._episode_files(progress)

    def _movie_files(self, progress: Progress | None) -> Iterator[LibraryFile]:
        for raw in self._each("/movie"):
            movie = self._parse(MovieShape, raw, "movie")
            if movie is None or movie.movie_file is None:
                continue
            path = full_path(movie.movie_file, movie.path)
            if path:
                title = f"{movie.title} ({movie.year})" if movie.year else movie.title or path
                yield LibraryFile(path, movie.movie_file.size, title)
        if progress:
            progress(1, 1)

    def _episode_files(self, progress: Progress | None) -> Iterator[LibraryFile]:
        all_series = [s for raw in self._each("/series")
                      if (s := self._parse(SeriesShape, raw, "series")) is not None]
        for done, series in enumerate(all_series, 1):
            for raw in self._each("/episodefile", {"seriesId": str(series.id)}):
                found = self._parse(FileShape, raw, "episode file")
                path = full_path(found, series.path) if found else None
                if found and path:
                    season = (f" S{found.season_number:02d}"
                              if found.season_number is not None else "")
                    yield LibraryFile(path, found.size, f"{series.title}{season}")
            if progress:
                progress(done, len(all_series))

    # -- HTTP ------------------------------------------------------------------------------
    def _each(self, path: str, params: dict[str, str] | None = None) -> Iterator[Any]:
        """Each item of a list answer, parsed as it arrives (stream.py); ArrUnreadable on any
        failure, with what was already yielded left to the caller."""
        if not self.arr.has_key():
            raise ArrUnreadable(self.arr, "no api_key is set (the arr's Settings > General > "
                                          "API Key, in arrs[].api_key)")
        limits = Limits(f"{API}{path}", self.max_bytes, self.deadline_s)
        try:
            with self._http.stream("GET", path, params=params) as response:
                if not 200 <= response.status_code < 300:
                    body = read_all(limits.chunks(response))
                    _check_status(self.arr, path, _whole(response, body))
                try:
                    yield from list_items(limits.chunks(response))
                except NotAList as exc:
                    raise ArrUnreadable(self.arr, _not_a_list(path, response, exc.body)) from None
                except ijson.JSONError:
                    raise ArrUnreadable(self.arr, _not_a_list(path, response, b"")) from None
        except StreamProblem as exc:
            raise ArrUnreadable(self.arr, str(exc)) from None
        except httpx.TimeoutException:
            raise ArrUnreadable(self.arr, f"no answer to {API}{path} in time") from None
        except httpx.ConnectError as exc:
            raise ArrUnreadable(self.arr, f"cannot connect ({_reason(exc)})") from None
        except httpx.HTTPError as exc:
            raise ArrUnreadable(self.arr, f"the request for {API}{path} failed "
                                          f"({_reason(exc)})") from None

    def _parse(self, model: type[Shape], raw: Any, what: str) -> Shape | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "the record"
            log.warning("%s: skipped a %s in an unexpected shape (%s: %s)",
                        self.arr.name, what, where, first["msg"])
            return None


def _whole(response: httpx.Response, body: bytes) -> httpx.Response:
    """The streamed response with its (decoded) body, to read an error from."""
    decoded = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length")]
    return httpx.Response(response.status_code, headers=decoded, content=body,
                          request=response.request)


def _not_a_list(path: str, response: httpx.Response, body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return (f"answered {API}{path} with something that is not JSON ({kind}); is the url "
                "the arr's?")
    return f"answered {API}{path} with a JSON {type(data).__name__}, not the list the API returns"


def _check_status(arr: ArrInstance, path: str, response: httpx.Response) -> None:
    status = response.status_code
    if status in (401, 403):
        raise ArrUnreadable(arr, f"refused the API key (HTTP {status}); set arrs[].api_key to "
                                 "the arr's Settings > General > API Key")
    if status == 404:
        raise ArrUnreadable(arr, f"has no {API}{path} (HTTP 404); is the url right, with the "
                                 "arr's URL base?")
    if 300 <= status < 400:
        where = shown_url(response.headers.get("location", "elsewhere"))
        raise ArrUnreadable(arr, f"redirects {API}{path} to {where} (HTTP {status}); use that "
                                 "address, with the arr's URL base, as its url")
    if status >= 400:
        raise ArrUnreadable(arr, f"answered {API}{path} with HTTP {status}{_message(response)}")


def _message(response: httpx.Response) -> str:
    """The arr's own error message (ErrorModel.message), short, if it sent one."""
    try:
        body = response.json()
        message = body.get("message") or body.get("title")
    except (ValueError, AttributeError):
        return ""
    return f": {str(message)[:200]}" if message else ""


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__
