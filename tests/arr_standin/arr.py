"""The stand-in's library and history, and its answers to each route."""

from __future__ import annotations

import itertools
import posixpath
import threading
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from tests.arr_standin.api import (
    EVENT_TYPES,
    QUALITY,
    BadParameter,
    SeenRequest,
    arr_date,
    parse_since,
)
from tests.arr_standin.http import handler_for


class StandInArr:
    def __init__(self, app: str, api_key: str, url_base: str = "") -> None:
        assert app in ("radarr", "sonarr")
        self.app, self.api_key, self.url_base = app, api_key, url_base.rstrip("/")
        self.history: list[dict[str, Any]] = []  # each with "_at": the stored datetime
        self.movies: list[dict[str, Any]] = []
        self.series: list[dict[str, Any]] = []
        self.episode_files: dict[int, list[dict[str, Any]]] = {}
        self._by_id: dict[int, dict[str, Any]] = {}  # movie, series and episode file ids
        self.episodes: dict[int, list[tuple[int, int]]] = {}  # file id → (season, episode)
        self.requests: list[SeenRequest] = []
        self.garbage = False  # answer every request with a 200 HTML page
        self.trickle = False  # answer with headers, then a byte now and then, never ending
        self.cut_after: int | None = None  # the next list answer: this many items, then cut
        self._closed = threading.Event()
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()  # guards the lists above against the server threads
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
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
            self._by_id[movie_id] = self.movies[-1]
        return movie_id

    def add_series(self, title: str, path: str) -> int:
        series_id = next(self._ids)
        with self._lock:
            self.series.append({"title": title, "path": path, "id": series_id,
                                "statistics": {"episodeFileCount": 0}})
            self.episode_files[series_id] = []
            self._by_id[series_id] = self.series[-1]
        return series_id

    def add_episode_file(self, series_id: int, relative_path: str, size: int,
                         episodes: list[tuple[int, int]]) -> int:
        series = self._by_id[series_id]
        file_id = next(self._ids)
        with self._lock:
            self.episode_files[series_id].append({
                "seriesId": series_id, "seasonNumber": episodes[0][0],
                "relativePath": relative_path,
                "path": posixpath.join(series["path"], relative_path), "size": size,
                "dateAdded": arr_date(datetime.now(UTC)), "releaseGroup": "GRP",
                "quality": QUALITY, "indexerFlags": 0, "releaseType": "singleEpisode",
                "id": file_id})
            self._by_id[file_id] = self.episode_files[series_id][-1]
            self.episodes[file_id] = episodes
        return file_id

    # -- history: what HistoryService writes for an import ---------------------------------------
    def record_movie_import(self, movie_id: int, at: datetime | None = None) -> dict[str, Any]:
        movie = self._by_id[movie_id]
        file = movie["movieFile"]
        record = self._import_record(file["path"], file["size"], file["id"], at,
                                     {"movieId": movie_id})
        with self._lock:
            self.history.append(record)
        return record

    def record_episode_import(self, file_id: int, at: datetime | None = None,
                              ) -> list[dict[str, Any]]:
        """One record per episode of the file, all with the same importedPath."""
        file = self._by_id[file_id]
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
            out["movie"] = self._by_id[record["movieId"]]
        if self.app == "sonarr" and flag("includeSeries"):
            out["series"] = self._by_id[record["seriesId"]]
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
