"""From history records of imports to events, built as the webhook of the same import would be.

Sonarr writes one record per episode, so the records of one file become one event with all
its episodes. The event id comes from the arr and the record id: a replay repeated after a
crash carries the same id, and the syncer ignores the repeat.
"""

from __future__ import annotations

import json
import uuid

from arrsync.arrs.client import HistoryImport
from arrsync.settings import ArrInstance
from arrsync.topics import Topics
from bridge.outbox.spool import SpooledEvent
from bridge.webhooks.arr import ArrPayload, Episode, MediaFile, Movie, Series
from bridge.webhooks.envelope import build_envelope_json

REPLAY_NAMESPACE = uuid.UUID("5b8f0c1e-4a53-4f0e-9a57-2f1d3c0b7a11")
GROUP_WINDOW_S = 60  # records of one file further apart than this are separate imports
MAX_OPEN = 1000  # files whose records may still come, at most



class FileGroups:
    """Records grouped by imported file as they stream in, oldest first: a file's group is
    handed on once the history has moved `GROUP_WINDOW_S` past its last record (an arr
    writes the records of one import together), or when `MAX_OPEN` files are waiting, so a
    long history is never held whole."""

    def __init__(self) -> None:
        self._open: dict[str, list[HistoryImport]] = {}  # by path, oldest first

    def add(self, record: HistoryImport) -> list[list[HistoryImport]]:
        """Take one record; return the groups now complete, oldest first."""
        group = self._open.pop(record.imported_path, [])
        group.append(record)
        self._open[record.imported_path] = group  # now the newest
        done = []
        for path, waiting in list(self._open.items()):
            late = (record.date - waiting[-1].date).total_seconds() > GROUP_WINDOW_S
            if not late and len(self._open) <= MAX_OPEN:
                break
            done.append(self._open.pop(path))
        return done

    def rest(self) -> list[list[HistoryImport]]:
        """The groups still open, at the end of the history."""
        done, self._open = list(self._open.values()), {}
        return done


def replay_id(arr: ArrInstance, record: HistoryImport) -> str:
    return uuid.uuid5(REPLAY_NAMESPACE, f"{arr.name}\0{arr.url}\0{record.id}").hex


def as_webhook(arr: ArrInstance, group: list[HistoryImport]) -> ArrPayload:
    """What the arr's Download webhook would have said about this file."""
    first = group[0]
    file = MediaFile(path=first.imported_path, size=first.size)
    if arr.app == "radarr":
        movie = Movie(title=first.movie_title, year=first.year) if first.movie_title else None
        return ArrPayload(event_type="Download", instance_name=arr.name, movie=movie,
                          movie_file=file, download_id=first.download_id)
    episodes = [Episode(season_number=r.season, episode_number=r.episode) for r in group
                if r.season is not None and r.episode is not None]
    series = Series(title=first.series_title) if first.series_title else None
    return ArrPayload(event_type="Download", instance_name=arr.name, series=series,
                      episodes=episodes, episode_file=file, download_id=first.download_id)


def replayed_event(arr: ArrInstance, group: list[HistoryImport], topics: Topics) -> SpooledEvent:
    """The event for one file; its payload is the (first) history record."""
    payload = as_webhook(arr, group)
    event_id, body = build_envelope_json(arr.app, payload, json.dumps(group[0].record),
                                         event_id=replay_id(arr, group[0]), replayed=True)
    return SpooledEvent(event_id, topics.event(arr.app, payload.event_type), body)
