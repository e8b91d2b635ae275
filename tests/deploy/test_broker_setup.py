"""The broker's set-up outside Compose's own config: passwords and the bare-metal config.

mosquitto/make-passwd.sh writes a password file the broker then accepts for every user, and
mosquitto.bare-metal.conf is the Docker config with Debian's paths, checked as data and then
run for real under Debian's stock mosquitto.conf.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings
from tests.deploy.deployfiles import (
    MAKE_PASSWD,
    MOSQUITTO_DIR,
    ROOT,
    conf_lines,
    filled_env_example,
)

# The fixture, imported under its own name for pytest to find it here.
from tests.helpers import wait_until
from tools.localbroker import LocalBroker, find_mosquitto, free_port, port_is_open

BARE_METAL_CONF = MOSQUITTO_DIR / "mosquitto.bare-metal.conf"
DEBIAN_MAIN_CONF = ROOT / "tests" / "fixtures" / "mosquitto" / "debian-mosquitto.conf"


def test_the_bare_metal_config_is_the_docker_one_with_debian_paths() -> None:
    docker, bare = conf_lines(MOSQUITTO_DIR / "mosquitto.conf"), conf_lines(BARE_METAL_CONF)
    # persistence is set in both: Mosquitto takes a repeated boolean, and the file used alone
    # (mosquitto -c) must keep the durable sessions on disk too.
    debian = {key for key, _value in conf_lines(DEBIAN_MAIN_CONF)} - {"persistence"}
    paths = {"password_file", "acl_file"}
    # Everything else is the same, except what Debian's main file already sets.
    assert [line for line in bare if line[0] not in paths] == \
        [line for line in docker if line[0] not in paths | debian]
    assert dict(bare)["password_file"] == "/etc/mosquitto/arrsync/passwd"
    assert dict(bare)["acl_file"] == "/etc/mosquitto/arrsync/acl"
    assert not debian & {key for key, _value in bare}, "an option Debian's file sets already"


def test_install_bare_metal_sets_the_port_and_passwords_from_the_env_files(
        tmp_path: Path) -> None:
    etc, env_dir, port = tmp_path / "etc" / "mosquitto", tmp_path / "arrsync", free_port()
    (etc / "conf.d").mkdir(parents=True)
    env_dir.mkdir()
    (env_dir / "syncer.env").write_text("ARRSYNC_MQTT__USERNAME=syncer\n"
                                        "ARRSYNC_MQTT__PASSWORD=from-the-env-file\n")
    done = subprocess.run(
        ["sh", str(MOSQUITTO_DIR / "install-bare-metal.sh"), "--port", str(port),
         "--env-dir", str(env_dir)], capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MOSQUITTO_ETC": str(etc),
             "MOSQUITTO_OWNER": "root:root", "MQTT_BRIDGE_PASSWORD": "from-the-environment"})
    assert done.returncode == 0, done.stderr
    conf = (etc / "conf.d" / "arrsync.conf").read_text()
    assert f"\nlistener {port}\n" in conf and "persistence true" in conf
    assert "message_size_limit" not in conf  # deprecated in 2.0: a warning at every start
    passwords = {user: dict(line.split("=", 1) for line in (env_dir / f"{user}.env")
                            .read_text().splitlines())["ARRSYNC_MQTT__PASSWORD"]
                 for user in ("notifier", "trigger", "viewer")}  # made up, written down
    assert all(len(p) >= 20 for p in passwords.values())
    assert oct((env_dir / "viewer.env").stat().st_mode)[-3:] == "600"
    logins = {"bridge": "from-the-environment", "syncer": "from-the-env-file", **passwords}
    listening = conf.replace(f"listener {port}", f"listener {port} 127.0.0.1").replace(
        "/etc/mosquitto/", f"{etc}/")
    # Alone (mosquitto -c), as root: the files are root's here (Debian's own start is tested
    # below, with the mosquitto user).
    (etc / "alone.conf").write_text(listening + f"persistence_location {tmp_path}/\nuser root\n")
    broker = subprocess.Popen([find_mosquitto(), "-c", str(etc / "alone.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_is_open(port), timeout=10, message="the broker to listen")
        for user, password in logins.items():
            mqtt = MqttConnection(MqttSettings(host="127.0.0.1", port=port, username=user,
                                               password=password), "cli", announce=False)
            mqtt.start()
            try:
                assert mqtt.connection_problem(10) is None, user
            finally:
                mqtt.stop()
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def run_make_passwd(target: Path, owner: str | None,
                    **override: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **{
        name: value for name, value in filled_env_example().items() if name.startswith("MQTT_")},
        **override}
    return subprocess.run(["sh", str(MAKE_PASSWD), str(target), *([owner] if owner else [])],
                          env=env, capture_output=True, text=True, timeout=30, check=False)


def logins(port: int) -> dict[str, str | None]:
    """For each user of .env.example: None when the broker accepts its password."""
    dotenv, answers = filled_env_example(), {}
    for user in ("bridge", "syncer", "notifier", "trigger", "viewer", "homeassistant"):
        mqtt = MqttSettings(host="127.0.0.1", port=port, username=user,
                            password=dotenv[f"MQTT_{user.upper()}_PASSWORD"])
        connection = MqttConnection(mqtt, "check", announce=False)
        connection.start()
        answers[user] = connection.connection_problem(10)
        connection.stop()
    return answers


def test_make_passwd_writes_every_user_the_broker_then_accepts(broker_folder: Path) -> None:
    passwd = broker_folder / "passwd"
    done = run_make_passwd(passwd, None)
    assert done.returncode == 0, done.stderr
    assert passwd.stat().st_mode & 0o777 == 0o600
    shutil.copyfile(MOSQUITTO_DIR / "acl", broker_folder / "acl")
    broker = LocalBroker(broker_folder / "data", password_file=passwd,
                         acl_file=broker_folder / "acl")
    broker.start()
    try:
        assert logins(broker.port) == dict.fromkeys(
            ["bridge", "syncer", "notifier", "trigger", "viewer", "homeassistant"])
    finally:
        broker.stop()
    assert "users: bridge syncer notifier trigger viewer homeassistant" in done.stdout
    # Home Assistant's login is optional: without its password there is no such user.
    optional = run_make_passwd(passwd, None, MQTT_HOMEASSISTANT_PASSWORD="")
    assert optional.returncode == 0, optional.stderr
    assert [line.split(":")[0] for line in passwd.read_text().splitlines()] == [
        "bridge", "syncer", "notifier", "trigger", "viewer"]
    # An empty password stops it before the old file is touched.
    before = passwd.read_bytes()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MQTT_BRIDGE_PASSWORD": "x"}
    empty = subprocess.run(["sh", str(MAKE_PASSWD), str(passwd)], env=env, capture_output=True,
                           text=True, timeout=30, check=False)
    assert empty.returncode == 1
    assert "MQTT_SYNCER_PASSWORD is empty: set it in .env" in empty.stderr
    assert passwd.read_bytes() == before


def test_the_bare_metal_config_runs_under_debians_main_config(broker_folder: Path) -> None:
    """Debian's stock mosquitto.conf with our conf.d file, installed as its header says
    (paths moved below a temporary root), started as root: it drops to `mosquitto`."""
    root = broker_folder

    def moved(text: str) -> str:
        for path in ("/etc/mosquitto/", "/var/lib/mosquitto/", "/run/mosquitto/",
                     "/var/log/mosquitto/"):
            text = text.replace(path, f"{root}{path}")
        return text
    port = free_port()
    etc = root / "etc" / "mosquitto"
    (etc / "conf.d").mkdir(parents=True)
    (etc / "arrsync").mkdir()
    (etc / "mosquitto.conf").write_text(moved(DEBIAN_MAIN_CONF.read_text()))
    (etc / "conf.d" / "arrsync.conf").write_text(
        moved(BARE_METAL_CONF.read_text()).replace("\nlistener 1883\n",
                                                   f"\nlistener {port} 127.0.0.1\n"))
    shutil.copyfile(MOSQUITTO_DIR / "acl", etc / "arrsync" / "acl")
    done = run_make_passwd(etc / "arrsync" / "passwd", "mosquitto:mosquitto")
    assert done.returncode == 0, done.stderr
    account = pwd.getpwnam("mosquitto")
    for folder in ("var/lib/mosquitto", "run/mosquitto", "var/log/mosquitto"):
        (root / folder).mkdir(parents=True)
        os.chown(root / folder, account.pw_uid, account.pw_gid)
    for path in (root / "etc", etc, etc / "arrsync", etc / "conf.d"):
        path.chmod(0o755)
    broker = subprocess.Popen([find_mosquitto(), "-c", str(etc / "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: port_is_open(port) or broker.poll() is not None, timeout=10,
                   message="the broker to listen")
        assert broker.poll() is None, broker.stderr.read().decode() if broker.stderr else ""
        assert set(logins(port).values()) == {None}
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        if broker.stderr:
            broker.stderr.close()
    log = (root / "var/log/mosquitto/mosquitto.log").read_text()
    assert "Opening ipv4 listen socket on port" in log and "Error" not in log, log
