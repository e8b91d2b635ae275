"""A media tree like the real home (arrsync.example.yml), and the settings a syncer test
needs for it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrsync.settings import Settings
from tools.localbroker import LocalBroker

FIXTURES = Path(__file__).parent / "fixtures"


MEDIA_ROOTS = {
    "Movies 1080p": ("/movies", "synology/rs-movies", "unraid/media/Movies"),
    "Movies 4K": ("/movies4k", "synology/rs-4kmedia/4kmovies", "unraid/media/4K Movies"),
    "TV 1080p": ("/tv", "synology/rs-tv", "unraid/media/TV Shows"),
    "TV 4K": ("/tv4k", "synology/rs-4kmedia/4ktv", "unraid/media/4K TV Shows"),
    "Music": ("/music", "synology/music", "unraid/media/Music"),
    "Books": ("/books", "synology/books", "unraid/media/Books"),
    "Whisparr": ("/whisparr", "synology/whisparr", "unraid/media/Whisparr"),
    "Whisparr Movies": ("/whisparr-movies", "synology/whisparr-movies",
                        "unraid/media/Whisparr Movies"),
}


class MediaTree:
    """Source and destination folders like the real layout, one mapping per arr root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mappings = []
        for name, (arr_path, source, dest) in MEDIA_ROOTS.items():
            (root / source).mkdir(parents=True)
            (root / dest).mkdir(parents=True)
            self.mappings.append({"name": name, "arr_path": arr_path,
                                  "source": str(root / source), "dest": str(root / dest)})

    def mapping(self, name: str) -> dict[str, Any]:
        return next(m for m in self.mappings if m["name"] == name)

    def _locate(self, arr_path: str, side: str) -> Path:
        best = self._mapping_of(arr_path)
        return Path(best[side] + arr_path[len(best["arr_path"]):])

    def source_of(self, arr_path: str) -> Path:
        return self._locate(arr_path, "source")

    def dest_of(self, arr_path: str) -> Path:
        return self._locate(arr_path, "dest")

    def put(self, arr_path: str, content: bytes | None = None, size: int = 4096) -> Path:
        """Create the source file the arr path points at; returns its source path."""
        path = self.source_of(arr_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if content is not None else os.urandom(size))
        return path

    def put_dest(self, arr_path: str, content: bytes) -> Path:
        """A copy already at the destination (synced before); returns its path."""
        path = self.dest_of(arr_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def recycle_bin(self, arr_path: str, recycle_dir: str = ".arrsync-recycle") -> Path:
        """The recycle bin of the destination `arr_path` maps to."""
        return Path(self._mapping_of(arr_path)["dest"], recycle_dir)

    def recycled(self, arr_path: str, recycle_dir: str = ".arrsync-recycle") -> Path:
        """Where the destination copy of `arr_path` goes in the recycle bin today."""
        relative = arr_path[len(self._mapping_of(arr_path)["arr_path"]) + 1:]
        return self.recycle_bin(arr_path, recycle_dir) / time.strftime("%Y-%m-%d") / relative

    def _mapping_of(self, arr_path: str) -> dict[str, Any]:
        return max((m for m in self.mappings
                    if arr_path == m["arr_path"] or arr_path.startswith(m["arr_path"] + "/")),
                   key=lambda m: len(m["arr_path"]))


def fixture(app: str, name: str) -> dict[str, Any]:
    """An arr's webhook payload as the arr sends it (tests/fixtures/<app>/<name>.json)."""
    return json.loads((FIXTURES / app / f"{name}.json").read_text())


def syncer_settings(make_settings: Callable[..., Settings], broker: LocalBroker,
                    media: MediaTree, base_topic: str, **syncer: Any) -> Settings:
    values = {"mappings": media.mappings, "retry_delay": 0.05, "guard_interval": 0.1,
              "free_space_margin": 0, "client_id": f"{base_topic}-syncer", **syncer}
    return make_settings(broker, syncer=values)
