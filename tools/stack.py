"""`make run`: the whole stack in the foreground (broker, bridge, syncer, notifier).

Without `ARRSYNC_CONFIG` it writes a demo config whose mapping points at local demo
folders, so a first try needs no NAS. With `ARRSYNC_CONFIG=my.yml` it runs the same
processes with that file. A private Mosquitto from `mosquitto/` is started when the
configured broker is local and not running; Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import paho.mqtt.client as paho
import yaml

from arrsync.config import ConfigError, load_settings
from arrsync.mqtt import MqttConnection
from arrsync.settings import Settings
from arrsync.topics import COMPONENTS
from tools.localbroker import LocalBroker, free_port, port_is_open

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("ARRSYNC_RUN_DIR", ROOT / ".run"))
BIN = Path(sys.executable).parent
DEMO_MOVIE = "Big Buck Bunny (2008)"
DEMO_PAYLOAD = Path(__file__).resolve().parent / "demo" / "radarr-import.json"
COMMANDS = ("arrsync-bridge", "arrsync-syncer", "arrsync-notify")


def say(text: str) -> None:
    print(f"[make run] {text}", flush=True)


def demo_config(run_dir: Path, mqtt_port: int) -> Path:
    """A config for a first try: one mapping between two local folders."""
    source, dest = run_dir / "demo" / "synology" / "movies", run_dir / "demo" / "unraid" / "Movies"
    movie = source / DEMO_MOVIE / f"{DEMO_MOVIE}.mkv"
    movie.parent.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    if not movie.exists():
        movie.write_bytes(os.urandom(5 * 1024 * 1024))
    bridge_port = 5000 if not port_is_open(5000) else free_port()
    if bridge_port != 5000:
        say(f"port 5000 is taken; the demo bridge listens on {bridge_port} instead "
            "(the webhook URL below)")
    config = {
        "log_level": "INFO",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "base_topic": "arrsync"},
        "bridge": {"host": "127.0.0.1", "port": bridge_port,
                   "spool_path": str(run_dir / "data" / "bridge-spool.db")},
        "syncer": {"state_path": str(run_dir / "data" / "syncer.db"),
                   "client_id": "arrsync-syncer-demo", "free_space_margin": 0,
                   "mappings": [{"name": "Demo Movies", "arr_path": "/movies",
                                 "source": str(source), "dest": str(dest)}]},
        "notify": {"urls": []},
    }
    path = run_dir / "arrsync.demo.yml"
    path.write_text("# Written by `make run`; use ARRSYNC_CONFIG=your.yml for your own.\n"
                    + yaml.safe_dump(config, sort_keys=False))
    sample = json.loads(DEMO_PAYLOAD.read_text())
    sample["movieFile"]["size"] = movie.stat().st_size
    (run_dir / "radarr-import.json").write_text(json.dumps(sample, indent=2))
    return path


def ensure_broker(settings: Settings, run_dir: Path) -> LocalBroker | None:
    mqtt = settings.mqtt
    if port_is_open(mqtt.port, "127.0.0.1" if mqtt.host == "localhost" else mqtt.host):
        say(f"using the MQTT broker already listening on {mqtt.host}:{mqtt.port}")
        return None
    if mqtt.host not in ("localhost", "127.0.0.1"):
        say(f"warning: the broker {mqtt.host}:{mqtt.port} is not reachable yet")
        return None
    broker = LocalBroker(run_dir / "mosquitto", mqtt.port)
    broker.start()
    say(f"started a private Mosquitto on 127.0.0.1:{mqtt.port} (data in {broker.data_dir})")
    return broker


def pick_broker_port() -> int:
    if port_is_open(1883):
        port = free_port()
        say(f"port 1883 is taken by another broker; the demo gets its own on port {port}")
        return port
    return 1883


def wait_until_online(settings: Settings, timeout: float = 30) -> bool:
    """True once bridge, syncer and notifier say `online` (the syncer has subscribed)."""
    online: set[str] = set()
    ready = threading.Event()
    watcher = MqttConnection(settings.mqtt, "stack", announce=False)

    def seen(message: paho.MQTTMessage) -> None:
        component = watcher.topics.availability_component(message.topic)
        if component and message.payload == b"online":
            online.add(component)
        if set(COMPONENTS) <= online:
            ready.set()

    watcher.on_message(seen)
    watcher.subscribe(watcher.topics.all_availability)
    watcher.start()
    try:
        return ready.wait(timeout)
    finally:
        watcher.stop()


def shown(path: Path) -> str:
    """A path as short as it can be typed from here."""
    try:
        return shlex.quote(str(path.resolve().relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(path))


def reader_login(settings: Settings) -> str:
    """`-u`/`-P` for mosquitto_sub: the viewer (the ACL's reader), else the config's user."""
    if os.environ.get("MQTT_VIEWER_PASSWORD"):
        return " -u viewer -P \"$MQTT_VIEWER_PASSWORD\""
    return f" -u {shlex.quote(settings.mqtt.username)} -P '…'" if settings.mqtt.username else ""


def manual_sync_command(settings: Settings, path: str) -> str:
    mqtt = settings.mqtt
    login = f" -u {shlex.quote(mqtt.username)} -P '…'" if mqtt.username else ""
    topic = f"{mqtt.base_topic}/sync/request"
    return (f"mosquitto_pub -h {mqtt.host} -p {mqtt.port}{login} -q 1 -t {shlex.quote(topic)} "
            f"-m {shlex.quote(path)}")


LOGINS = {"arrsync-bridge": "bridge", "arrsync-syncer": "syncer", "arrsync-notify": "notifier"}
ONE_LOGIN = "ARRSYNC_MAKE_RUN_ONE_LOGIN"


def logins(settings: Settings, user_config: bool) -> dict[str, dict[str, str]] | str:
    """Each process's MQTT login as environment variables, or why `make run` refuses: the
    project's ACL gives every process a user of its own (MQTT_<USER>_PASSWORD, as in .env)."""
    passwords = {user: os.environ.get(f"MQTT_{user.upper()}_PASSWORD", "")
                 for user in LOGINS.values()}
    if all(passwords.values()):
        return {command: {"ARRSYNC_MQTT__USERNAME": user,
                          "ARRSYNC_MQTT__PASSWORD": passwords[user]}
                for command, user in LOGINS.items()}
    if user_config and settings.mqtt.username and not os.environ.get(ONE_LOGIN):
        return (f"your config logs every process in as {settings.mqtt.username!r}, but a "
                "broker with arrsync's ACL (mosquitto/acl) gives the bridge, the syncer and the "
                "notifier a user each. Set MQTT_BRIDGE_PASSWORD, MQTT_SYNCER_PASSWORD and "
                "MQTT_NOTIFIER_PASSWORD (as in .env) to log each in as its own user, or "
                f"{ONE_LOGIN}=1 to use the one login of the config for all three")
    return {command: {} for command in LOGINS}


def forward(name: str, stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>8} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def main() -> int:
    user_config = os.environ.get("ARRSYNC_CONFIG")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    config = Path(user_config) if user_config else demo_config(RUN_DIR, pick_broker_port())
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    chosen = logins(settings, bool(user_config))
    if isinstance(chosen, str):
        print(f"make run: {chosen}", file=sys.stderr)
        return 1
    if chosen["arrsync-syncer"]:
        login = chosen["arrsync-bridge"]  # the bridge may read every availability
        settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={
            "username": login["ARRSYNC_MQTT__USERNAME"],
            "password": login["ARRSYNC_MQTT__PASSWORD"]})})
        say("each process logs in as its own user: bridge, syncer, notifier")
    broker = ensure_broker(settings, RUN_DIR)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for command in COMMANDS:
        process = subprocess.Popen([str(BIN / command), "--config", str(config)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env={**os.environ, **chosen[command]})
        processes[command] = process
        threading.Thread(target=forward, args=(command.removeprefix("arrsync-"),
                                               process.stdout), daemon=True).start()
    if not wait_until_online(settings):
        say("warning: not every service said it is online within 30 s; see the log above")
    base, mqtt = settings.mqtt.base_topic, settings.mqtt
    url = f"http://{settings.bridge.host}:{settings.bridge.port}/webhook/radarr"
    say(f"config: {config}")
    say(f"webhook URL for Radarr: {url}")
    say(f"status page: http://{settings.bridge.host}:{settings.bridge.port}/")
    if not user_config:
        sample = RUN_DIR / "radarr-import.json"
        say("post a sample Radarr import:")
        print(f"  curl -sS -H 'Content-Type: application/json' --data-binary "
              f"@{shlex.quote(str(sample))} {url}", flush=True)
    say("watch the topics:")
    print(f"  mosquitto_sub -h {mqtt.host} -p {mqtt.port}{reader_login(settings)} -v -t "
          f"{shlex.quote(base + '/#')}", flush=True)
    if not user_config:
        say("ask for a manual sync of the demo movie (as the arr sees it):")
        print(f"  {manual_sync_command(settings, f'/movies/{DEMO_MOVIE}')}", flush=True)
    say("list the jobs:")
    print(f"  {shown(BIN / 'arrsync-syncer')} --config {shown(config)} jobs", flush=True)
    say("ready. Ctrl-C stops everything")

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    exit_code = 0
    while not stopping.wait(0.5):
        dead = [name for name, p in processes.items() if p.poll() is not None]
        if dead:
            say(f"{', '.join(dead)} stopped unexpectedly; stopping the stack")
            exit_code = 1
            break
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
    if broker:
        broker.stop()
    say("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
