"""Nothing outside a mapping is ever copied, checked when the copy happens: links made after
the request, folders swapped for links, links and special files inside a copied folder.
Also what is copied beside a file (real sidecars), and names that cannot be found as sent.
Real broker, real rsync, real files."""

from __future__ import annotations

import os
import stat
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import
from tests.media import MediaTree, syncer_settings
from tools.localbroker import LocalBroker

Start = Callable[[Settings], SyncerService]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
             base_topic: str) -> Settings:
    return syncer_settings(make_settings, broker, media, base_topic, retry_delay=0.2)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every mapping, with something nobody must copy."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"outside secret")
    (folder / "Film.mkv").write_bytes(b"outside film")
    return folder


def everything_at(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_requested_path_created_later_as_a_link_to_outside_is_refused(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, outside: Path,
) -> None:
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/Later (2024)")
        watcher.wait_for("/retrying")  # not there yet: accepted, waits
        media.source_of("/movies/Later (2024)").symlink_to(outside)
        failed = watcher.wait_for("/failed")[0].json()
    assert "leads outside the source root" in failed["error"]
    assert everything_at(media.dest_of("/movies")) == []


def test_an_imported_movie_folder_swapped_for_a_link_before_the_attempt_is_refused(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, outside: Path,
) -> None:
    start_syncer(settings)
    movie = "/movies/Swapped (2020)/Film.mkv"
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "swap", [movie])
        watcher.wait_for("/retrying")
        media.source_of("/movies/Swapped (2020)").symlink_to(outside)
        failed = watcher.wait_for("/failed")[0].json()
    assert "leads outside the source root" in failed["error"]
    assert failed["attempt"] == 2  # refused at the second attempt, not retried
    assert everything_at(media.dest_of("/movies")) == []


def test_links_inside_a_copied_folder_never_reach_outside_and_specials_stay_behind(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str, outside: Path,
) -> None:
    folder = media.source_of("/movies/Linked (2021)")
    (folder / "extras").mkdir(parents=True)
    (folder / "Linked.mkv").write_bytes(b"the film")
    (folder / "absolute.mkv").symlink_to(outside / "Film.mkv")
    (folder / "climbing.txt").symlink_to("../../../../outside/secret.txt")
    (folder / "extras" / "all-of-it").symlink_to(outside)
    (folder / "extras" / "trailer.mkv").symlink_to("../Linked.mkv")  # stays inside: kept
    os.mkfifo(folder / "a-fifo")
    os.mknod(folder / "a-device", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/Linked (2021)")
        done = watcher.wait_for("/succeeded")[0].json()
    dest = media.dest_of("/movies/Linked (2021)")
    assert everything_at(dest) == ["Linked.mkv", "extras", "extras/trailer.mkv"]
    assert os.readlink(dest / "extras" / "trailer.mkv") == "../Linked.mkv"
    assert done["files"] == 2
    assert b"outside" not in b"".join(p.read_bytes() for p in dest.rglob("*") if p.is_file())


def test_sidecars_are_real_sidecars_not_films_with_a_longer_name(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str,
) -> None:
    names = ["It.mkv", "It.en.srt", "It.en.forced.srt", "It.nfo", "It-poster.jpg",
             "It.Follows.2014.mkv", "It.Follows.2014.nfo", "It.Follows.2014.en.srt",
             "It-Chapter-Two.mkv", "It.txt.bak"]
    for name in names:
        media.put(f"/movies/{name}", name.encode())
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "it", ["/movies/It.mkv"])
        done = watcher.wait_for("/succeeded")[0].json()
    assert everything_at(media.dest_of("/movies")) == [
        "It-poster.jpg", "It.en.forced.srt", "It.en.srt", "It.mkv", "It.nfo"]
    assert done["files"] == 5


def test_a_name_longer_than_a_file_system_allows_fails_at_once_and_says_so(
    settings: Settings, start_syncer: Start, broker: LocalBroker, base_topic: str,
) -> None:
    long_name = "Ä" * 130 + ".mkv"  # 264 bytes in UTF-8
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "long", [f"/movies/Long/{long_name}"])
        failed = watcher.wait_for("/failed")[0].json()
    assert "264 bytes long" in failed["error"] and "at most 255 bytes" in failed["error"]
    assert "not there (yet)" not in failed["error"]
    assert failed["attempt"] == 1 and not watcher.on("/retrying")


def test_a_name_sent_in_another_unicode_form_is_found_as_the_share_spells_it(
    settings: Settings, start_syncer: Start, broker: LocalBroker, media: MediaTree,
    base_topic: str,
) -> None:
    nfc = unicodedata.normalize("NFC", "/movies/Amélie (2001)/Amélie.mkv")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    media.put(nfc, b"fabuleux")
    start_syncer(settings)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        publish_import(broker.port, base_topic, "amelie", [nfd])
        watcher.wait_for("/succeeded")
    assert media.dest_of(nfc).read_bytes() == b"fabuleux"
    assert not watcher.on("/retrying")


def test_a_read_only_destination_folder_fails_with_rsyncs_own_error_line(
    make_settings: Callable[..., Settings], broker: LocalBroker, media: MediaTree,
    base_topic: str, start_syncer: Start,
) -> None:
    """Root only (CI is root): a read-only mount, which root cannot write either."""
    start_syncer(syncer_settings(make_settings, broker, media, base_topic, max_attempts=1))
    media.put("/movies/Locked (2020)/Locked.mkv", b"locked")
    locked = media.dest_of("/movies/Locked (2020)")
    locked.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "arrsync-ro", str(locked)],
                   check=True)
    try:
        with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
            publish_import(broker.port, base_topic, "ro", ["/movies/Locked (2020)/Locked.mkv"])
            failed = watcher.wait_for("/failed")[0].json()
    finally:
        subprocess.run(["umount", str(locked)], check=True)
    assert "Read-only file system (30)" in failed["error"]
    assert "see previous errors" not in failed["error"]
