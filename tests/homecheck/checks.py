"""What the check finds wrong, one line per problem: the entities Home Assistant made of
the discovery configs, its log, and the metrics Prometheus scrapes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # (component, object id)
MAX_STATE = 255
DOCS = Path(__file__).resolve().parents[2] / "docs" / "home-tools.md"
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) \(([^)]*)\) \[([^\]]+)\] (.*)$")
# What the entity's attributes must say, from the config's keys.
ATTRIBUTES = {"unit_of_measurement": "unit_of_measurement", "device_class": "device_class",
              "state_class": "state_class"}


def friendly_name(config: dict[str, Any]) -> str:
    """The name Home Assistant gives an entity of a device: the device's, then its own."""
    return f"{config['device']['name']} {config['name']}"


def find_entities(expected: dict[Key, dict[str, Any]],
                  states: dict[str, dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    by_name = {s["attributes"].get("friendly_name"): s for s in states.values()}
    return {key: by_name[name] for key, config in expected.items()
            if (name := friendly_name(config)) in by_name}


def entity_problems(expected: dict[Key, dict[str, Any]],
                    states: dict[str, dict[str, Any]]) -> list[str]:
    found = find_entities(expected, states)
    problems = [f"missing entity: {component} {friendly_name(config)!r} ({key})"
                for (component, key), config in expected.items() if (component, key) not in found]
    for key, state in found.items():
        config, entity, value = expected[key], state["entity_id"], str(state["state"])
        if value.lower() == "none":
            problems.append(f"{entity} shows the text {value!r}")
        if len(value) > MAX_STATE:
            problems.append(f"{entity} has a state of {len(value)} characters")
        for option, attribute in ATTRIBUTES.items():
            want, have = config.get(option), state["attributes"].get(attribute)
            if want != have:
                problems.append(f"{entity}: {attribute} is {have!r}, the config says {want!r}")
    return problems


def log_problems(log: str) -> list[str]:
    """Home Assistant's WARNING and ERROR lines about MQTT or arrsync."""
    problems = []
    for line in log.splitlines():
        match = LOG_LINE.match(line)
        if match and re.search(r"mqtt|arrsync", f"{match[3]} {match[4]}", re.IGNORECASE):
            problems.append(f"Home Assistant log: {match[1]} [{match[3]}] {match[4][:300]}")
    return problems


def documented_metrics() -> set[str]:
    return set(re.findall(r"`(arrsync_\w+)`", DOCS.read_text()))


def metric_problems(text: str, documented: set[str]) -> tuple[list[str], set[str]]:
    """Series nobody documented, `_created` series; returns them and the series names."""
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    names = set(re.findall(r"^([a-zA-Z_:][\w:]*)", text, re.MULTILINE))
    problems = [f"metrics: a _created series: {n}" for n in sorted(names) if
                n.endswith("_created")]
    for name in sorted(names):
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        shown = family if types.get(family) == "histogram" else name
        if shown not in documented:
            problems.append(f"metrics: {name} is not in docs/home-tools.md")
    return problems, names
