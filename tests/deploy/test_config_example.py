"""arrsync.example.yml against the Settings model.

It loads with the four mappings, has no key Settings lacks, and shows every setting (secrets
commented out) with its default value.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from arrsync.config import load_settings
from arrsync.settings import Mapping, Settings
from tests.deploy.deployfiles import CONFIG_EXAMPLE, MAPPINGS

# The fixture, imported under its own name for pytest to find it here.

SECRET_KEYS = {("mqtt", "password"), ("bridge", "password"), ("notify", "urls")}


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
    # The data files: where a service install keeps them (docs/bare-metal.md), not the
    # defaults, which are relative (beside the config file); Docker sets both in compose.
    assert example["bridge"].pop("spool_path") == Path("/var/lib/arrsync/bridge-spool.db")
    assert example["syncer"].pop("state_path") == Path("/var/lib/arrsync/syncer.db")
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
