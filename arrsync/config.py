"""Reading the configuration: the YAML file (or `$ARRSYNC_CONFIG`), then `ARRSYNC_…` overrides.

`load_settings` is the only entry point; it raises `ConfigError` with a message that never
contains a secret or a raw input value.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from arrsync.settings import Settings

CONFIG_ENV = "ARRSYNC_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message is safe to print."""


def _where(loc: tuple[int | str, ...]) -> str:
    """`syncer.mappings[0].dest`: the key as it is written in the YAML file."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _section_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model that holds the keys at `loc` (list indexes skipped)."""
    model: type[BaseModel] = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = [t for t in (field.annotation, *get_args(field.annotation))
                 if isinstance(t, type) and issubclass(t, BaseModel)]
        if not inner:
            return None
        model = inner[0]
    return model


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """"unknown key `syncer.worker` (did you mean `workers`?)" instead of pydantic's words."""
    section = _section_at(loc[:-1])
    guesses = difflib.get_close_matches(str(loc[-1]), list(section.model_fields), n=1) \
        if section else []
    hint = f"did you mean `{guesses[0]}`?" if guesses else "see docs/configuration.md"
    return f"unknown key `{_where(loc)}` ({hint})"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        if item["type"] == "extra_forbidden" and item["loc"]:
            lines.append(f"  {_unknown_key(item['loc'])}")
        else:
            lines.append(f"  {_where(item['loc'])}: {item['msg']}")
    return "\n".join(lines)


def config_source(path: str | Path | None = None) -> str | None:
    """The config file `load_settings(path)` reads: `path`, else `$ARRSYNC_CONFIG`, else None."""
    return str(path) if path else os.environ.get(CONFIG_ENV) or None


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
    chosen = config_source(path)
    data = _read_yaml(Path(chosen)) if chosen else {}
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        source = chosen or "the environment"
        raise ConfigError(f"invalid configuration in {source}:\n{_describe(exc)}") from None
    except (ValueError, json.JSONDecodeError) as exc:  # a malformed environment value
        raise ConfigError(f"invalid ARRSYNC_ environment value: {type(exc).__name__}") from None
    return beside(settings, Path(chosen).resolve().parent) if chosen else settings


def beside(settings: Settings, folder: Path) -> Settings:
    """The settings with every relative file path made absolute against `folder` (the
    config file's): a service started from `/` finds its store beside its config."""
    def anchored(path: Path) -> Path:
        return path if path.is_absolute() else folder / path

    notify, tls = settings.notify, settings.mqtt.tls
    if tls is not None:
        tls = tls.model_copy(update={name: anchored(path) for name in ("ca_file", "cert_file",
                                                                        "key_file")
                                     if (path := getattr(tls, name)) is not None})
    return settings.model_copy(update={
        "mqtt": settings.mqtt.model_copy(update={"tls": tls}),
        "bridge": settings.bridge.model_copy(
            update={"spool_path": anchored(settings.bridge.spool_path)}),
        "syncer": settings.syncer.model_copy(
            update={"state_path": anchored(settings.syncer.state_path)}),
        "notify": notify.model_copy(update={
            "config_file": anchored(notify.config_file) if notify.config_file else None}),
    })
