"""A stand-in for the Radarr/Sonarr v3 API, as their source has it: every route needs the key
(query `apikey`, then `X-Api-Key`, then `Authorization: Bearer`), a wrong one gets 401 with
no body; `history/since` is a plain array filtered `date >= since` on stored dates (with
fractions), oldest first, dates written in whole seconds; `eventType` is a name (any case)
or a number, a bad one or a bad `date` gets a 400; null properties are left out; Radarr's
`/movie` embeds `movieFile`; Sonarr's `/episodefile` takes one `seriesId` and writes one
history record per episode; gzip when asked; HTTP/1.1 keep-alive."""

from __future__ import annotations

import gzip
import itertools
import json
import posixpath
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EVENT_TYPES = {
    "radarr": ["unknown", "grabbed", "downloadFolderImportedDeprecated", "downloadFolderImported",
               "downloadFailed", "movieFileDeletedDeprecated", "movieFileDeleted",
               "movieFolderImported", "movieFileRenamed", "downloadIgnored"],
    "sonarr": ["unknown", "grabbed", "seriesFolderImported", "downloadFolderImported",
               "downloadFailed", "episodeFileDeleted", "episodeFileRenamed", "downloadIgnored"],
}
VERSIONS = {"radarr": "5.28.0.10274", "sonarr": "4.0.19.2979"}
QUALITY = {"quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
           "revision": {"version": 1, "real": 0, "isRepack": False}}


def arr_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BadParameter(Exception):
    def __init__(self, name: str, value: str) -> None:
        super().__init__(name)
        self.problem = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                        "title": "One or more validation errors occurred.", "status": 400,
                        "errors": {name: [f"The value '{value}' is not valid."]}}


