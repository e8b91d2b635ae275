"""Renames, with the arrs' real payloads through the real bridge, broker and rsync: the
destination follows the arr without copying data (same inode), a taken name or on_rename:
keep leaves things be, a half-done rename is finished, and a dry run only reports."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import MqttWatcher, http
from tests.media import MediaTree, fixture
from tests.syncer.mirror_stack import Stack, post, radarr_rename, upgrade
from tests.syncer.mirror_stack import stack as stack  # fixture
from tools.localbroker import LocalBroker


def test_radarr_rename_renames_the_copy_and_its_sidecars_without_copying(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    old, new = renamed["previousPath"], renamed["path"]
    media.put(new, b"the film")
    media.put(new.replace(".mkv", ".en.srt"), b"subtitle")
    copy = media.put_dest(old, b"the film")
    subtitle = media.put_dest(old.replace(".mkv", ".en.srt"), b"subtitle")
    inodes = copy.stat().st_ino, subtitle.stat().st_ino
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert (done["action"], done["bytes"]) == ("rename", 0)
    assert not copy.exists() and not subtitle.exists()
    assert media.dest_of(new).stat().st_ino == inodes[0]  # the same file: no data copied
    assert media.dest_of(new.replace(".mkv", ".en.srt")).stat().st_ino == inodes[1]
    assert [(m["from_path"], m["to_path"]) for m in done["moved"]] == [
        (str(copy), str(media.dest_of(new))),
        (str(subtitle), str(media.dest_of(new.replace(".mkv", ".en.srt"))))]


def test_sonarr_rename_renames_what_is_there_and_copies_what_never_was(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("sonarr", "rename")
    (first, second) = payload["renamedEpisodeFiles"]
    for renamed in (first, second):
        media.put(renamed["path"], renamed["path"].encode())
    present = media.put_dest(first["previousPath"], first["path"].encode())
    inode = present.stat().st_ino
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert done["action"] == "rename"
    assert media.dest_of(first["path"]).stat().st_ino == inode
    assert not present.exists()
    copied = media.dest_of(second["path"])
    assert copied.read_bytes() == second["path"].encode()
    assert done["bytes"] == copied.stat().st_size  # only the missing one was copied
    assert not media.dest_of(second["previousPath"]).exists()


def test_rename_onto_a_name_that_is_taken_leaves_both_and_says_so(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, renamed, old = radarr_rename(media)
    taken = media.put_dest(renamed["path"], b"something else")
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        failed = watcher.wait_for("/sync/failed")[0].json()
    assert "left both names" in failed["error"]
    assert (old.read_bytes(), taken.read_bytes()) == (b"film", b"something else")


def test_rename_with_on_rename_keep_does_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, renamed, old = radarr_rename(media)
    bridge = stack({"on_rename": "keep"})
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        http("POST", f"{bridge.url}/test")  # handled after the rename
        watcher.wait_for("/sync/test")
        assert [m.topic.rsplit("/", 1)[1] for m in watcher.messages] == ["test"]
    assert old.read_bytes() == b"film"
    assert not media.dest_of(renamed["path"]).exists()


def test_dry_run_rename_and_upgrade_report_and_change_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    rename, renamed, old = radarr_rename(media)
    payload, new, replaced = upgrade("sonarr")
    media.put(new, b"bluray")
    replaced_copy = media.put_dest(replaced, b"hdtv")
    bridge = stack(dry_run=True)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", rename)
        post(bridge, "sonarr", payload)
        done = {m.json()["action"]: m.json() for m in watcher.wait_for("/sync/succeeded", 2)}
    assert done["rename"]["dry_run"] and done["replace"]["dry_run"]
    assert done["rename"]["moved"][0]["to_path"] == str(media.dest_of(renamed["path"]))
    assert done["replace"]["moved"][0]["to_path"] == str(media.recycled(replaced))
    assert any(name.endswith(Path(new).name) for name in done["replace"]["would_copy"])
    assert old.read_bytes() == b"film" and replaced_copy.read_bytes() == b"hdtv"
    assert not media.dest_of(renamed["path"]).exists() and not media.dest_of(new).exists()
    assert not media.recycled(replaced).exists()


def test_a_rename_half_done_by_a_crash_is_finished_with_one_name(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, renamed, old = radarr_rename(media)
    new = media.dest_of(renamed["path"])
    os.link(old, new)  # the state a crash between link(2) and unlink(2) leaves
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        done = watcher.wait_for("/sync/succeeded")[0].json()
    assert done["action"] == "rename"
    assert not old.exists()
    assert new.read_bytes() == b"film" and new.stat().st_nlink == 1
