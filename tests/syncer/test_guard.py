"""The destination guard with real mounts: `require_mount` passes when the destination is on
a mounted share (one mount per share, or one mount above all of them) and holds every job
while the share is away and a bare folder is left on the root disk."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Mapping
from syncer.copying.guard import DestinationGuard, mount_of
from syncer.jobs.outcome import DestinationNotReady
from tests.helpers import MqttWatcher, publish_import, tmpfs_mounted
from tests.media import MediaTree
from tests.processes import Process
from tools.localbroker import LocalBroker

MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /mnt/unraid rw,relatime shared:9 - nfs4 192.168.1.20:/mnt/user rw,vers=4.2
41 27 0:51 / /mnt/synology/rs-4kmedia rw - nfs4 syno:/volume1/rs-4kmedia rw
42 40 0:52 / /mnt/unraid/media/4K\\040Movies rw - nfs4 192.168.1.20:/mnt/user/4k rw
43 27 254:0 /srv/bare /mnt/bind rw - ext4 /dev/vda rw
44 40 0:53 / /mnt/unraid rw - tmpfs over rw
"""
IN_A_CONTAINER = """\
600 500 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
610 600 254:0 /var/lib/docker/containers/abc/hostname /etc/hostname rw - ext4 /dev/vda rw
611 600 254:0 /mnt/unraid /mnt/unraid rw - ext4 /dev/vda rw
612 600 0:50 / /mnt/synology ro - nfs4 syno:/volume1 ro
"""


@pytest.mark.parametrize(("path", "point", "fstype", "is_root_fs"), [
    ("/mnt/unraid/media/Movies", "/mnt/unraid", "tmpfs", False),  # the last mount is on top
    ("/mnt/unraid/media/4K Movies/Dune", "/mnt/unraid/media/4K Movies", "nfs4", False),
    ("/mnt/unraid/media/4K Moviesque", "/mnt/unraid", "tmpfs", False),  # whole names only
    ("/mnt/synology/rs-4kmedia/4kmovies", "/mnt/synology/rs-4kmedia", "nfs4", False),
    ("/mnt/synology/rs-movies", "/", "ext4", True),
    ("/mnt/bind/Movies", "/mnt/bind", "ext4", True),  # a bind mount of the root disk
    # Docker: the syncer's bind of /mnt/unraid while the host's share was not mounted is a
    # folder on the host's disk, the disk that holds the container's /etc/hostname.
    ("container:/mnt/unraid/media/Movies", "/mnt/unraid", "ext4", True),
    ("container:/mnt/synology/rs-movies", "/mnt/synology", "nfs4", False),
    ("container:/opt/data", "/", "overlay", True),
])
def test_the_mount_at_or_above_a_path(tmp_path: Path, path: str, point: str, fstype: str,
                                      is_root_fs: bool) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(IN_A_CONTAINER if path.startswith("container:") else MOUNTINFO)
    path = path.removeprefix("container:")
    mount = mount_of(path, str(table))
    assert (mount.point, mount.fstype, mount.is_root_fs) == (point, fstype, is_root_fs)


def mapping(dest: Path, source: Path, require_mount: bool = True) -> Mapping:
    return Mapping(name="Movies", arr_path="/movies", source=str(source), dest=str(dest),
                   require_mount=require_mount)


def test_one_mount_above_every_destination_passes(tmp_path: Path) -> None:
    source = tmp_path / "synology" / "rs-movies"
    source.mkdir(parents=True)
    with tmpfs_mounted(tmp_path / "unraid") as unraid:
        dest = unraid / "media" / "Movies"
        dest.mkdir(parents=True)
        DestinationGuard().check(mapping(dest, source))
        mount = mount_of(str(dest))
        assert (mount.point, mount.fstype, mount.source) == (str(unraid), "tmpfs",
                                                             "arrsync-share")


def test_one_mount_per_share_passes_with_a_space_in_its_name(tmp_path: Path) -> None:
    source = tmp_path / "synology" / "rs-4kmedia" / "4kmovies"
    source.mkdir(parents=True)
    with tmpfs_mounted(tmp_path / "unraid" / "media" / "4K Movies") as dest:
        DestinationGuard().check(mapping(dest, source))
        mount = mount_of(str(dest))
        assert mount.point == str(dest) and not mount.is_root_fs


def test_a_bare_folder_left_while_the_share_is_away_is_refused(tmp_path: Path) -> None:
    assert mount_of(str(tmp_path)).is_root_fs, "this test needs its tmp folder on the root disk"
    source, dest = tmp_path / "synology" / "rs-movies", tmp_path / "unraid" / "media" / "Movies"
    source.mkdir(parents=True)
    dest.mkdir(parents=True)  # what an unmounted share leaves: an empty local folder
    with pytest.raises(DestinationNotReady) as refused:
        DestinationGuard().check(mapping(dest, source))
    assert str(refused.value) == (
        f"destination root {dest} is on the root filesystem ({mount_of(str(dest))}), not on "
        "a mounted share (require_mount: true); is the share mounted?")
    # Without require_mount the same folder is accepted: the guard is opt-in.
    DestinationGuard().check(mapping(dest, source, require_mount=False))


def test_jobs_wait_for_the_share_and_never_fill_the_bare_folder(
    broker: LocalBroker, write_config: Callable[..., Path],
    run_command: Callable[..., Process], media: MediaTree, base_topic: str,
) -> None:
    movies = dict(media.mapping("Movies 1080p"), require_mount=True)
    dest = Path(movies["dest"])
    unraid = dest.parent.parent  # one share mounted for the whole server, as at home
    config = write_config(broker, syncer={"mappings": [movies], "guard_interval": 0.2})
    movie = "/movies/Mounted (2020)/Mounted.mkv"
    media.put(movie, b"content")
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        syncer = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", timeout=20, where=lambda m: m.text == "online")
        publish_import(broker.port, base_topic, "m", [movie])
        held = watcher.wait_for("/sync/retrying")[0].json()
        assert "is on the root filesystem" in held["error"]
        assert held["attempt"] == 0  # holding does not spend attempts
        with tmpfs_mounted(unraid):
            dest.mkdir(parents=True)  # the share has its folders
            done = watcher.wait_for("/sync/succeeded", timeout=20)[0].json()
            assert (dest / "Mounted (2020)" / "Mounted.mkv").read_bytes() == b"content"
            assert len(watcher.on("/sync/retrying")) == 1  # one alert, not one per check
            assert done["attempt"] == 1
            assert syncer.signal(signal.SIGTERM) == 0
    assert list(dest.iterdir()) == [], "the copy landed in the bare folder on the root disk"