def parse_since(values: list[str] | None) -> datetime:
    """ASP.NET's DateTime binding: AdjustToUniversal; no offset is taken as it is (UTC)."""
    if not values:
        return datetime.min.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(values[0].strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter("date", values[0]) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class SeenRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    connection: int  # the client's port: one per TCP connection


class StandInArr:
    def __init__(self, app: str, api_key: str, url_base: str = "") -> None:
        assert app in ("radarr", "sonarr")
        self.app, self.api_key, self.url_base = app, api_key, url_base.rstrip("/")
        self.history: list[dict[str, Any]] = []  # each with "_at": the stored datetime
        self.movies: list[dict[str, Any]] = []
        self.series: list[dict[str, Any]] = []
        self.episode_files: dict[int, list[dict[str, Any]]] = {}
        self.episodes: dict[int, list[tuple[int, int]]] = {}  # file id → (season, episode)
        self.requests: list[SeenRequest] = []
        self.garbage = False  # answer every request with a 200 HTML page
        self.trickle = False  # answer with headers, then a byte now and then, never ending
        self._closed = threading.Event()
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()  # guards the lists above against the server threads
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.url_base}"

    def __enter__(self) -> StandInArr:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self.server.shutdown()
        self.server.server_close()

    def seen(self, route: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.lower().endswith(route)]

    # -- the library ---------------------------------------------------------------------------
    def add_movie(self, title: str, year: int, file_path: str, size: int) -> int:
        """A movie with its file at `file_path` (as the arr sees it); returns the movie id."""
        folder, name = posixpath.split(file_path)
        movie_id, file_id = next(self._ids), next(self._ids)
        movie_file = {"movieId": movie_id, "relativePath": name, "path": file_path,
                      "size": size, "dateAdded": arr_date(datetime.now(UTC)),
                      "releaseGroup": "GRP", "languages": [{"id": 1, "name": "English"}],
                      "quality": QUALITY, "customFormatScore": 0, "indexerFlags": 0,
                      "qualityCutoffNotMet": False, "id": file_id}
        with self._lock:
            self.movies.append({"title": title, "year": year, "path": folder, "hasFile": True,
                                "movieFileId": file_id, "sizeOnDisk": size,
                                "movieFile": movie_file, "id": movie_id})
        return movie_id

    def add_series(self, title: str, path: str) -> int:
        series_id = next(self._ids)
        with self._lock:
            self.series.append({"title": title, "path": path, "id": series_id,
                                "statistics": {"episodeFileCount": 0}})
            self.episode_files[series_id] = []
        return series_id

    def add_episode_file(self, series_id: int, relative_path: str, size: int,
                         episodes: list[tuple[int, int]]) -> int:
        series = next(s for s in self.series if s["id"] == series_id)
        file_id = next(self._ids)
        with self._lock:
            self.episode_files[series_id].append({
                "seriesId": series_id, "seasonNumber": episodes[0][0],
                "relativePath": relative_path,
                "path": posixpath.join(series["path"], relative_path), "size": size,
                "dateAdded": arr_date(datetime.now(UTC)), "releaseGroup": "GRP",
                "quality": QUALITY, "indexerFlags": 0, "releaseType": "singleEpisode",
                "id": file_id})
            self.episodes[file_id] = episodes
        return file_id

    # -- history: what HistoryService writes for an import ---------------------------------------
    def record_movie_import(self, movie_id: int, at: datetime | None = None) -> dict[str, Any]:
        movie = next(m for m in self.movies if m["id"] == movie_id)
        file = movie["movieFile"]
        record = self._import_record(file["path"], file["size"], file["id"], at,
                                     {"movieId": movie_id})
        with self._lock:
            self.history.append(record)
        return record

    def record_episode_import(self, file_id: int, at: datetime | None = None,
                              ) -> list[dict[str, Any]]:
        """One record per episode of the file, all with the same importedPath."""
        file = next(f for files in self.episode_files.values() for f in files
                    if f["id"] == file_id)
        records = [self._import_record(file["path"], file["size"], file_id, at,
                                       {"episodeId": season * 100 + number,
                                        "seriesId": file["seriesId"]})
                   for season, number in self.episodes[file_id]]
        with self._lock:
            self.history.extend(records)
        return records

    def _import_record(self, path: str, size: int, file_id: int, at: datetime | None,
                       ids: dict[str, int]) -> dict[str, Any]:
        name = posixpath.basename(path).rsplit(".", 1)[0]
        return {**ids, "sourceTitle": name, "languages": [{"id": 1, "name": "English"}],
                "quality": QUALITY, "customFormats": [], "customFormatScore": 0,
                "qualityCutoffNotMet": False, "_at": at or datetime.now(UTC),
                "downloadId": f"SABnzbd_nzo_{file_id}", "eventType": "downloadFolderImported",
                "data": {"fileId": str(file_id), "droppedPath": f"/downloads/complete/{name}.mkv",
                         "importedPath": path, "downloadClient": "SABnzbd",
                         "downloadClientName": "SABnzbd", "releaseGroup": "GRP",
                         "customFormatScore": "0", "size": str(size), "indexerFlags": "0"},
                "id": next(self._ids)}

    # -- answering -------------------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        route = path.lower()
        if route == "/api/v3/history/since":
            return 200, self._since(query)
        if route == "/api/v3/movie" and self.app == "radarr":
            with self._lock:
                return 200, [dict(m) for m in self.movies]
        if route == "/api/v3/series" and self.app == "sonarr":
            with self._lock:
                return 200, [dict(s) for s in self.series]
        if route == "/api/v3/episodefile" and self.app == "sonarr":
            if "seriesId" not in query:
                return 400, {"message": "seriesId or episodeFileIds must be provided"}
            with self._lock:
                return 200, list(self.episode_files.get(int(query["seriesId"][0]), []))
        return 404, None

    def _since(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        since = parse_since(query.get("date"))
        wanted = None
        if "eventType" in query:
            value = query["eventType"][0]
            names = [n.lower() for n in EVENT_TYPES[self.app]]
            if value.isdigit() and int(value) < len(names):
                wanted = int(value)
            elif value.lower() in names:
                wanted = names.index(value.lower())
            else:
                raise BadParameter("eventType", value)
        with self._lock:
            found = sorted((r for r in self.history if r["_at"] >= since), key=lambda r: r["_at"])
        if wanted is not None:
            found = [r for r in found if EVENT_TYPES[self.app].index(r["eventType"]) == wanted]
        flag = lambda name: query.get(name, ["false"])[0].lower() == "true"  # noqa: E731
        return [self._written(r, flag) for r in found]

    def _written(self, record: dict[str, Any], flag: Any) -> dict[str, Any]:
        out = {k: v for k, v in record.items() if k != "_at"}
        out["date"] = arr_date(record["_at"])  # whole seconds; the stored date keeps fractions
        if self.app == "radarr" and flag("includeMovie"):
            out["movie"] = next(m for m in self.movies if m["id"] == record["movieId"])
        if self.app == "sonarr" and flag("includeSeries"):
            out["series"] = next(s for s in self.series if s["id"] == record["seriesId"])
        if self.app == "sonarr" and flag("includeEpisode"):
            season, number = divmod(record["episodeId"], 100)
            out["episode"] = {"seriesId": record["seriesId"], "seasonNumber": season,
                              "episodeNumber": number, "title": f"Episode {number}",
                              "id": record["episodeId"]}
        return out

    def allows(self, query: dict[str, list[str]], headers: Any) -> bool:
        """ParseApiKey: query apikey, then X-Api-Key, then Bearer; ordinal comparison."""
        if "apikey" in query:  # present, even empty, it ends the search
            provided = query.get("apikey", [""])[0]
        elif headers.get("X-Api-Key") is not None:
            provided = headers.get("X-Api-Key")
        else:
            scheme, _, token = (headers.get("Authorization") or "").partition(" ")
            provided = token if scheme.lower() == "bearer" else None
        return bool(provided) and provided == self.api_key

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        arr = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave as separate writes

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query, keep_blank_values=True)
                with arr._lock:
                    arr.requests.append(SeenRequest(
                        url.path, query, {k.lower(): v for k, v in self.headers.items()},
                        self.client_address[1]))
                if arr.garbage:
                    return self._send(200, b"<html><body>Login</body></html>", "text/html")
                if arr.trickle:
                    return self._trickle()
                base = arr.url_base.lower()
                if not url.path.lower().startswith(base + "/api/"):
                    return self._send(404, b"", None)
                if not arr.allows(query, self.headers):
                    return self._send(401, b"", None)  # HandleChallengeAsync: no body
                try:
                    status, body = arr.answer(url.path[len(base):], query)
                except BadParameter as exc:
                    status, body = 400, exc.problem
                payload = json.dumps(body).encode() if body is not None else b""
                self._send(status, payload, "application/json; charset=utf-8" if payload
                           else None)

            def _trickle(self) -> None:  # JSON white space, a byte every 0.2 s, for ever

                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                while not arr._closed.wait(0.2):
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        return

            def _send(self, status: int, body: bytes, content_type: str | None) -> None:
                if body and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    body = gzip.compress(body)
                    self.send_response(status)
                    self.send_header("Content-Encoding", "gzip")
                else:
                    self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("X-Application-Version", VERSIONS[arr.app])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
