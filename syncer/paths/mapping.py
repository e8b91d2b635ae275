"""Path mapping: arr path → source path → destination path, refusing anything that escapes.

A path matches a mapping when the mapping's `arr_path` (or `source`) is a whole-component
prefix of it, so `/movies4k/x` never matches `/movies`. The longest prefix wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from arrsync.limits import quote
from arrsync.settings import Mapping
from arrsync.units import join_below, real_inside, relative_below


class PathRefused(Exception):
    """The path cannot be synced; the message says why, for a person."""


class Unmapped(PathRefused):
    """The path is under none of this syncer's mappings (another syncer's, perhaps)."""


@dataclass(frozen=True)
class Route:
    mapping: Mapping
    relative: str  # below the mapping root, "" for the root itself; never contains ".."

    @property
    def arr_path(self) -> str:
        return join_below(self.mapping.arr_path, self.relative)

    @property
    def source(self) -> str:
        return join_below(self.mapping.source, self.relative)

    @property
    def dest(self) -> str:
        return join_below(self.mapping.dest, self.relative)


def normalise(path: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise PathRefused("the path is empty")
    if "\0" in path:
        raise PathRefused("the path contains a NUL character")
    if not path.startswith("/"):
        raise PathRefused(f"{quote(path)} is not an absolute path")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathRefused(f"{quote(path)} contains '..'; paths must not climb out of their folder")
    return "/" + "/".join(parts)


class PathMapper:
    def __init__(self, mappings: list[Mapping], reserved: tuple[str, ...] = ()) -> None:
        """`reserved`: folder names below a root that are arrsync's own (the recycle bin)."""
        self.mappings = mappings
        self.reserved = reserved
        self._by_arr = sorted(mappings, key=lambda m: len(m.arr_path), reverse=True)
        self._by_source = sorted(mappings, key=lambda m: len(m.source), reverse=True)

    def route(self, path: str) -> Route:
        """Map an arr path or a source path; raise PathRefused with the reason."""
        clean = normalise(path)
        for mapping in self._by_arr:
            relative = relative_below(clean, mapping.arr_path)
            if relative is not None:
                return self._checked(Route(mapping, relative))
        for mapping in self._by_source:
            relative = relative_below(clean, mapping.source)
            if relative is not None:
                return self._checked(Route(mapping, relative))
        known = ", ".join(m.arr_path for m in self.mappings) or "none configured"
        raise Unmapped(f"{quote(clean)} is under no mapping (arr paths: {known})")

    def _checked(self, route: Route) -> Route:
        """Refuse arrsync's own folders and a source that leaves its root through a symlink."""
        top = route.relative.split("/", 1)[0]
        if top in self.reserved:
            raise PathRefused(
                f"{route.arr_path!r} is inside arrsync's own folder {top!r} (the recycle bin); "
                "it is never synced"
            )
        if not real_inside(route.source, route.mapping.source):
            raise PathRefused(
                f"{quote(route.source)} leads outside the source root {route.mapping.source!r} "
                "through a symbolic link"
            )
        return route
