"""A second, named syncer on the same broker (docs/topologies.md): its own broker user with
the `syncer` user's ACL lines and its own discovery node, as the docs say; Home Assistant
must show it as a device of its own, beside the first, and both must copy an import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from arrsync.config import load_settings
from syncer.report.homeassistant import Discovery
from tests.homecheck.checks import Key, entity_problems, find_entities

NAME = "offsite"
USER = (NAME, "Offsite-Check-Secret-1")


def acl_lines() -> str:
    """The `syncer` user's lines of the project ACL, and its node's discovery line."""
    return (f"\nuser {NAME}\ntopic read arrsync/events/#\ntopic read arrsync/sync/request\n"
            "topic write arrsync/sync/#\ntopic readwrite arrsync/syncer/#\n"
            f"topic readwrite homeassistant/+/arrsync_{NAME}/#\n"
            "topic read homeassistant/status\n")


def write_config(first: Path, root: Path) -> Path:
    """The first syncer's config, named, with its own store and destination."""
    config: dict[str, Any] = yaml.safe_load(first.read_text())
    dest = root / "offsite" / "Movies"
    dest.mkdir(parents=True, exist_ok=True)
    syncer = config["syncer"]
    syncer.update(name=NAME, state_path=str(root / "data" / "offsite.db"))
    syncer.pop("client_id", None)  # arrsync-syncer-offsite, from the name
    syncer["mappings"] = [dict(m, dest=str(dest)) for m in syncer["mappings"]]
    path = root / "offsite.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def expected(config: Path) -> dict[Key, dict[str, Any]]:
    return Discovery(load_settings(config)).entities()


def device_problems(first: dict[Key, dict[str, Any]], second: dict[Key, dict[str, Any]],
                    states: dict[str, dict[str, Any]], mqtt_entities: list[str]) -> list[str]:
    """Both devices whole, with nothing shared and nothing else."""
    problems = entity_problems(second, states)
    ids = {s["entity_id"] for s in find_entities(first, states).values()}
    theirs = {s["entity_id"] for s in find_entities(second, states).values()}
    if ids & theirs:
        problems.append(f"the two syncers share entities: {sorted(ids & theirs)}")
    if len(mqtt_entities) != len(first) + len(second):
        problems.append(f"Home Assistant has {len(mqtt_entities)} MQTT entities, "
                        f"{len(first)} + {len(second)} announced")
    return problems
