"""Pydantic models of the webhook payloads Radarr, Sonarr, Lidarr, Readarr and Whisparr send.

Modelled on the arrs' own classes (`src/NzbDrone.Core/Notifications/Webhook/`). They are
tolerant where arr versions differ (unknown keys are kept, optional keys may be missing,
since the arrs leave out nulls) and strict where a wrong type would mislead us: `eventType`
is a string, and every file carries a string `path`.
"""

from __future__ import annotations

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, StrictStr
from pydantic.alias_generators import to_camel

from arrsync.wire.event import MAX_EVENT_TYPE, EventKind
from arrsync.wire.event import Episode as EpisodeNumber

KINDS = {
    "Download": EventKind.IMPORT,
    "Rename": EventKind.RENAME,
    "MovieFileDelete": EventKind.FILE_DELETE,
    "EpisodeFileDelete": EventKind.FILE_DELETE,
    "Test": EventKind.TEST,
}
# A movie or series removed from the arr: its folder is gone only with `deletedFiles: true`.
FOLDER_DELETES = ("MovieDelete", "SeriesDelete")


class _ArrObject(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel),
    )


class MediaFile(_ArrObject):
    """WebhookMovieFile, WebhookEpisodeFile, Lidarr's track file, Readarr's book file."""

    path: StrictStr
    id: int | None = None
    relative_path: str | None = None
    size: int | None = None
    quality: str | None = None
    source_path: str | None = None


class RenamedMediaFile(MediaFile):
    """An entry of renamedMovieFiles / renamedEpisodeFiles / renamedTrackFiles / …"""

    previous_path: StrictStr


class Movie(_ArrObject):
    title: str | None = None
    year: int | None = None
    folder_path: str | None = None


class Series(_ArrObject):
    title: str | None = None
    path: str | None = None
    year: int | None = None


class Episode(_ArrObject):
    season_number: int | None = None
    episode_number: int | None = None
    title: str | None = None


class Artist(_ArrObject):
    name: str | None = None
    path: str | None = None


class Album(_ArrObject):
    title: str | None = None


class Author(_ArrObject):
    name: str | None = None
    path: str | None = None


class Book(_ArrObject):
    title: str | None = None


class ArrPayload(_ArrObject):
    """Any webhook of any arr: the base fields plus every shape's optional parts."""

    event_type: StrictStr = Field(min_length=1, max_length=MAX_EVENT_TYPE)
    instance_name: str | None = None
    # Radarr, Whisparr v3
    movie: Movie | None = None
    movie_file: MediaFile | None = None
    # Sonarr, Whisparr v2 (episodeFiles: "On Import Complete")
    series: Series | None = None
    episodes: list[Episode] = Field(default_factory=list)
    episode_file: MediaFile | None = None
    episode_files: list[MediaFile] | None = None
    # Lidarr
    artist: Artist | None = None
    album: Album | None = None
    track_files: list[MediaFile] | None = None
    # Readarr
    author: Author | None = None
    book: Book | None = None
    book_files: list[MediaFile] | None = None
    # Download details. deletedFiles is a list on upgrades but a bool on *Delete events.
    is_upgrade: bool | None = None
    deleted_files: list[MediaFile] | bool | None = None
    download_id: str | None = None
    # Rename (one list per arr) and *FileDelete
    renamed_movie_files: list[RenamedMediaFile] | None = None
    renamed_episode_files: list[RenamedMediaFile] | None = None
    renamed_track_files: list[RenamedMediaFile] | None = None
    renamed_book_files: list[RenamedMediaFile] | None = None
    delete_reason: str | None = None

    @property
    def kind(self) -> EventKind:
        if self.event_type in FOLDER_DELETES:
            return EventKind.FOLDER_DELETE if self.deleted_files is True else EventKind.OTHER
        return KINDS.get(self.event_type, EventKind.OTHER)

    @property
    def is_import(self) -> bool:
        return self.kind is EventKind.IMPORT

    def imported_files(self) -> list[MediaFile]:
        """The files an import put in the library; empty for every other event."""
        if not self.is_import:
            return []
        single = [f for f in (self.movie_file, self.episode_file) if f is not None]
        lists = [self.episode_files, self.track_files, self.book_files]
        return single + [f for files in lists if files for f in files]

    def replaced_files(self) -> list[MediaFile]:
        """The files an upgrade replaced (`deletedFiles`, already gone from the source)."""
        if not self.is_import or not isinstance(self.deleted_files, list):
            return []
        return self.deleted_files

    def renamed_files(self) -> list[RenamedMediaFile]:
        if self.kind is not EventKind.RENAME:
            return []
        lists = [self.renamed_movie_files, self.renamed_episode_files,
                 self.renamed_track_files, self.renamed_book_files]
        return [f for files in lists if files for f in files]

    def removed_files(self) -> list[MediaFile]:
        """The file a MovieFileDelete / EpisodeFileDelete names."""
        if self.kind is not EventKind.FILE_DELETE:
            return []
        return [f for f in (self.movie_file, self.episode_file) if f is not None]

    def deleted_folder(self) -> str | None:
        """The movie or series folder a delete with `deletedFiles: true` removed."""
        if self.kind is not EventKind.FOLDER_DELETE:
            return None
        if self.movie is not None:
            return self.movie.folder_path
        return self.series.path if self.series is not None else None

    def title(self) -> str | None:
        """What a person calls the thing: "Oppenheimer (2023)", "Chernobyl S01E02"."""
        if self.movie and self.movie.title:
            return _with_year(self.movie.title, self.movie.year)
        if self.series and self.series.title:
            return self.series.title + _episode_label(self.episodes)
        if self.artist and self.artist.name:
            return self.artist.name + (f" - {self.album.title}" if self.album else "")
        if self.author and self.author.name:
            return self.author.name + (f" - {self.book.title}" if self.book else "")
        return None

    def series_title(self) -> str | None:
        """"Chernobyl" for episodes, as `title()` begins; None for anything else."""
        return self.series.title if self.series and self.series.title else None

    def episode_numbers(self) -> list[EpisodeNumber]:
        return [EpisodeNumber(season=e.season_number, episode=e.episode_number)
                for e in self.episodes
                if e.season_number is not None and e.episode_number is not None]


def _with_year(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


def _episode_label(episodes: list[Episode]) -> str:
    numbered = [e for e in episodes if e.season_number is not None]
    if not numbered:
        return ""
    seasons = sorted({e.season_number for e in numbered if e.season_number is not None})
    if len(numbered) == 1 and numbered[0].episode_number is not None:
        return f" S{seasons[0]:02d}E{numbered[0].episode_number:02d}"
    if len(seasons) == 1:
        numbers = sorted(e.episode_number for e in numbered if e.episode_number is not None)
        if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)) \
                and len(numbers) <= 3:
            return f" S{seasons[0]:02d}E{numbers[0]:02d}-E{numbers[-1]:02d}"
        return f" S{seasons[0]:02d}"
    return f" S{seasons[0]:02d}-S{seasons[-1]:02d}"
