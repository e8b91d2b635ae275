"""`make run` from the user's point of view: the printed curl syncs a file and the printed
mosquitto_sub shows its status."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from arrsync.settings import Settings
from tests.helpers import wait_until
from tools.stack import logins

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
    # Ctrl-C (SIGINT to the whole group): the broker is stopped last, by make run itself.
    assert not any("lost the broker connection" in line for line in lines), "".join(lines)


def test_make_run_with_a_config_of_one_login_refuses_clearly(tmp_path: Path) -> None:
    config = tmp_path / "arrsync.yml"
    config.write_text("mqtt:\n  host: 127.0.0.1\n  port: 1\n  username: arrsync\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ARRSYNC_", "MQTT_"))} | {"ARRSYNC_CONFIG": str(config),
                                                        "ARRSYNC_RUN_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "tools.stack"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "logs every process in as 'arrsync'" in done.stderr
    assert "MQTT_BRIDGE_PASSWORD, MQTT_SYNCER_PASSWORD and MQTT_NOTIFIER_PASSWORD" in done.stderr


def test_make_run_logs_each_process_in_as_its_own_user(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for user in ("BRIDGE", "SYNCER", "NOTIFIER"):
        monkeypatch.setenv(f"MQTT_{user}_PASSWORD", f"{user.lower()}-pw")
    chosen = logins(Settings(mqtt={"username": "arrsync"}), user_config=True)
    assert chosen == {
        command: {"ARRSYNC_MQTT__USERNAME": user, "ARRSYNC_MQTT__PASSWORD": f"{user}-pw"}
        for command, user in (("arrsync-bridge", "bridge"), ("arrsync-syncer", "syncer"),
                              ("arrsync-notify", "notifier"))}
