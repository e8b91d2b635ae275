"""One size formatter, one duration formatter, one whole-path prefix check."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrsync.units import (
    ancestors,
    human_duration,
    human_size,
    is_within,
    real_inside,
    relative_below,
)


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1 KB"), (3_000_000, "3.0 MB"),
     (14_600_000_000, "14.6 GB"), (2 * 10**15, "2000.0 TB")],
)
def test_sizes_count_in_decimal_units(count: int, text: str) -> None:
    assert human_size(count) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.25, "0.2s"), (42, "42s"), (133, "2m13s"), (7322, "2h02m")]
)
def test_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("path", "root", "relative"),
    [
        ("/movies", "/movies", ""),
        ("/movies/Dune (2021)/x.mkv", "/movies", "Dune (2021)/x.mkv"),
        ("/movies/a", "/movies/", "a"),
        ("/movies4k/x", "/movies", None),
        ("/movie", "/movies", None),
        ("/tv/x", "/", "tv/x"),
    ],
)
def test_whole_component_prefixes(path: str, root: str, relative: str | None) -> None:
    assert relative_below(path, root) == relative
    assert is_within(path, root) is (relative is not None)


def test_ancestors_walk_up_to_the_root() -> None:
    assert ancestors("a/b/c.mkv") == ["a/b/c.mkv", "a/b", "a", ""]
    assert ancestors("a") == ["a", ""]
    assert ancestors("") == [""]


def test_real_inside_follows_links(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "in").mkdir(parents=True)
    outside.mkdir()
    (root / "away").symlink_to(outside)
    assert real_inside(str(root / "in" / "x.mkv"), str(root))
    assert real_inside(str(root), str(root))
    assert not real_inside(str(root / "away" / "x.mkv"), str(root))
