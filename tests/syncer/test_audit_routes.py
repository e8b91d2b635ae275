"""The audit's routes are `PathMapper.route`'s, taken folder by folder: the same answer for
every path of a tree with symbolic links in and out of the roots, nested mappings, source
paths, arrsync's own folders and odd spellings."""

from __future__ import annotations

import itertools
from pathlib import Path

from arrsync.settings.syncer import Mapping
from syncer.audit.routes import Routes
from syncer.paths.mapping import PathMapper, PathRefused, Route


def answer(route: object, path: str) -> Route | str:
    try:
        return route(path)  # type: ignore[operator,no-any-return]
    except PathRefused as exc:
        return f"refused: {exc}"


def test_every_route_is_the_mappers(tmp_path: Path) -> None:
    source, outside = tmp_path / "source", tmp_path / "outside"
    for folder in ("movies/Ran", "movies/4k/Alien", "movies/.arrsync-recycle/x", "tv/Dark/S1"):
        (source / folder).mkdir(parents=True)
    (outside / "Secret").mkdir(parents=True)
    (outside / "secret.mkv").write_bytes(b"x")
    (source / "movies" / "Ran" / "Ran.mkv").write_bytes(b"x")
    (source / "movies" / "Out").symlink_to(outside / "Secret")            # a folder out
    (source / "movies" / "Ran" / "out.mkv").symlink_to(outside / "secret.mkv")  # a file out
    (source / "movies" / "Ran" / "in.mkv").symlink_to(source / "movies" / "Ran" / "Ran.mkv")
    (source / "movies" / "Back").symlink_to(source / "tv" / "Dark")       # in, elsewhere
    mapper = PathMapper([
        Mapping(name="Movies", arr_path="/movies", source=str(source / "movies"),
                dest=str(tmp_path / "dest" / "movies")),
        Mapping(name="Movies 4K", arr_path="/movies/4k", source=str(source / "movies" / "4k"),
                dest=str(tmp_path / "dest" / "4k")),
        Mapping(name="TV", arr_path="/data/tv", source=str(source / "tv"),
                dest=str(tmp_path / "dest" / "tv")),
    ], (".arrsync-recycle",))
    folders = ["/movies", "/movies/Ran", "/movies/4k", "/movies/4k/Alien", "/movies/Out",
               "/movies/Back", "/movies/.arrsync-recycle", "/movies/.arrsync-recycle/x",
               "/data/tv/Dark/S1", "/data", "/archive/Old", f"{source}/movies/Ran",
               f"{source}/tv/Dark", "/movies//Ran/.", "/movies/../etc"]
    names = ["Ran.mkv", "out.mkv", "in.mkv", "new.mkv", "4k", ".arrsync-recycle", "S1"]
    paths = [f"{folder}/{name}" for folder, name in itertools.product(folders, names)]
    paths += ["relative/path.mkv", "", "/movies/4k"]
    routes = Routes(mapper)
    for _round in range(2):  # from an empty cache and from a full one
        for path in paths:
            assert answer(routes.route, path) == answer(mapper.route, path), path
    refused = [p for p in paths if isinstance(answer(routes.route, p), str)]
    assert "/movies/Out/new.mkv" in refused and "/movies/Ran/out.mkv" in refused
    assert answer(routes.route, "/movies/4k/Alien/new.mkv").mapping.name == "Movies 4K"  # type: ignore[union-attr]
