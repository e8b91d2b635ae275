"""The variables agree: docker-compose.yml, .env.example and the Dockerfile against Settings.

Every `${VAR}` Compose interpolates is defined in .env.example, which ships no secret; every
ARRSYNC_ variable names a real Settings field; each app service's environment, with
.env.example filled in, loads arrsync.example.yml as intended; the documented overrides work.
First, the helpers these checks lean on are shown able to say no.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from arrsync.config import CONFIG_ENV, load_settings
from arrsync.settings import Settings
from tests.deploy.deployfiles import (
    APP_SERVICES,
    COMPOSE_FILE,
    CONFIG_EXAMPLE,
    MAPPINGS,
    MQTT_PORT_FILE,
    command_words,
    compose,
    compose_mqtt_port,
    dockerfile_instructions,
    duration_seconds,
    env_example,
    env_example_commented,
    environment,
    filled_env_example,
    interpolate,
    service,
    variables_used,
    volume_entries,
)

# The fixture, imported under its own name for pytest to find it here.


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
