"""The audit's routes: `PathMapper.route` for every file of a library, at the cost of a
listing rather than of resolving each path.

`route` resolves every symbolic link of the source path to keep it inside its root: a dozen
system calls and some Python for each of 150,000 files, the largest part of an audit. The
files of a library share their folders, so a folder's route is taken once and a file's is
derived from it: the same mapping, its name added, provided the file is no symbolic link
(one `lstat`, or one listing for the files of a folder), its name is not one of arrsync's
own folders and no mapping root lies at or below it (the longest root wins). Anything else
asks `route` itself, so the answer is always the one `route` gives.
"""

from __future__ import annotations

import os
import posixpath

from arrsync.units import ancestors
from syncer.paths.mapping import PathMapper, PathRefused, Route, normalise


class Routes:
    def __init__(self, mapper: PathMapper) -> None:
        self.mapper = mapper
        self._folders: dict[str, Route | None] = {}  # None: the folder's route was refused
        self._links: dict[str, set[str]] = {}  # source folder → its symbolic links' names
        self._asked: set[str] = set()  # source folders asked about once (one lstat)
        # Every mapping root and the folders above it: a path among them may change mapping.
        self._roots = {"/" + folder for m in mapper.mappings for root in (m.arr_path, m.source)
                       for folder in ancestors(normalise(root).lstrip("/"))}

    def route(self, path: str) -> Route:
        """What `PathMapper.route(path)` returns (PathRefused as it raises it)."""
        clean = normalise(path)
        folder, name = posixpath.split(clean)
        derived = self._below(folder, name)
        return derived if derived is not None else self.mapper.route(clean)

    def _below(self, folder: str, name: str) -> Route | None:
        """The route of `folder`/`name` from the folder's, or None to ask the mapper."""
        child = posixpath.join(folder, name)
        if child in self._roots or name in self.mapper.reserved:
            return None
        parent = self._folder(folder)
        if parent is None:
            return None
        route = Route(parent.mapping, posixpath.join(parent.relative, name))
        return None if self._is_link(route.source) else route

    def _is_link(self, path: str) -> bool:
        """`os.path.islink(path)`: the first time for its folder one `lstat`, then from one
        listing of the folder (a season of 20 episodes: 2 system calls, not 20)."""
        folder, name = posixpath.split(path)
        links = self._links.get(folder)
        if links is None:
            if folder not in self._asked:
                self._asked.add(folder)
                return os.path.islink(path)
            try:
                with os.scandir(folder) as listing:
                    links = {entry.name for entry in listing if entry.is_symlink()}
            except (FileNotFoundError, NotADirectoryError):
                links = set()  # no folder: nothing in it is a link
            except OSError:
                return os.path.islink(path)
            if len(self._links) > 10_000:
                self._links.clear()
                self._asked.clear()
            self._links[folder] = links
        return name in links

    def _folder(self, folder: str) -> Route | None:
        if folder not in self._folders:
            if len(self._folders) > 10_000:  # a library is read folder by folder: keep few
                self._folders.clear()
            parent, name = posixpath.split(folder)
            found = self._below(parent, name) if name else None
            if found is None:
                try:
                    found = self.mapper.route(folder)
                except PathRefused:
                    found = None
            self._folders[folder] = found
        return self._folders[folder]
