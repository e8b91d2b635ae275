"""The envelope carries what consumers need, so nobody past the bridge reads arr JSON."""

from __future__ import annotations

import json

import pytest

from arrsync.wire import Episode, EventKind, parse_envelope
from bridge.app import parse_webhook
from bridge.envelope import build_envelope_json
from tests.media import FIXTURES


def envelope_of(app: str, name: str):
    body = (FIXTURES / app / f"{name}.json").read_bytes()
    payload, text = parse_webhook(body)
    _event_id, envelope = build_envelope_json(app, payload, text)
    return parse_envelope(envelope), json.loads(body)


def test_a_sonarr_import_is_normalised() -> None:
    envelope, raw = envelope_of("sonarr", "download")
    assert envelope.kind is EventKind.IMPORT
    assert envelope.download_id == raw["downloadId"]
    assert envelope.series == raw["series"]["title"]
    assert envelope.episodes == [Episode(season=e["seasonNumber"], episode=e["episodeNumber"])
                                 for e in raw["episodes"]]
    assert [f.path for f in envelope.files] == [raw["episodeFile"]["path"]]
    assert envelope.payload == raw


@pytest.mark.parametrize(
    ("app", "name", "kind"),
    [("radarr", "download", EventKind.IMPORT), ("radarr", "test", EventKind.TEST),
     ("radarr", "grab", EventKind.OTHER), ("sonarr", "download-import-complete", EventKind.IMPORT)],
)
def test_the_kind_is_decided_at_the_edge(app: str, name: str, kind: EventKind) -> None:
    envelope, _raw = envelope_of(app, name)
    assert envelope.kind is kind
    assert (envelope.series is None) is (app != "sonarr")


@pytest.mark.parametrize(("event", "kind"), [("Download", EventKind.IMPORT),
                                              ("Test", EventKind.TEST), ("Grab", EventKind.OTHER)])
def test_envelopes_spooled_by_an_older_bridge_still_have_a_kind(event: str,
                                                                kind: EventKind) -> None:
    old = {"id": "x", "app": "radarr", "instance": None, "event": event,
           "received_at": "2026-01-01T00:00:00.000Z", "files": [], "payload": {}}
    assert parse_envelope(json.dumps(old)).kind is kind
