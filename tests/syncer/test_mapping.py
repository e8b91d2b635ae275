"""Path mapping: longest whole-component prefix, arr or source paths, nothing escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrsync.settings import Mapping
from syncer.intake.plan import request_title
from syncer.paths.mapping import PathMapper, PathRefused

MAPPINGS = [
    Mapping(name="Movies 1080p", arr_path="/movies", source="/mnt/synology/rs-movies",
            dest="/mnt/unraid/media/Movies"),
    Mapping(name="Movies 4K", arr_path="/movies4k", source="/mnt/synology/rs-4kmedia/4kmovies",
            dest="/mnt/unraid/media/4K Movies"),
    Mapping(name="Kids", arr_path="/movies/kids", source="/mnt/synology/kids",
            dest="/mnt/unraid/media/Kids"),
    Mapping(name="TV 1080p", arr_path="/tv", source="/mnt/synology/rs-tv",
            dest="/mnt/unraid/media/TV Shows"),
]
mapper = PathMapper(MAPPINGS)


@pytest.mark.parametrize(
    ("path", "mapping", "dest"),
    [
        ("/movies/Dune (2021)/Dune.mkv", "Movies 1080p",
         "/mnt/unraid/media/Movies/Dune (2021)/Dune.mkv"),
        ("/movies4k/Dune (2021)", "Movies 4K", "/mnt/unraid/media/4K Movies/Dune (2021)"),
        ("/movies/kids/Up (2009)", "Kids", "/mnt/unraid/media/Kids/Up (2009)"),
        ("/movies/kidsstuff/x.mkv", "Movies 1080p", "/mnt/unraid/media/Movies/kidsstuff/x.mkv"),
        ("/mnt/synology/rs-movies/Dune (2021)", "Movies 1080p",
         "/mnt/unraid/media/Movies/Dune (2021)"),
        ("/mnt/synology/rs-4kmedia/4kmovies/Dune (2021)/", "Movies 4K",
         "/mnt/unraid/media/4K Movies/Dune (2021)"),
        ("//tv///Show/./Season 1/", "TV 1080p", "/mnt/unraid/media/TV Shows/Show/Season 1"),
        ("/tv", "TV 1080p", "/mnt/unraid/media/TV Shows"),
    ],
)
def test_paths_map_by_longest_whole_component_prefix(path: str, mapping: str,
                                                     dest: str) -> None:
    route = mapper.route(path)
    assert (route.mapping.name, route.dest) == (mapping, dest)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/movies/../etc/passwd", "'..'"),
        ("/movies/Dune/../../etc", "'..'"),
        ("/music/x.flac", "under no mapping"),
        ("/movies4kx/y", "under no mapping"),
        ("movies/Dune", "not an absolute path"),
        ("", "empty"),
        ("/movies/a\0b", "NUL"),
    ],
)
def test_bad_paths_are_refused_with_a_reason(path: str, reason: str) -> None:
    with pytest.raises(PathRefused, match=reason.replace("(", r"\(")):
        mapper.route(path)


def test_symlink_out_of_the_source_root_is_refused(tmp_path: Path) -> None:
    source, outside = tmp_path / "source", tmp_path / "secret"
    source.mkdir()
    outside.mkdir()
    (source / "escape").symlink_to(outside)
    (source / "inside").symlink_to(source)
    local = PathMapper([Mapping(name="m", arr_path="/m", source=str(source),
                                dest=str(tmp_path / "dest"))])
    with pytest.raises(PathRefused, match="symbolic link"):
        local.route("/m/escape/file.mkv")
    assert local.route("/m/inside/file.mkv").relative == "inside/file.mkv"


components = st.sampled_from(["movies", "movies4k", "kids", "tv", "..", ".", "", "a", "é b",
                              "-rf", "$(id)", "mnt", "synology", "rs-movies", "\n", "x y"])


@given(st.lists(components, max_size=8), st.booleans())
def test_no_path_maps_outside_its_destination_root(parts: list[str], absolute: bool) -> None:
    path = ("/" if absolute else "") + "/".join(parts)
    try:
        route = mapper.route(path)
    except PathRefused:
        return
    root = route.mapping.dest
    assert route.dest == root or route.dest.startswith(root + "/")
    assert os.path.normpath(route.dest) == route.dest
    assert ".." not in route.dest.split("/")


@pytest.mark.parametrize(("relative", "title"), [
    ("Chernobyl (2019)/Season 1", "Chernobyl (2019) Season 1"),
    ("Show/Specials", "Show Specials"),
    ("Dune (2021)", "Dune (2021)"),
    ("Dune (2021)/Dune.mkv", "Dune.mkv"),
    ("", "Movies"),
])
def test_a_manual_request_is_named_so_a_person_knows_it(relative: str, title: str) -> None:
    assert request_title(relative, "Movies") == title
