"""The deployment files agree with the code and with each other.

Dockerfile, docker-compose.yml, .env.example, .dockerignore and arrsync.example.yml are
parsed as data and checked against the real Settings model, the console scripts in
pyproject.toml and the Mosquitto files, and each healthcheck command is run against a live
counterpart (an HTTP server, a TCP connection, a Mosquitto with the project's ACL). Docker
itself is not needed.
"""

from __future__ import annotations

import fnmatch
import functools
import http.server
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from arrsync.config import CONFIG_ENV, load_settings
from arrsync.mqtt import MqttConnection
from arrsync.settings import BridgeSettings, Mapping, MqttSettings, Settings, SyncerSettings
from tests.helpers import wait_until
from tools.localbroker import LocalBroker, find_mosquitto, free_port, port_is_open

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
MQTT_PORT_FILE = ROOT / "docker-compose.mqtt-port.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONFIG_EXAMPLE = ROOT / "arrsync.example.yml"
PYPROJECT = ROOT / "pyproject.toml"
MOSQUITTO_DIR = ROOT / "mosquitto"
BARE_METAL_CONF = MOSQUITTO_DIR / "mosquitto.bare-metal.conf"
DEBIAN_MAIN_CONF = ROOT / "tests" / "fixtures" / "mosquitto" / "debian-mosquitto.conf"
MAKE_PASSWD = MOSQUITTO_DIR / "make-passwd.sh"

APP_SERVICES = {
    "bridge": "arrsync-bridge",
    "syncer": "arrsync-syncer",
    "notifier": "arrsync-notify",
}
SECRET_KEYS = {("mqtt", "password"), ("bridge", "password"), ("notify", "urls")}
MAPPINGS = [
    ("Movies 1080p", "/movies", "/mnt/synology/rs-movies", "/mnt/unraid/media/Movies"),
    ("Movies 4K", "/movies4k", "/mnt/synology/rs-4kmedia/4kmovies", "/mnt/unraid/media/4K Movies"),
    ("TV 1080p", "/tv", "/mnt/synology/rs-tv", "/mnt/unraid/media/TV Shows"),
    ("TV 4K", "/tv4k", "/mnt/synology/rs-4kmedia/4ktv", "/mnt/unraid/media/4K TV Shows"),
]


