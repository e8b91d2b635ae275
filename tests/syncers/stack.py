"""Several named syncers on one real broker, each with its own store and mappings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import wait_until
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

StartNamed = Callable[..., SyncerService]


@pytest.fixture
def start_named(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
                base_topic: str, tmp_path: Path,
                start_syncer: Callable[[Settings], SyncerService]) -> StartNamed:
    """`start_named("movies", ["Movies 1080p"])`: a syncer of that name with those of the
    media tree's mappings (or `mappings=[...]` of its own)."""
    def start(name: str, mapping_names: list[str] | None = None, *,
              mappings: list[dict[str, Any]] | None = None, homeassistant_prefix: str = "",
              **syncer: Any) -> SyncerService:
        chosen = mappings or [media.mapping(m) for m in mapping_names or []]
        settings = syncer_settings(make_settings, broker, media, base_topic, name=name,
                                   mappings=chosen, client_id=f"{base_topic}-{name}",
                                   state_path=str(tmp_path / name / "syncer.db"), **syncer)
        if homeassistant_prefix:  # each test its own Home Assistant
            settings = settings.model_copy(update={"homeassistant": settings.homeassistant
                                                   .model_copy(update={"prefix":
                                                                       homeassistant_prefix})})
        return start_syncer(settings)
    return start


def knows(syncer: SyncerService, path: str, owner: str) -> None:
    """Wait until `syncer` has read that `owner` maps `path` (its retained announcement)."""
    wait_until(lambda: syncer.peers.mapped_by(path) == owner,
               message=f"{syncer.settings.syncer.name} to know that {owner} maps {path}")
