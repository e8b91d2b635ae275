"""The other syncers on the broker: which are online, and which arr folders each maps.

Every syncer sees every event. An import under none of this syncer's mappings is not its
failure when an online syncer maps it (a syncer for movies beside one for TV); when no
online syncer maps it, exactly one reports it: the online syncer whose name sorts first
(the unnamed one before any name). Each syncer decides alone from the same retained
announcements, so no message is exchanged per event. Until the announcements have arrived
(the first moments after a start), a syncer knows only itself and reports what it does
not map, as a single syncer always did.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import paho.mqtt.client as paho
from pydantic import ValidationError

from arrsync.settings import Mapping
from arrsync.topics import Topics
from arrsync.units import is_within
from arrsync.wire.parse import WireError, describe, parse_json
from arrsync.wire.peers import MappedFolder, MappingsAnnouncement
from arrsync.wire.timestamps import utc_now_iso
from syncer.paths.mapping import PathRefused, normalise

log = logging.getLogger(__name__)

MAX_ANNOUNCEMENT = 256 * 1024  # bytes: a larger one is not a syncer's


@dataclass
class Peer:
    online: bool = False
    roots: tuple[str, ...] = ()  # arr paths and source paths it maps


def announcement(topics: Topics, mappings: list[Mapping]) -> str:
    return MappingsAnnouncement(
        syncer=topics.syncer, at=utc_now_iso(),
        mappings=[MappedFolder(name=m.name, arr_path=m.arr_path, source=m.source)
                  for m in mappings]).model_dump_json()


class Peers:
    """Fed on the network thread (`note`), read on the intake thread."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.me = topics.syncer or ""
        self._lock = threading.Lock()
        self._peers: dict[str, Peer] = {}

    @property
    def subscriptions(self) -> list[str]:
        """QoS 0: never queued for an offline durable session; retained ones come anew."""
        return self.topics.syncers_news

    def note(self, message: paho.MQTTMessage) -> bool:
        """Take `message` if it is another syncer's availability or mappings."""
        found = self.topics.syncer_topic(message.topic)
        if found is None or found.leaf not in ("availability", "mappings"):
            return False
        key = found.syncer or ""
        if key == self.me:
            return True
        payload = bytes(message.payload)
        with self._lock:
            peer = self._peers.setdefault(key, Peer())
            if found.leaf == "availability":
                peer.online = payload.strip() == b"online"
            else:
                peer.roots = self._roots(message.topic, payload)
        return True

    @staticmethod
    def _roots(topic: str, payload: bytes) -> tuple[str, ...]:
        if not payload:  # cleared: that syncer is gone
            return ()
        try:
            if len(payload) > MAX_ANNOUNCEMENT:
                raise WireError(f"is {len(payload)} bytes")
            told = MappingsAnnouncement.model_validate(parse_json(payload))
        except (WireError, ValidationError) as exc:
            log.warning("ignoring the mappings announced on %s: %s", topic, describe(exc))
            return ()
        return tuple(root for m in told.mappings for root in (m.arr_path, m.source))

    def mapped_by(self, path: str) -> str | None:
        """An online syncer (other than this one) whose mappings hold `path`: its name, or
        "(unnamed)"; None when none does."""
        try:
            clean = normalise(path)
        except PathRefused:
            return None
        with self._lock:
            for key, peer in sorted(self._peers.items()):
                if peer.online and any(is_within(clean, root) for root in peer.roots):
                    return key or "(unnamed)"
        return None

    def reporter(self) -> str:
        """The online syncer that reports imports nobody maps: the first name in order."""
        with self._lock:
            online = [key for key, peer in self._peers.items() if peer.online]
        return min([self.me, *online])

    def reports_unmapped(self) -> bool:
        return self.reporter() == self.me

    def alone(self) -> bool:
        """No other syncer is online: a request about a job this one does not have is
        nobody's, and this one says so."""
        with self._lock:
            return not any(peer.online for peer in self._peers.values())