# -- readers ----------------------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@functools.cache
def compose_mqtt_port() -> dict[str, Any]:
    return yaml.safe_load(MQTT_PORT_FILE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def _dotenv_value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


_ENV_LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_COMMENTED_ENV_LINE = re.compile(r"^#\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


def _env_lines(pattern: re.Pattern[str]) -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := pattern.match(line.strip()):
            values[match["name"]] = _dotenv_value(match["value"])
    return values


def env_example() -> dict[str, str]:
    """The variables .env.example defines, as Compose reads them."""
    return _env_lines(_ENV_LINE)


def env_example_commented() -> dict[str, str]:
    """The documented, commented-out examples: `# NAME=value`."""
    return _env_lines(_COMMENTED_ENV_LINE)


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}, ${VAR:+alt}."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        present = value is not None and (value != "" or not (op or "").startswith(":"))
        if op in ("-", ":-"):
            return value if present else arg  # type: ignore[return-value]
        if op in ("?", ":?"):
            if not present:
                raise LookupError(f"${{{name}}} is required: {arg}")
            return value  # type: ignore[return-value]
        if op in ("+", ":+"):
            return arg if present else ""
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def variables_used(node: Any) -> set[str]:
    """Every variable name Compose would interpolate anywhere in the file."""
    if isinstance(node, dict):
        return set().union(*(variables_used(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(variables_used(v) for v in node)) if node else set()
    if isinstance(node, str):
        return {
            m["braced"] or m["named"] for m in _INTERPOLATION.finditer(node) if not m["escaped"]
        }
    return set()


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_words(svc: dict[str, Any]) -> list[str]:
    command = svc["command"]
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command]


def volume_entries(svc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) for each of a service's volumes, short or long syntax."""
    entries = []
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            entries.append(
                (volume.get("source", ""), volume["target"], bool(volume.get("read_only")))
            )
            continue
        source, target, *mode = volume.split(":")
        entries.append((source, target, "ro" in ",".join(mode).split(",")))
    return entries


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def healthcheck_words(svc: dict[str, Any]) -> list[str]:
    test = svc["healthcheck"]["test"]
    return [test] if isinstance(test, str) else list(test)


def settings_field(env_name: str) -> tuple[str, ...] | None:
    """The Settings field an ARRSYNC_ variable sets (`__` nests, case-insensitive), or None."""
    prefix = Settings.model_config.get("env_prefix", "")
    delimiter = Settings.model_config.get("env_nested_delimiter") or "__"
    if not env_name.upper().startswith(prefix.upper()):
        return None
    parts = env_name[len(prefix) :].lower().split(delimiter)
    model: type[BaseModel] = Settings
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return None
        if index < len(parts) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return None
            model = annotation
    return tuple(parts)


def value_at(settings: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for part in path:
        value = getattr(value, part)
    return value


def secret(value: Any) -> Any:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


def duration_seconds(text: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, args = pending.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def console_scripts() -> dict[str, str]:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]["scripts"]


def conf_lines(path: Path) -> list[tuple[str, str]]:
    """(option, value) for each line of a Mosquitto config file, comments left out."""
    lines = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            lines.append((key, value.strip()))
    return lines


def mosquitto_conf() -> dict[str, str]:
    return dict(conf_lines(MOSQUITTO_DIR / "mosquitto.conf"))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ARRSYNC_ variable from the machine running the tests leaks into Settings."""
    for name in list(os.environ):
        if name.upper().startswith("ARRSYNC_"):
            monkeypatch.delenv(name)
    return monkeypatch


def filled_env_example() -> dict[str, str]:
    """.env.example as a user must fill it: every empty value given one."""
    return {name: value or f"test-{name.lower()}" for name, value in env_example().items()}


# -- the helpers themselves -------------------------------------------------------------------


def test_the_helpers_can_say_no() -> None:
    assert settings_field("ARRSYNC_MQTT__HOST") == ("mqtt", "host")
    assert settings_field("arrsync_syncer__state_path") == ("syncer", "state_path")
    assert settings_field("ARRSYNC_MQTT__HOSTNAME") is None
    assert settings_field("ARRSYNC_MQTT_HOST") is None
    assert settings_field("ARRSYNC_LOG_LEVEL__X") is None
    assert settings_field("MQTT__HOST") is None
    assert interpolate("${A:-x} $$B ${C:?need C} $D", {"A": "", "C": "c", "D": "d"}) == "x $B c d"
    with pytest.raises(LookupError):
        interpolate("${C:?need C}", {"C": ""})
    assert variables_used(["$$SKIP ${USE:-1}", {"k": "$ALSO"}]) == {"USE", "ALSO"}
    assert duration_seconds("1m30s") == 90


# -- docker-compose.yml -----------------------------------------------------------------------


def test_compose_has_the_four_services_and_no_obsolete_version_key() -> None:
    assert {"mosquitto", "bridge", "syncer", "notifier"} <= set(compose()["services"])
    assert "version" not in compose()


def test_every_compose_variable_is_defined_in_env_example() -> None:
    used = variables_used(compose()) | variables_used(compose_mqtt_port())
    assert used, "docker-compose.yml uses no ${VAR}: the secrets would be hard-coded"
    missing = sorted(used - set(env_example()))
    assert not missing, f".env.example does not define {missing}"
    # And with .env.example filled in, everything interpolates (no required one left).
    for path in (COMPOSE_FILE, MQTT_PORT_FILE):
        interpolate(path.read_text(encoding="utf-8"), filled_env_example())


def test_env_example_ships_no_secret() -> None:
    shipped = {
        name: value
        for name, value in env_example().items()
        if re.search(r"PASSWORD|SECRET|TOKEN|URLS", name) and value
    }
    assert not shipped, f".env.example must leave secrets empty: {sorted(shipped)}"


def test_every_arrsync_variable_is_a_settings_field() -> None:
    names = set(env_example()) | set(env_example_commented())
    for svc in compose()["services"].values():
        names |= set(environment(svc))
    names |= {
        args.split("=", 1)[0]
        for keyword, args in dockerfile_instructions()
        if keyword == "ENV" and "=" in args
    }
    arrsync = {n for n in names if n.upper().startswith("ARRSYNC_")} - {CONFIG_ENV}
    assert len(arrsync) >= 8, f"too few ARRSYNC_ variables found: {sorted(arrsync)}"
    unknown = sorted(n for n in arrsync if settings_field(n) is None)
    assert not unknown, f"no Settings field for {unknown}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_each_service_environment_loads_the_example_config(
    name: str, clean_env: pytest.MonkeyPatch
) -> None:
    svc = service(name)
    dotenv = filled_env_example()
    env = {k: interpolate(v, dotenv) for k, v in environment(svc).items()}
    for key, value in env.items():
        clean_env.setenv(key, value)

    config_arg = command_words(svc)[command_words(svc).index("--config") + 1]
    mounted = {target: source for source, target, _ro in volume_entries(svc)}
    assert mounted.get(config_arg) == "./arrsync.yml", f"{name}: --config is not the mount"
    settings = load_settings(CONFIG_EXAMPLE)

    assert settings.mqtt.host == "mosquitto"
    assert settings.mqtt.username == name
    password_var = f"MQTT_{name.upper()}_PASSWORD"
    assert secret(settings.mqtt.password) == dotenv[password_var]
    assert str(settings.bridge.spool_path) == "/data/bridge-spool.db"
    assert str(settings.syncer.state_path) == "/data/syncer.db"
    # The environment's syncer.state_path must not wipe the file's syncer.mappings.
    assert [m.name for m in settings.syncer.mappings] == [m[0] for m in MAPPINGS]
    for key in env:
        if (path := settings_field(key)) is not None:
            value = value_at(settings, path)
            if path == ("arrs",):  # one JSON list of objects
                assert [a.name for a in value] == [a["name"] for a in json.loads(env[key])]
                continue
            shown = " ".join(secret(v) for v in value) if isinstance(value, list) else \
                str(secret(value))
            assert shown == env[key], key


def test_the_documented_overrides_in_env_example_parse(clean_env: pytest.MonkeyPatch) -> None:
    examples = {k: v for k, v in env_example_commented().items() if k.startswith("ARRSYNC_")}
    assert "ARRSYNC_NOTIFY__URLS" in examples
    for key, value in examples.items():
        clean_env.setenv(key, value)
    settings = load_settings(CONFIG_EXAMPLE)
    for key in examples:
        clean_env.delenv(key, raising=False)
    defaults = load_settings(CONFIG_EXAMPLE)
    for key in examples:
        path = settings_field(key)
        assert path is not None, key
        assert value_at(settings, path) != value_at(defaults, path), f"{key} had no effect"
    assert len(settings.notify.urls) == 2


def test_commands_are_console_scripts() -> None:
    scripts = console_scripts()
    for name, script in APP_SERVICES.items():
        words = command_words(service(name))
        assert words[0] == script, f"{name} runs {words[0]}, expected {script}"
        assert words[0] in scripts
    for name, svc in compose()["services"].items():
        if "command" in svc:
            assert command_words(svc)[0] in scripts, f"{name}: not a console script"


def test_bridge_publishes_5001_to_the_default_port() -> None:
    bridge = service("bridge")
    default_port = BridgeSettings.model_fields["port"].default
    assert default_port == 5000
    assert [str(p) for p in bridge["ports"]] == ["5001:5000"]
    host_port, container_port = str(bridge["ports"][0]).rsplit(":", 1)
    assert (host_port, int(container_port)) == ("5001", default_port)
    assert environment(bridge).get("ARRSYNC_BRIDGE__PORT", str(default_port)) == str(default_port)
    probe = " ".join(healthcheck_words(bridge))
    assert f":{default_port}/health" in probe
    assert "curl" not in probe and "wget" not in probe  # neither is in python:slim


def test_app_services_share_image_config_data_and_broker() -> None:
    acl_users = set(re.findall(r"^user\s+(\S+)", (MOSQUITTO_DIR / "acl").read_text(), re.M))
    password_vars = set()
    for name in APP_SERVICES:
        svc = service(name)
        assert svc["restart"] == "unless-stopped"
        # The bridge spools while the broker is down; the others need it.
        wanted = "service_started" if name == "bridge" else "service_healthy"
        assert svc["depends_on"]["mosquitto"]["condition"] == wanted
        # Each container gets only what its service lists: no env_file with every secret.
        assert "env_file" not in svc, f"{name}: an env_file hands it every password"
        assert svc["build"]["context"] == "."
        assert svc["image"] == service("bridge")["image"]
        volumes = volume_entries(svc)
        assert ("./arrsync.yml", "/config/arrsync.yml", True) in volumes
        assert any(is_named_volume(s) and t == "/data" for s, t, _ro in volumes)
        env = environment(svc)
        assert env["ARRSYNC_MQTT__HOST"] == "mosquitto"
        assert env["ARRSYNC_MQTT__USERNAME"] in acl_users
        password = env["ARRSYNC_MQTT__PASSWORD"]
        assert variables_used(password), f"{name}: the MQTT password is written in the file"
        password_vars |= variables_used(password)
        assert svc["healthcheck"]["test"]
    assert len(password_vars) == len(APP_SERVICES), "each service needs its own MQTT password"
    assert {"PUID", "PGID"} <= variables_used(service("bridge")["build"])


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    used = {
        source
        for svc in compose()["services"].values()
        for source, _target, _ro in volume_entries(svc)
        if is_named_volume(source)
    }
    assert used, "no named volume: spool, job store and broker data would be lost"
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"


def test_syncer_sees_the_shares_at_host_paths() -> None:
    syncer = service("syncer")
    raw = [v for v in syncer["volumes"] if isinstance(v, str)]
    # The share folders are .env variables, with the real home's paths as defaults.
    assert "${SOURCE_SHARE:-/mnt/synology}:${SOURCE_SHARE:-/mnt/synology}:ro" in raw
    assert "${DEST_SHARE:-/mnt/unraid}:${DEST_SHARE:-/mnt/unraid}" in raw
    assert (env_example()["SOURCE_SHARE"], env_example()["DEST_SHARE"]) == (
        "/mnt/synology", "/mnt/unraid")
    assert interpolate("${DEST_SHARE:-/mnt/unraid}", {}) == "/mnt/unraid"
    syncer = {**syncer, "volumes": [interpolate(v, env_example()) if isinstance(v, str) else v
                                    for v in syncer["volumes"]]}
    binds = [(s, t, ro) for s, t, ro in volume_entries(syncer) if s.startswith("/")]
    assert all(s == t for s, t, _ro in binds), "shares must keep their host paths"

    def mount_of(path: str) -> tuple[str, str, bool]:
        covering = [b for b in binds if PurePosixPath(path).is_relative_to(b[1])]
        assert covering, f"{path} is not mounted into the syncer"
        return max(covering, key=lambda b: len(b[1]))

    for _name, _arr, source, dest in MAPPINGS:
        assert mount_of(source)[2], f"source {source} should be mounted read-only"
        assert not mount_of(dest)[2], f"dest {dest} must be writable"


def test_syncer_may_finish_copies_before_it_is_killed() -> None:
    grace = duration_seconds(service("syncer")["stop_grace_period"])
    assert grace > SyncerSettings.model_fields["shutdown_grace"].default


def test_mosquitto_service_matches_the_repository_config() -> None:
    mosquitto = service("mosquitto")
    assert re.fullmatch(r"eclipse-mosquitto:2\.0\.\d+", mosquitto["image"])
    volumes = volume_entries(mosquitto)
    assert ("./mosquitto", "/mosquitto/config", True) in volumes
    assert (MOSQUITTO_DIR / "mosquitto.conf").is_file()

    conf = mosquitto_conf()
    config_dir = PurePosixPath("/mosquitto/config")
    for key in ("acl_file", "password_file"):
        path = PurePosixPath(conf[key])
        assert path.is_relative_to(config_dir), f"{key} is outside the mounted folder"
    assert (MOSQUITTO_DIR / PurePosixPath(conf["acl_file"]).relative_to(config_dir)).is_file()
    data_targets = [t for s, t, _ro in volumes if is_named_volume(s)]
    assert any(
        PurePosixPath(conf["persistence_location"]).is_relative_to(t) for t in data_targets
    ), "persistence is not in a named volume"
    assert int(conf["listener"].split()[0]) == 1883

    env = environment(mosquitto)
    user = env["MQTT_HEALTHCHECK_USER"]
    assert re.search(rf"^user\s+{re.escape(user)}$", (MOSQUITTO_DIR / "acl").read_text(), re.M)
    probe = " ".join(healthcheck_words(mosquitto))
    assert "mosquitto_sub" in probe
    assert "$$MQTT_HEALTHCHECK_PASSWORD" in probe, "escape $ from Compose: the shell expands it"


# Who gets which secret: a service sees only the variables it needs.
SECRETS_OF = {
    "mosquitto": {"MQTT_VIEWER_PASSWORD"},  # its healthcheck logs in as the viewer
    "bridge": {"MQTT_BRIDGE_PASSWORD", "ARRSYNC_BRIDGE__PASSWORD", "ARRSYNC_ARRS"},
    "syncer": {"MQTT_SYNCER_PASSWORD", "ARRSYNC_ARRS"},  # the arrs' API keys are in it
    "notifier": {"MQTT_NOTIFIER_PASSWORD", "ARRSYNC_NOTIFY__URLS"},
    "passwd": {f"MQTT_{user}_PASSWORD" for user in
               ("BRIDGE", "SYNCER", "NOTIFIER", "TRIGGER", "VIEWER", "HOMEASSISTANT")},
    "cli": {"MQTT_TRIGGER_PASSWORD"},
}


def test_each_service_gets_only_its_own_secrets() -> None:
    secrets = {n for n in env_example()
               if re.search(r"PASSWORD|SECRET|TOKEN|URLS", n) or n == "ARRSYNC_ARRS"}
    assert set(compose()["services"]) == set(SECRETS_OF)
    for name, svc in compose()["services"].items():
        assert variables_used(svc) & secrets == SECRETS_OF[name], name


def test_the_broker_port_is_published_only_when_asked() -> None:
    assert "ports" not in service("mosquitto"), "1883 on the host clashes with a broker there"
    extra = compose_mqtt_port()
    assert set(extra["services"]) == {"mosquitto"}
    assert extra["services"]["mosquitto"]["ports"] == ["${MQTT_PORT:-1883}:1883"]
    assert env_example()["MQTT_PORT"] == "1883"
    # The switch is documented in .env.example: Compose reads COMPOSE_FILE from .env.
    files = env_example_commented()["COMPOSE_FILE"].split(":")
    assert files == [COMPOSE_FILE.name, MQTT_PORT_FILE.name]


def test_the_notifier_can_read_an_apprise_config_file() -> None:
    mounted = {t: (s, ro) for s, t, ro in volume_entries(service("notifier"))}
    assert mounted["/config/apprise"] == ("./apprise-config", True)
    readme = ROOT / "apprise-config" / "README.md"
    assert readme.is_file()
    documented = re.findall(r"config_file: (\S+)", readme.read_text())
    assert documented and all(d.startswith("/config/apprise/") for d in documented)
    assert "apprise-config/*.yml" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_passwd_service_runs_the_script_with_the_broker_image() -> None:
    passwd = service("passwd")
    assert passwd["image"] == service("mosquitto")["image"]
    assert passwd["profiles"] == ["setup"], "`docker compose up` must not run it"
    words = passwd["entrypoint"]
    assert words[:2] == ["sh", f"/mosquitto/config/{MAKE_PASSWD.name}"]
    assert words[2:] == ["/mosquitto/config/passwd", "1883:1883"]  # the uid of the image
    assert ("./mosquitto", "/mosquitto/config", False) in volume_entries(passwd)
    assert set(environment(passwd)) == SECRETS_OF["passwd"]


def test_the_cli_service_asks_as_the_trigger_user_with_its_own_client_id() -> None:
    cli = service("cli")
    env = environment(cli)
    assert env["ARRSYNC_MQTT__USERNAME"] == "trigger"
    assert env["ARRSYNC_SYNCER__CLIENT_ID"] != SyncerSettings.model_fields["client_id"].default
    assert cli["profiles"] == ["tools"]
    assert command_words(cli)[0] == "arrsync-syncer"


def test_the_bare_metal_config_is_the_docker_one_with_debian_paths() -> None:
    docker, bare = conf_lines(MOSQUITTO_DIR / "mosquitto.conf"), conf_lines(BARE_METAL_CONF)
    debian = {key for key, _value in conf_lines(DEBIAN_MAIN_CONF)}
    paths = {"password_file", "acl_file"}
    # Everything else is the same, except what Debian's main file already sets.
    assert [line for line in bare if line[0] not in paths] == \
        [line for line in docker if line[0] not in paths | debian]
    assert dict(bare)["password_file"] == "/etc/mosquitto/arrsync/passwd"
    assert dict(bare)["acl_file"] == "/etc/mosquitto/arrsync/acl"
    assert not debian & {key for key, _value in bare}, "an option Debian's file sets already"


# -- the healthchecks, run for real -----------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


def _python_probe(svc: dict[str, Any]) -> str:
    words = healthcheck_words(svc)
    assert words[:3] == ["CMD", "python", "-c"], words
    return words[3]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_bridge_healthcheck_follows_the_health_answer(status: int, healthy: bool) -> None:
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        probe = _python_probe(service("bridge"))
        assert ":5000/" in probe
        probe = probe.replace(":5000/", f":{server.server_address[1]}/")
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, timeout=20, check=False
        )
        assert (done.returncode == 0) is healthy, done.stderr
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["syncer", "notifier"])
def test_broker_connection_healthcheck(name: str) -> None:
    probe = _python_probe(service(name))
    compile(probe, f"<{name} healthcheck>", "exec")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**os.environ, "ARRSYNC_MQTT__PORT": str(port)}

        def healthy() -> bool:
            done = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, timeout=20, check=False
            )
            assert done.returncode in (0, 1), done.stderr
            return done.returncode == 0

        assert not healthy(), "healthy without a connection to the broker"
        with socket.create_connection(("127.0.0.1", port)):
            assert healthy(), "unhealthy while connected to the broker"
        assert not healthy(), "still healthy after the connection closed"


@pytest.fixture
def broker_folder() -> Iterator[Path]:
    """Not pytest's 0700 tmp: Mosquitto started as root may read its files as another user."""
    folder = Path(tempfile.mkdtemp(prefix="arrsync-healthcheck-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_mosquitto_healthcheck_logs_in(broker_folder: Path) -> None:
    if not (shutil.which("mosquitto_passwd") and shutil.which("mosquitto_sub")):
        pytest.skip("mosquitto and mosquitto-clients are not installed")
    user = environment(service("mosquitto"))["MQTT_HEALTHCHECK_USER"]
    passwd, acl, data = broker_folder / "passwd", broker_folder / "acl", broker_folder / "data"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwd), user, "right"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    passwd.chmod(0o600)
    shutil.copyfile(MOSQUITTO_DIR / "acl", acl)
    data.mkdir()
    if os.geteuid() == 0:
        # The account Mosquitto drops to when started as root (nobody if it has none).
        accounts = {a.pw_name: a for a in pwd.getpwall()}
        account = accounts.get("mosquitto") or accounts.get("nobody")
        if account is not None:
            for path in (passwd, acl, data):
                os.chown(path, account.pw_uid, account.pw_gid)
    broker = LocalBroker(data, password_file=passwd, acl_file=acl)
    broker.start()
    try:
        probe = healthcheck_words(service("mosquitto"))
        assert probe[0] == "CMD-SHELL"
        command = interpolate(probe[1], {})  # what Compose hands to the container's shell
        assert "-p 1883 " in command
        command = command.replace("-p 1883 ", f"-p {broker.port} ")

        def run(password: str) -> int:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "MQTT_HEALTHCHECK_USER": user,
                "MQTT_HEALTHCHECK_PASSWORD": password,
            }
            return subprocess.run(
                ["sh", "-c", command], env=env, capture_output=True, timeout=20, check=False
            ).returncode

        assert run("right") == 0
        assert run("wrong") != 0
    finally:
        broker.stop()
    assert run("right") != 0, "healthy with the broker stopped"


# -- the broker's set-up, run for real --------------------------------------------------------


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


# -- Dockerfile and .dockerignore -------------------------------------------------------------


def test_dockerfile_base_image_and_packages() -> None:
    instructions = dockerfile_instructions()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) == 1 and re.match(r"python:3\.11-slim(-\w+)?$", froms[0]), froms
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    apt = [r for r in runs if "apt-get install" in r]
    assert apt, "rsync is not installed"
    assert any(
        re.search(r"\brsync\b", r)
        and "--no-install-recommends" in r
        and "rm -rf /var/lib/apt/lists" in r
        for r in apt
    )
    pip = [r for r in runs if "pip install" in r]
    assert pip and all("--no-cache-dir" in r for r in pip), pip
    assert ("WORKDIR", "/app") in instructions
    assert any("/data" in r for r in runs), "no /data for the spool and job store"


def test_dockerfile_runs_as_a_non_root_user_from_puid_pgid() -> None:
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)
    assert args.get("PUID") == "1000" and args.get("PGID") == "1000", args
    users = [a for k, a in instructions if k == "USER"]
    assert users, "the image runs as root"
    user = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), users[-1])
    uid = user.split(":")[0]
    assert uid not in ("", "0", "root") and "$" not in user, user
    assert "PUID" in users[-1] and "PGID" in users[-1]


