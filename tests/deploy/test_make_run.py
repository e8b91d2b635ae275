"""`make run` from the user's point of view: the printed curl syncs a file and the printed
mosquitto_sub shows its status."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_make_run_brings_up_a_working_stack(tmp_path: Path) -> None:
    env = {**os.environ, "ARRSYNC_RUN_DIR": str(tmp_path)}
    env.pop("ARRSYNC_CONFIG", None)
    make = subprocess.Popen(["make", "-s", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(make.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("[make run] ready" in line for line in lines), timeout=90,
                   message="the stack to be ready")
        curl = next(line for line in lines if line.strip().startswith("curl "))
        sub = next(line for line in lines if line.strip().startswith("mosquitto_sub "))
        pub = next(line for line in lines if line.strip().startswith("mosquitto_pub "))
        jobs = next(line for line in lines if line.strip().endswith(" jobs"))
        with subprocess.Popen([*shlex.split(sub), "-W", "60"], stdout=subprocess.PIPE,
                              text=True) as watcher:
            seen: list[str] = []
            threading.Thread(target=lambda: seen.extend(iter(watcher.stdout.readline, "")),
                             daemon=True).start()
            # Subscribed once the retained availability messages arrive.
            wait_until(lambda: any("/availability online" in line for line in seen),
                       message="mosquitto_sub to subscribe")
            answer = subprocess.run(shlex.split(curl), capture_output=True, text=True,
                                    timeout=30, check=True)
            assert '"status":"published"' in answer.stdout.replace(" ", "")
            dest = tmp_path / "demo" / "unraid" / "Movies" / "Big Buck Bunny (2008)"
            copied = dest / "Big Buck Bunny (2008).mkv"
            wait_until(copied.exists, timeout=30, message="the demo movie at the destination")
            wait_until(lambda: any(line.startswith("arrsync/sync/succeeded ") for line in seen),
                       timeout=30, message="the succeeded status on mosquitto_sub")
            # The printed manual request asks for the same movie again, as a person would: the
            # destination already has it, so the job ends skipped, without even an rsync.
            subprocess.run(shlex.split(pub), check=True, timeout=30)
            wait_until(lambda: any(line.startswith("arrsync/sync/skipped ")
                                   and '"app":"manual"' in line.replace(" ", "")
                                   for line in seen),
                       timeout=30, message="the manual sync's status on mosquitto_sub")
            watcher.terminate()
        listed = subprocess.run(shlex.split(jobs), cwd=ROOT, capture_output=True, text=True,
                                timeout=30, check=True).stdout
        assert listed.count("succeeded  copy     1/5  Big Buck Bunny (2008)") == 1, listed
        assert listed.count("skipped    copy     0/5  Big Buck Bunny (2008)") == 1, listed
        source = tmp_path / "demo" / "synology" / "movies" / "Big Buck Bunny (2008)"
        assert copied.read_bytes() == (source / "Big Buck Bunny (2008).mkv").read_bytes()
        sample = json.loads((tmp_path / "radarr-import.json").read_text())["movie"]
        assert sample["title"] == "Big Buck Bunny" and "rabbit" in sample["overview"]
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=60)
        reader.join(timeout=10)
        make.stdout.close()
    assert any("[make run] stopped" in line for line in lines), "".join(lines[-20:])
