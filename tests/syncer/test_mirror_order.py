"""Jobs that touch the same item run one at a time, in the order their events arrived: an
upgrade or rename that comes while the item's first copy still runs waits for it, and the
destination ends as the last event says. Real bridge, broker and a slowed real rsync."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import MqttWatcher, publish_import
from tests.media import MediaTree, fixture
from tests.syncer.mirror_stack import Stack, post, upgrade
from tests.syncer.mirror_stack import stack as stack  # fixture
from tools.localbroker import LocalBroker

SLOW = {"workers": 2, "rsync_extra_args": ["--bwlimit=2m"]}  # a 6 MB copy takes seconds


def swap_in(path: Path, content: bytes) -> None:
    """What an arr does: the new file is moved into place under the name (a new inode)."""
    staged = path.with_name(".incoming")
    staged.write_bytes(content)
    os.replace(staged, path)


def order_of(watcher: MqttWatcher) -> list[tuple[str, str]]:
    return [(m.json()["trigger"], m.json()["state"]) for m in watcher.messages
            if m.topic.rsplit("/", 1)[1] in ("started", "succeeded", "skipped", "failed")]


def test_a_same_name_upgrade_during_the_first_copy_ends_with_the_upgrade(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload, new, _old = upgrade("radarr")
    payload["deletedFiles"][0]["path"] = new  # Radarr kept the name
    source = media.put(new, os.urandom(6_000_000))
    first_version = source.read_bytes()
    bridge = stack(**SLOW)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "first-import", [new], title="Film")
        watcher.wait_for("/sync/started")
        swap_in(source, b"the better release")  # a small file: its copy is quick
        upgrade_id = post(bridge, "radarr", payload)
        watcher.wait_for("/sync/succeeded", count=2, timeout=60)
    final = media.dest_of(new)
    assert final.read_bytes() == b"the better release"
    recycled = media.recycled(new)
    assert recycled.read_bytes() == first_version  # the first copy, moved aside whole
    assert recycled.stat().st_ino != final.stat().st_ino
    assert order_of(watcher) == [("first-import", "started"), ("first-import", "succeeded"),
                                 (upgrade_id, "started"), (upgrade_id, "succeeded")]


def test_a_rename_during_the_first_copy_ends_with_one_file_under_the_new_name(
    stack: Stack, broker: LocalBroker, media: MediaTree, base_topic: str,
) -> None:
    payload = fixture("radarr", "rename")
    renamed = payload["renamedMovieFiles"][0]
    old, new = renamed["previousPath"], renamed["path"]
    content = os.urandom(6_000_000)
    media.put(old, content)
    bridge = stack(**SLOW)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "first-import", [old], title="Film")
        watcher.wait_for("/sync/started")
        os.rename(media.source_of(old), media.source_of(new))  # the arr renames, then says so
        rename_id = post(bridge, "radarr", payload)
        watcher.wait_for("/sync/succeeded", count=2, timeout=60)
    assert media.dest_of(new).read_bytes() == content
    assert not media.dest_of(old).exists()
    folder = media.dest_of(new).parent
    assert sorted(p.name for p in folder.iterdir()) == [Path(new).name]
    assert order_of(watcher)[:2] == [("first-import", "started"), ("first-import", "succeeded")]
    assert (rename_id, "succeeded") in order_of(watcher)
