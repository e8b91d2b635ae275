"""The envelope carries what consumers need, so nobody past the bridge reads arr JSON."""

from __future__ import annotations

import json

import pytest

from arrsync.wire.event import Episode, EventKind, parse_envelope
from bridge.web.app import parse_webhook
from bridge.webhooks.envelope import build_envelope_json
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


@pytest.mark.parametrize(("app", "name", "kind"), [
    ("radarr", "rename", EventKind.RENAME), ("sonarr", "rename", EventKind.RENAME),
    ("lidarr", "rename", EventKind.RENAME), ("readarr", "rename", EventKind.RENAME),
    ("radarr", "movie-file-delete", EventKind.FILE_DELETE),
    ("sonarr", "episode-file-delete", EventKind.FILE_DELETE),
    ("radarr", "movie-delete", EventKind.FOLDER_DELETE),
    ("sonarr", "series-delete", EventKind.FOLDER_DELETE),
    ("lidarr", "artist-delete", EventKind.OTHER),
])
def test_renames_and_deletes_are_normalised(app: str, name: str, kind: EventKind) -> None:
    envelope, raw = envelope_of(app, name)
    assert envelope.kind is kind
    assert not envelope.files
    renamed = next((v for k, v in raw.items() if k.startswith("renamed")), [])
    assert [(f.previous_path, f.path) for f in envelope.renamed_files] == [
        (f["previousPath"], f["path"]) for f in renamed]
    file = raw.get("movieFile") or raw.get("episodeFile")
    if kind is EventKind.FILE_DELETE:
        assert [f.path for f in envelope.deleted_files] == [file["path"]]
        assert envelope.delete_reason == raw["deleteReason"] == "manual"
    else:
        assert envelope.deleted_files == [] and envelope.delete_reason is None
    folder = (raw.get("movie") or {}).get("folderPath") or (raw.get("series") or {}).get("path")
    assert envelope.deleted_folder == (folder if kind is EventKind.FOLDER_DELETE else None)


def test_a_delete_that_kept_the_files_is_not_a_folder_delete() -> None:
    body = json.loads((FIXTURES / "radarr" / "movie-delete.json").read_text())
    body["deletedFiles"] = False
    payload, text = parse_webhook(json.dumps(body).encode())
    envelope = parse_envelope(build_envelope_json("radarr", payload, text)[1])
    assert (envelope.kind, envelope.deleted_folder) == (EventKind.OTHER, None)


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_an_upgrade_says_what_it_replaced(app: str) -> None:
    envelope, raw = envelope_of(app, "download-upgrade")
    assert envelope.kind is EventKind.IMPORT and envelope.is_upgrade is True
    assert [(f.path, f.size) for f in envelope.replaced_files] == [
        (f["path"], f["size"]) for f in raw["deletedFiles"]]
    plain, _raw = envelope_of(app, "download")
    assert plain.replaced_files == [] and plain.is_upgrade is False
