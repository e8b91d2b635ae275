"""The home the soak runs: the example config's four mappings, and what an arr does to them.

Each call makes one thing an arr does (an import with sidecars, a season pack, a 4K import,
an upgrade under a new or the same name, a rename, a delete) on the source share and
returns the webhook to send, and it keeps `expected`: what the destination must hold in the
end, file by file (byte-identical to the source), and what it must not.
"""

from __future__ import annotations

import copy
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MAPPINGS = {  # name → (arr path, app, on_delete)
    "Movies 1080p": ("/movies", "radarr", "recycle"),
    "Movies 4K": ("/movies4k", "radarr", "keep"),
    "TV 1080p": ("/tv", "sonarr", "keep"),
    "TV 4K": ("/tv4k", "sonarr", "keep"),
}


@dataclass
class Home:
    root: Path
    rng: random.Random
    small: int = 200_000        # a 1080p file, scaled down
    large: int = 3_000_000      # a 4K file, scaled down
    expected: set[str] = field(default_factory=set)   # arr paths that must be at the dest
    gone: set[str] = field(default_factory=set)       # arr paths that must not be there
    movies: dict[str, list[str]] = field(default_factory=dict)  # arr folder → its files
    counter: int = 0

    def mappings(self) -> list[dict[str, Any]]:
        return [{"name": name, "arr_path": arr, "source": str(self.root / "src" / arr[1:]),
                 "dest": str(self.root / "dst" / arr[1:]), "on_delete": on_delete,
                 "on_upgrade": "recycle", "on_rename": "rename"}
                for name, (arr, _app, on_delete) in MAPPINGS.items()]

    def source(self, arr_path: str) -> Path:
        return self.root / "src" / arr_path.lstrip("/")

    def dest(self, arr_path: str) -> Path:
        return self.root / "dst" / arr_path.lstrip("/")

    def write(self, arr_path: str, size: int) -> None:
        path = self.source(arr_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.partial")
        staged.write_bytes(os.urandom(size))
        os.replace(staged, path)  # as the arr moves a finished file into place

    def _name(self) -> str:
        self.counter += 1
        return f"Title {self.counter:05d} ({1950 + self.counter % 70})"

    # -- what the arrs do ------------------------------------------------------------------
    def movie(self, *, four_k: bool = False, late: bool = False) -> tuple[str, dict[str, Any]]:
        """A movie with a subtitle; `late`: the file appears after the webhook (NFS lag)."""
        root = "/movies4k" if four_k else "/movies"
        folder = f"{root}/{self._name()}"
        media = f"{folder}/{folder.rsplit('/', 1)[1]} Bluray-{'2160p' if four_k else '1080p'}.mkv"
        subtitle = media[:-4] + ".en.srt"
        if not late:
            self.write(media, self.large if four_k else self.small)
        self.write(subtitle, 2_000)
        self.movies[folder] = [media, subtitle]
        self.expected |= {media, subtitle}
        return "radarr", radarr_download(media)

    def late_file(self, arr_path: str) -> None:
        self.write(arr_path, self.small)

    def season_pack(self, *, four_k: bool = False) -> tuple[str, dict[str, Any]]:
        root = "/tv4k" if four_k else "/tv"
        series = f"{root}/{self._name()}"
        files = [f"{series}/Season 1/{series.rsplit('/', 1)[1]} - S01E{n:02d}.mkv"
                 for n in range(1, self.rng.randint(3, 6))]
        for path in files:
            self.write(path, self.large if four_k else self.small)
        self.expected |= set(files)
        return "sonarr", sonarr_import(files)

    def upgrade(self, *, same_name: bool) -> tuple[str, dict[str, Any]] | None:
        folder = self._a_movie("/movies/")
        if folder is None:
            return None
        old = self.movies[folder][0]
        new = old if same_name else old.replace("Bluray-1080p", "Remux-1080p")
        if not same_name:
            self._move_with_sidecars(folder, new)  # the subtitle follows the new name
        self.write(new, self.small + 1000)
        payload = radarr_download(new)
        payload.update(isUpgrade=True, deletedFiles=[{"path": old, "relativePath": old}])
        return "radarr", payload

    def rename(self) -> tuple[str, dict[str, Any]] | None:
        folder = self._a_movie("/movies")
        if folder is None:
            return None
        old = self.movies[folder][0]
        new = old[:-4] + " {edition-Cut}.mkv"
        self._move_with_sidecars(folder, new)
        payload = json.loads((FIXTURES / "radarr" / "rename.json").read_text())
        payload["renamedMovieFiles"] = [{**payload["renamedMovieFiles"][0],
                                         "previousPath": old, "path": new}]
        payload["movie"] = {**payload["movie"], "folderPath": folder}
        return "radarr", payload

    def delete(self) -> tuple[str, dict[str, Any]] | None:
        folder = self._a_movie("/movies/")  # on_delete: recycle in Movies 1080p only
        if folder is None:
            return None
        media = self.movies.pop(folder)[0]
        self.source(media).unlink()
        self.expected.discard(media)
        self.gone.add(media)
        payload = json.loads((FIXTURES / "radarr" / "movie-file-delete.json").read_text())
        payload["movieFile"] = {**payload["movieFile"], "path": media}
        payload["deleteReason"] = "manual"
        return "radarr", payload

    def _move_with_sidecars(self, folder: str, new: str) -> None:
        """The media file takes the name `new`; its sidecars keep their tail (`.en.srt`)."""
        old = self.movies[folder][0]
        pairs = [(old, new)] + [(o, new[:-4] + o[len(old) - 4:])
                                for o in self.movies[folder][1:]]
        for before, after in pairs:
            os.rename(self.source(before), self.source(after))
            self.expected.discard(before)
            self.expected.add(after)
            self.gone.add(before)
        self.movies[folder] = [after for _before, after in pairs]

    def _a_movie(self, prefix: str) -> str | None:
        folders = [f for f in self.movies if f.startswith(prefix) and
                   self.source(self.movies[f][0]).exists()]
        return self.rng.choice(folders) if folders else None


def radarr_download(media: str) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "radarr" / "download.json").read_text())
    payload["movieFile"] = {**payload["movieFile"], "path": media,
                            "relativePath": media.rsplit("/", 1)[1]}
    payload["movie"] = {**payload["movie"], "folderPath": media.rsplit("/", 1)[0]}
    payload["isUpgrade"], payload["deletedFiles"] = False, []
    return payload


def sonarr_import(files: list[str]) -> dict[str, Any]:
    """Sonarr's "On Import Complete": one webhook for a season pack's files."""
    payload = json.loads((FIXTURES / "sonarr" / "download-import-complete.json").read_text())
    template = payload["episodeFiles"][0]
    series = files[0].rsplit("/", 2)[0]
    payload["series"] = {**payload["series"], "path": series,
                         "title": series.rsplit("/", 1)[1]}
    payload["episodeFiles"] = [{**copy.deepcopy(template), "path": path,
                                "relativePath": path[len(series) + 1:]} for path in files]
    payload["episodes"] = [{**payload["episodes"][0], "episodeNumber": n, "seasonNumber": 1}
                           for n in range(1, len(files) + 1)]
    payload["fileCount"] = len(files)
    return payload
