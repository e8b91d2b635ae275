"""docker-compose.syncer.yml: one syncer for another host, with its own name, logging in
to the broker elsewhere. Its variables are documented in .env.example, and what the
container gets loads as a named syncer of the example config."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml

from arrsync.config import load_settings
from tests.deploy.deployfiles import (
    CONFIG_EXAMPLE,
    ROOT,
    clean_env,
    command_words,
    env_example,
    env_example_commented,
    environment,
    filled_env_example,
    interpolate,
    variables_used,
    volume_entries,
)

__all__ = ["clean_env"]


@functools.cache
def syncer_compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.syncer.yml").read_text(encoding="utf-8"))


def test_every_variable_is_documented_in_env_example() -> None:
    documented = set(env_example()) | set(env_example_commented())
    assert variables_used(syncer_compose()) - documented == set()


def test_the_container_is_a_named_syncer_of_the_example_config(
    clean_env: pytest.MonkeyPatch,
) -> None:
    (name, svc), = syncer_compose()["services"].items()
    assert name == "syncer"
    assert command_words(svc)[0] == "arrsync-syncer"
    dotenv = {**filled_env_example(), "MQTT_HOST": "nas.lan", "SYNCER_NAME": "unraid"}
    for key, value in environment(svc).items():
        clean_env.setenv(key, interpolate(value, dotenv))
    settings = load_settings(CONFIG_EXAMPLE)
    assert (settings.mqtt.host, settings.syncer.name) == ("nas.lan", "unraid")
    assert settings.syncer.client_id == "arrsync-syncer-unraid"
    assert str(settings.syncer.state_path) == "/data/syncer.db"
    mounts = {target: (source, ro) for source, target, ro in volume_entries(svc)}
    assert mounts["/config/tls"] == ("./tls", True)
    assert any(volume.startswith("${SOURCE_SHARE") and volume.endswith(":ro")
               for volume in svc["volumes"])  # the source is only ever read


def test_it_refuses_to_start_without_its_name_or_broker() -> None:
    (svc,) = syncer_compose()["services"].values()
    env = environment(svc)
    for missing in ("SYNCER_NAME", "MQTT_HOST"):
        values = {**filled_env_example(), "MQTT_HOST": "nas.lan", "SYNCER_NAME": "unraid"}
        del values[missing]
        with pytest.raises(LookupError, match=missing):
            [interpolate(value, values) for value in env.values()]