def test_dockerfile_default_command_and_no_secrets() -> None:
    instructions = dockerfile_instructions()
    cmd = [a for k, a in instructions if k == "CMD"]
    assert cmd and yaml.safe_load(cmd[-1])[0] == "arrsync-bridge"
    assert yaml.safe_load(cmd[-1])[0] in console_scripts()
    names = [a.split("=", 1)[0].split()[0] for k, a in instructions if k in ("ENV", "ARG")]
    secrets = [n for n in names if re.search(r"PASSWORD|SECRET|TOKEN|URLS", n, re.I)]
    assert not secrets, f"secrets baked into the image: {secrets}"
    copies = " ".join(a for k, a in instructions if k in ("COPY", "ADD"))
    assert ".env" not in copies and "passwd" not in copies


def test_dockerignore_keeps_secrets_out_and_the_packages_in() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the build context should be an allowlist"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    for private in (".env", "arrsync.yml", "mosquitto", "mosquitto/passwd", "data", ".venv"):
        assert not any(fnmatch.fnmatch(private, a) for a in allowed), private
    with PYPROJECT.open("rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and (p / "__init__.py").exists()
        and any(fnmatch.fnmatch(p.name, pattern) for pattern in include)
    ]
    assert packages, "no package found for pip install ."
    for needed in ["pyproject.toml", *packages]:
        assert any(fnmatch.fnmatch(needed, a) for a in allowed), f"{needed} is not in the image"


