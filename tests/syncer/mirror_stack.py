"""Shared by the mirror tests: the bridge and a syncer with per-mapping policies, posting an
arr's webhook, and the arrs' upgrade and rename payloads.

A test module uses the `stack` fixture by importing it under its own name
(`from tests.syncer.mirror_stack import stack as stack`): pytest finds fixtures by name in
the test module."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import http, wait_until
from tests.media import MediaTree, fixture, syncer_settings
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

Stack = Callable[..., RunningBridge]
RECYCLE = {"on_delete": "recycle"}
EPISODE = "/tv/Chernobyl (2019)/Season 1/Chernobyl (2019) - S01E05 - Vichnaya Pamyat " \
          "[Bluray-1080p].mkv"


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> Stack:
    """The bridge and a syncer; `policy` goes into every mapping, the rest into `syncer`;
    `library`: the sources hold the rest of a library."""

    def build(policy: dict[str, Any] | None = None, *, library: bool = True,
              **syncer: Any) -> RunningBridge:
        mappings = [{**m, **(policy or {})} for m in media.mappings]
        if library:
            rest_of_the_library(mappings)
        settings = syncer_settings(make_settings, broker, media, base_topic,
                                   mappings=mappings, **syncer)
        start_syncer(settings)
        bridge = start_bridge(settings)
        wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
        return bridge

    return build


def post(bridge: RunningBridge, app: str, payload: dict[str, Any]) -> str:
    answer = http("POST", f"{bridge.url}/webhook/{app}", json.dumps(payload))
    assert answer.status == 200, answer.body
    return answer.json()["id"]


def upgrade(app: str) -> tuple[dict[str, Any], str, str]:
    """The arr's upgrade payload, the new file's path and the replaced one's."""
    payload = fixture(app, "download-upgrade")
    new = payload["movieFile" if app == "radarr" else "episodeFile"]["path"]
    return payload, new, payload["deletedFiles"][0]["path"]


def radarr_rename(media: MediaTree) -> tuple[dict[str, Any], dict[str, str], Path]:
    """Radarr's rename, with the film under its new name at the source and its copy under
    the old name at the destination; returns (payload, the renamed file, the copy)."""
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    media.put(renamed["path"], b"film")
    return payload, renamed, media.put_dest(renamed["previousPath"], b"film")


def rest_of_the_library(mappings: list[dict[str, Any]]) -> None:
    """A mounted share is not empty (an empty source root holds every removal)."""
    for mapping in mappings:
        (Path(mapping["source"]) / "Another Title (2001)").mkdir(exist_ok=True)


def episode_delete(path: str = EPISODE) -> dict[str, Any]:
    payload = fixture("sonarr", "episode-file-delete")
    payload["episodeFile"]["path"] = path
    return payload
