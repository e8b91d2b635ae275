"""Reading the configuration: the YAML file (or `$ARRSYNC_CONFIG`), then `ARRSYNC_…` overrides.

`load_settings` is the only entry point; it raises `ConfigError` with a message that never
contains a secret or a raw input value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from arrsync.settings import Settings

CONFIG_ENV = "ARRSYNC_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message is safe to print."""


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of sections, not a list or text")
    return data


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the YAML file (or `$ARRSYNC_CONFIG`), apply environment overrides, validate."""
    chosen = path or os.environ.get(CONFIG_ENV)
    data = _read_yaml(Path(chosen)) if chosen else {}
    try:
        return Settings(**data)
    except ValidationError as exc:
        source = chosen or "the environment"
        raise ConfigError(f"invalid configuration in {source}:\n{_describe(exc)}") from None
    except (ValueError, json.JSONDecodeError) as exc:  # a malformed environment value
        raise ConfigError(f"invalid ARRSYNC_ environment value: {type(exc).__name__}") from None
