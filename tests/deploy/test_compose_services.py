"""Each docker-compose.yml service is shaped as the project needs.

Commands are console scripts, ports, volumes and dependencies are right, each service gets only
its own secrets, the broker's port is published only on request, and the Mosquitto service
matches the repository's mosquitto/ folder. The healthchecks are run in test_healthchecks.py.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from arrsync.settings import BridgeSettings, SyncerSettings
from tests.deploy.deployfiles import (
    APP_SERVICES,
    COMPOSE_FILE,
    MAKE_PASSWD,
    MAPPINGS,
    MOSQUITTO_DIR,
    MQTT_PORT_FILE,
    ROOT,
    command_words,
    compose,
    compose_mqtt_port,
    conf_lines,
    console_scripts,
    duration_seconds,
    env_example,
    env_example_commented,
    environment,
    healthcheck_words,
    interpolate,
    service,
    variables_used,
    volume_entries,
)


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def mosquitto_conf() -> dict[str, str]:
    return dict(conf_lines(MOSQUITTO_DIR / "mosquitto.conf"))


def test_compose_has_the_four_services_and_no_obsolete_version_key() -> None:
    assert {"mosquitto", "bridge", "syncer", "notifier"} <= set(compose()["services"])
    assert "version" not in compose()


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