# -- arrsync.example.yml ----------------------------------------------------------------------


def test_config_example_loads_with_the_four_mappings(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings(CONFIG_EXAMPLE)
    found = [(m.name, m.arr_path, m.source, m.dest) for m in settings.syncer.mappings]
    assert found == MAPPINGS
    assert all(m.require_mount for m in settings.syncer.mappings)


def test_config_example_keys_exist_in_settings() -> None:
    raw = yaml.safe_load(CONFIG_EXAMPLE.read_text(encoding="utf-8"))
    unknown = [key for key in raw if key not in Settings.model_fields]
    for section, values in raw.items():
        annotation = Settings.model_fields[section].annotation if section not in unknown else None
        if isinstance(values, dict) and isinstance(annotation, type):
            fields = annotation.model_fields
            unknown += [f"{section}.{key}" for key in values if key not in fields]
    mapping_fields = Mapping.model_fields
    for mapping in raw["syncer"]["mappings"]:
        unknown += [f"syncer.mappings.{key}" for key in mapping if key not in mapping_fields]
    assert not unknown, f"not in Settings: {unknown}"


def commented_keys(text: str) -> set[tuple[str, str]]:
    """(section, key) for each `  # key:` line, under the section it appears in."""
    found, section = set(), ""
    for line in text.splitlines():
        if top := re.match(r"^(\w+):", line):
            section = top[1]
        elif (key := re.match(r"^  #\s*(\w+):", line)) and section:
            found.add((section, key[1]))
    return found


def test_config_example_shows_every_key_with_its_default(clean_env: pytest.MonkeyPatch) -> None:
    text = CONFIG_EXAMPLE.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    missing = []
    for section, field in Settings.model_fields.items():
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            if section not in raw:
                missing.append(section)
            continue
        for key in annotation.model_fields:
            if (section, key) in SECRET_KEYS:
                assert key not in raw.get(section, {}), f"secret {section}.{key} in the example"
                if (section, key) not in commented_keys(text):
                    missing.append(f"{section}.{key} (commented out)")
            elif key not in raw.get(section, {}):
                missing.append(f"{section}.{key}")
    assert not missing, f"arrsync.example.yml lacks {missing}"

    example = load_settings(CONFIG_EXAMPLE).model_dump(exclude={"syncer": {"mappings"}})
    defaults = Settings().model_dump(exclude={"syncer": {"mappings"}})
    differs = {
        f"{s}.{k}"
        for s, v in example.items()
        if isinstance(v, dict)
        for k in v
        if v[k] != defaults[s][k]
    }
    differs |= {s for s, v in example.items() if not isinstance(v, dict) and v != defaults[s]}
    assert not differs, f"arrsync.example.yml differs from the defaults in {sorted(differs)}"
