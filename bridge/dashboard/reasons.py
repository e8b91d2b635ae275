"""Reasons as the page shows them: short enough to read on a phone. The whole reason stays
in the element's title (and in `/api/status`).

- A path under a mapping's folder (its source, destination or the arr's path) is shown
  relative to that folder: the row already names the mapping.
- Any other long absolute path keeps its first folder and its last two parts, with `…`
  between them.
- A byte count ("734003200 bytes") is shown in human units ("734.0 MB").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from arrsync.units import human_size

BYTES = re.compile(r"\b(\d{4,}) bytes\b")
# An absolute path: from a slash at the start of the text or after a space, quote or
# parenthesis, up to a colon, comma or quote (names have spaces, so a space does not end it).
PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(]))/[^\s/:,'\"]+(?:/[^/:,'\"]+)+")
LONG_PATH = 40


class ReasonFormatter:
    def __init__(self, roots: Iterable[str]) -> None:
        # Longest first, so a folder inside another mapping's folder wins.
        self._roots = sorted({r.rstrip("/") for r in roots if r.strip("/")}, key=len,
                             reverse=True)

    def __call__(self, reason: str | None) -> str:
        if not reason:
            return ""
        text = BYTES.sub(lambda m: human_size(int(m[1])), reason)
        return PATH.sub(lambda m: self._path(m[0]), text)

    def _path(self, path: str) -> str:
        for root in self._roots:
            if path.startswith(root + "/"):
                return path[len(root) + 1:]
        parts = path.split("/")
        if len(path) <= LONG_PATH or len(parts) <= 4:
            return path
        return "/".join([*parts[:2], "…", *parts[-2:]])
