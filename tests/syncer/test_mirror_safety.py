"""A mirror that never destroys what it keeps: every removal and rename at the destination
is checked at the moment it would happen, and a check that fails holds the job for a person
with the reason. Each case leaves every destination file, and every folder outside the
destination, untouched. Real bridge, broker, rsync and files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher
from tests.media import MediaTree, fixture, syncer_settings
from tests.syncer.mirror_stack import EPISODE, RECYCLE, Stack, episode_delete, post, upgrade
from tests.syncer.mirror_stack import stack as stack  # fixture
from tools.localbroker import LocalBroker


def on_hold(watcher: MqttWatcher) -> dict[str, Any]:
    held: dict[str, Any] = watcher.wait_for(
        "/sync/retrying", where=lambda m: m.json()["on_hold"])[0].json()
    return held


def test_an_upgrade_that_names_another_movies_file_removes_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, _old = upgrade("radarr")
    other = "/movies/Heat (1995)/Heat (1995) Bluray-1080p.mkv"
    payload["deletedFiles"][0]["path"] = other  # a buggy or forged event
    media.put(new, b"new release")
    media.put(other, b"heat")  # the other movie is still in the library
    heat = media.put_dest(other, b"heat")
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        held = on_hold(watcher)
    assert held["action"] == "replace"
    assert "not in the folder of its new file" in held["error"]
    assert heat.read_bytes() == b"heat"
    assert not media.recycle_bin(other).exists()


def test_a_rename_the_source_does_not_agree_with_moves_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    media.put(renamed["previousPath"], b"film")  # the source still has the old name
    media.put(renamed["path"], b"film")
    copy = media.put_dest(renamed["previousPath"], b"film")
    bridge = stack()
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "radarr", payload)
        held = on_hold(watcher)
    assert held["action"] == "rename"
    assert "still has" in held["error"] and "under its old name" in held["error"]
    assert copy.read_bytes() == b"film"
    assert not media.dest_of(renamed["path"]).exists()


def test_a_delete_while_the_source_share_is_not_mounted_removes_nothing(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    copy = media.put_dest(EPISODE, b"episode")  # the source root is an empty mount point
    bridge = stack(RECYCLE, library=False)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        held = on_hold(watcher)
    assert held["action"] == "recycle"
    assert "is empty: is the share mounted?" in held["error"]
    assert copy.read_bytes() == b"episode"
    assert not media.recycle_bin(EPISODE).exists()


def test_a_recycle_bin_that_is_a_link_is_never_emptied(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Callable[[Settings], SyncerService], tmp_path: Path,
) -> None:
    old = time.strftime("%Y-%m-%d", time.localtime(time.time() - 60 * 86400))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / old / "Family photos").mkdir(parents=True)
    (elsewhere / old / "Family photos" / "2019.jpg").write_bytes(b"photo")
    movies_bin = media.recycle_bin("/movies/x")
    movies_bin.parent.mkdir(parents=True, exist_ok=True)
    movies_bin.symlink_to(elsewhere)
    tv_bin = media.recycle_bin("/tv/x")
    (tv_bin / old).parent.mkdir(parents=True)
    (tv_bin / old).symlink_to(elsewhere / old)  # a day folder that is a link
    settings = syncer_settings(make_settings, broker, media, base_topic, recycle_days=30)
    with MqttWatcher(broker.port, [f"{base_topic}/syncer/alert"]) as watcher:
        start_syncer(settings)  # it empties the bins at start
        alerts = watcher.wait_for("/syncer/alert", count=2)
    messages = [m.json()["message"] for m in alerts]
    assert all(m.json()["problem"] == "recycle_bin" for m in alerts)
    assert any(str(movies_bin) in message and "nothing was removed" in message
               for message in messages)
    assert any(str(tv_bin / old) in message for message in messages)
    assert (elsewhere / old / "Family photos" / "2019.jpg").read_bytes() == b"photo"
    assert (tv_bin / old).is_symlink()


def test_a_file_the_source_still_has_is_not_recycled(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    media.put(EPISODE, b"still here")
    copy = media.put_dest(EPISODE, b"still here")
    bridge = stack(RECYCLE, max_attempts=2)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        failed = watcher.wait_for("/sync/failed")[0].json()
    assert "the source still has" in failed["error"]
    assert copy.read_bytes() == b"still here"



def test_a_folder_that_became_a_link_out_of_the_destination_is_not_touched(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
    tmp_path: Path,
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / Path(EPISODE).name).write_bytes(b"not arrsync's")
    season = media.dest_of(str(Path(EPISODE).parent))
    season.parent.mkdir(parents=True)
    season.symlink_to(outside)
    bridge = stack(RECYCLE)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        post(bridge, "sonarr", episode_delete())
        failed = watcher.wait_for("/sync/failed")[0].json()
    assert "leads outside the destination root" in failed["error"]
    assert (outside / Path(EPISODE).name).read_bytes() == b"not arrsync's"

