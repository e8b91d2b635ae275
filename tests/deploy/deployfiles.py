"""Readers for the deployment files, shared by the tests in tests/deploy.

docker-compose.yml (and its MQTT-port override), .env.example, the Dockerfile, pyproject.toml's
console scripts and Mosquitto config files are parsed as data; Compose's `${VAR}` interpolation
is reproduced so the tests can see what a container would get. Docker itself is not needed.
The two fixtures at the end are imported under their own names by the modules that use them.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
MQTT_PORT_FILE = ROOT / "docker-compose.mqtt-port.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
CONFIG_EXAMPLE = ROOT / "arrsync.example.yml"
PYPROJECT = ROOT / "pyproject.toml"
MOSQUITTO_DIR = ROOT / "mosquitto"
MAKE_PASSWD = MOSQUITTO_DIR / "make-passwd.sh"

APP_SERVICES = {
    "bridge": "arrsync-bridge",
    "syncer": "arrsync-syncer",
    "notifier": "arrsync-notify",
}
MAPPINGS = [
    ("Movies 1080p", "/movies", "/mnt/synology/rs-movies", "/mnt/unraid/media/Movies"),
    ("Movies 4K", "/movies4k", "/mnt/synology/rs-4kmedia/4kmovies", "/mnt/unraid/media/4K Movies"),
    ("TV 1080p", "/tv", "/mnt/synology/rs-tv", "/mnt/unraid/media/TV Shows"),
    ("TV 4K", "/tv4k", "/mnt/synology/rs-4kmedia/4ktv", "/mnt/unraid/media/4K TV Shows"),
]


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


def filled_env_example() -> dict[str, str]:
    """.env.example as a user must fill it: every empty value given one."""
    return {name: value or f"test-{name.lower()}" for name, value in env_example().items()}


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


def healthcheck_words(svc: dict[str, Any]) -> list[str]:
    test = svc["healthcheck"]["test"]
    return [test] if isinstance(test, str) else list(test)


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


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ARRSYNC_ variable from the machine running the tests leaks into Settings."""
    for name in list(os.environ):
        if name.upper().startswith("ARRSYNC_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def broker_folder() -> Iterator[Path]:
    """Not pytest's 0700 tmp: Mosquitto started as root may read its files as another user."""
    folder = Path(tempfile.mkdtemp(prefix="arrsync-healthcheck-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
