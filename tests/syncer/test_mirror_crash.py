"""A real `arrsync-syncer` process SIGKILLed in the middle of a replace: the next start
finishes it with exactly one copy under the final name and the old one in the recycle bin."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrsync.settings import Settings
from tests.helpers import MqttWatcher, http
from tests.media import MediaTree, fixture
from tests.processes import Process, RunningBridge
from tools.localbroker import LocalBroker

# rsync, then SIGKILL the syncer that ran it, once: right after a replace staged its copy.
KILL_AFTER_STAGING = """\
import os, signal, subprocess, sys
code = subprocess.call(["rsync", *sys.argv[1:]])
marker = os.environ["ARRSYNC_TEST_CRASH_MARKER"]
if any(a.startswith("--compare-dest=") for a in sys.argv) and not os.path.exists(marker):
    open(marker, "w").close()
    os.kill(os.getppid(), signal.SIGKILL)
sys.exit(code)
"""


@pytest.mark.parametrize("crash", ["after-staging", "after-linking-the-old-copy-into-the-bin"])
def test_sigkill_in_the_middle_of_a_replace_ends_with_exactly_one_right_copy(
    crash: str, broker: LocalBroker, write_config: Callable[..., Path],
    make_settings: Callable[..., Settings], run_command: Callable[..., Process],
    start_bridge: Callable[[Settings], RunningBridge], media: MediaTree, base_topic: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrapper = tmp_path / "rsync-then-kill"
    wrapper.write_text(f"#!{sys.executable}\n{KILL_AFTER_STAGING}")
    wrapper.chmod(0o755)
    monkeypatch.setenv("ARRSYNC_TEST_CRASH_MARKER", str(tmp_path / "killed-once"))
    config = write_config(broker, syncer={"mappings": media.mappings,
                                          "rsync_path": str(wrapper)})
    bridge = start_bridge(make_settings(broker))
    payload = fixture("radarr", "download-upgrade")
    path = payload["movieFile"]["path"]
    payload["deletedFiles"][0]["path"] = path  # a same-name upgrade
    source = media.put(path, size=3_000_000)
    final = media.put_dest(path, b"the old version")
    old_inode = final.stat().st_ino
    bin_copy = media.recycled(path)
    with MqttWatcher(broker.port, [f"{base_topic}/#"]) as watcher:
        victim = run_command("arrsync-syncer", config)
        watcher.wait_for("/syncer/availability", where=lambda m: m.text == "online")
        http("POST", f"{bridge.url}/webhook/radarr", json.dumps(payload))
        assert victim.wait(30) == -signal.SIGKILL
        staged = list((media.recycle_bin(path) / ".staging").rglob("*.mkv"))
        assert len(staged) == 1 and staged[0].stat().st_size == 3_000_000
        assert final.read_bytes() == b"the old version"
        if crash != "after-staging":  # the crash came after the old copy's link into the bin
            bin_copy.parent.mkdir(parents=True)
            os.link(final, bin_copy)
        run_command("arrsync-syncer", config)
        done = watcher.wait_for("/sync/succeeded", timeout=30)[0].json()
        # one job all along: the restart resumed it (and said so), it made no second one
        assert len({m.json()["job"] for m in watcher.on("/sync/queued")}) == 1
    assert done["action"] == "replace"
    assert final.read_bytes() == source.read_bytes()
    assert bin_copy.read_bytes() == b"the old version"
    assert bin_copy.stat().st_ino == old_inode and bin_copy.stat().st_nlink == 1
    in_bin = [p for p in media.recycle_bin(path).rglob("*") if p.is_file()]
    assert in_bin == [bin_copy]  # no second copy in the bin, nothing left staged
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]
