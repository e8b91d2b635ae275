"""The shapes of the arrs' API resources that arrsync reads, and what its callers get.

Read tolerantly, as the arrs write them (camelCase keys, null properties left out): unknown
keys are ignored, absent ones are None. Field names are those of the arrs' resource classes
(HistoryResource, MovieResource, SeriesResource, MovieFileResource, EpisodeFileResource).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


# -- the documented resource shapes (unknown keys ignored, absent ones None) -----------------
class Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True,
                              alias_generator=AliasGenerator(validation_alias=to_camel))


class FileShape(Resource):
    path: str | None = None
    relative_path: str | None = None
    size: int | None = None
    season_number: int | None = None


class MovieShape(Resource):
    id: int | None = None
    title: str | None = None
    year: int | None = None
    path: str | None = None
    movie_file: FileShape | None = None


class SeriesShape(Resource):
    id: int
    title: str | None = None
    path: str | None = None


class EpisodeShape(Resource):
    season_number: int | None = None
    episode_number: int | None = None


class HistoryShape(Resource):
    id: int
    date: datetime
    event_type: str | int | None = None
    source_title: str | None = None
    download_id: str | None = None
    data: dict[str, str | None] = {}
    movie: MovieShape | None = None
    series: SeriesShape | None = None
    episode: EpisodeShape | None = None


Shape = TypeVar("Shape", bound=Resource)


# -- what callers get --------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryImport:
    """One `downloadFolderImported` record: a file the arr imported (Sonarr: one per episode)."""

    id: int
    date: datetime  # UTC, whole seconds
    imported_path: str  # the full path as the arr sees it
    size: int | None
    download_id: str | None
    movie_title: str | None
    year: int | None
    series_title: str | None
    season: int | None
    episode: int | None
    record: dict[str, Any]  # the record exactly as the arr sent it


@dataclass(frozen=True)
class LibraryFile:
    path: str  # the full path as the arr sees it
    size: int | None
    title: str


def full_path(file: FileShape, folder: str | None) -> str | None:
    if file.path:
        return file.path
    if folder and file.relative_path:
        return posixpath.join(folder, file.relative_path)
    return None


def history_import(record: HistoryShape, path: str, raw: dict[str, Any]) -> HistoryImport:
    size = record.data.get("size")
    return HistoryImport(
        id=record.id, date=record.date.astimezone(UTC), imported_path=path,
        size=int(size) if size and size.isdigit() else None, download_id=record.download_id,
        movie_title=record.movie.title if record.movie else None,
        year=record.movie.year if record.movie else None,
        series_title=record.series.title if record.series else None,
        season=record.episode.season_number if record.episode else None,
        episode=record.episode.episode_number if record.episode else None,
        record=raw,
    )
