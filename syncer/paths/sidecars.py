"""Sidecars: the files beside a media file that belong to it (subtitles, .nfo, artwork).

A sidecar is named after its media file and has a sidecar's extension: `Film.nfo`,
`Film.en.forced.srt`, `Film-poster.jpg`. A file that merely starts with the same letters is
not one: `It.Follows.2014.mkv` is a film of its own, not a part of `It.mkv`, and so is
`It.Follows.2014.nfo` when `It.Follows.2014.mkv` sits beside it: a sidecar belongs to the
media file with the longest name that it starts with.
"""

from __future__ import annotations

import os
import stat

SIDECAR_EXTENSIONS = frozenset({
    # subtitles
    ".srt", ".ass", ".ssa", ".sub", ".idx", ".sup", ".vtt", ".smi", ".ttml", ".usf",
    # metadata and artwork (Kodi, Jellyfin, Emby, Plex local assets)
    ".nfo", ".jpg", ".jpeg", ".png", ".webp", ".tbn",
    # edit lists, lyrics, cue sheets
    ".edl", ".lrc", ".cue",
})
MEDIA_EXTENSIONS = frozenset({
    ".mkv", ".mp4", ".m4v", ".avi", ".mov", ".wmv", ".ts", ".m2ts", ".webm", ".mpg", ".mpeg",
    ".iso", ".flv", ".flac", ".mp3", ".m4a", ".m4b", ".ogg", ".opus", ".wav", ".aac", ".ape",
    ".wv", ".epub", ".mobi", ".azw3", ".pdf",
})


def _stem(name: str) -> str:
    return os.path.splitext(name)[0]


def _named_after(name: str, stem: str) -> bool:
    return name.startswith((stem + ".", stem + "-"))


def sidecars_of(media: str) -> list[str]:
    """The names of the sidecars beside the file `media` (a path), sorted."""
    folder, name = os.path.split(media)
    stem = _stem(name)
    try:
        siblings = os.listdir(folder)
    except OSError:
        return []
    others = [_stem(s) for s in siblings
              if s != name and os.path.splitext(s)[1].lower() in MEDIA_EXTENSIONS]
    found = []
    for sibling in siblings:
        if sibling == name or not _named_after(sibling, stem):
            continue
        if os.path.splitext(sibling)[1].lower() not in SIDECAR_EXTENSIONS:
            continue
        if any(len(other) > len(stem) and _named_after(sibling, other) for other in others):
            continue  # it belongs to a media file with a longer name
        try:
            if stat.S_ISREG(os.lstat(os.path.join(folder, sibling)).st_mode):
                found.append(sibling)
        except OSError:
            continue
    return sorted(found)
