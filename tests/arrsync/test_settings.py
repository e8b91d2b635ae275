"""The shared config loader: YAML, environment overrides, clear and redacted errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arrsync.config import ConfigError, load_settings

GOOD = """
log_level: debug
mqtt:
  host: broker.lan
  username: syncer
  password: hunter2-very-secret
bridge:
  username: radarr
  password: webhook-secret-123
syncer:
  workers: 3
  mappings:
    - name: Movies 1080p
      arr_path: /movies/
      source: /mnt/synology/rs-movies
      dest: /mnt/unraid/media/Movies
notify:
  urls: ["json://localhost:9/hook"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arrsync.yml"
    path.write_text(text)
    return path


def test_yaml_values_are_read_and_normalised(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.log_level == "DEBUG"
    assert settings.mqtt.host == "broker.lan"
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "hunter2-very-secret"
    assert settings.syncer.workers == 3
    assert settings.syncer.mappings[0].arr_path == "/movies"
    assert settings.bridge.port == 5000  # default kept


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRSYNC_MQTT__PASSWORD", "from-env")
    monkeypatch.setenv("ARRSYNC_MQTT__PORT", "1884")
    monkeypatch.setenv("ARRSYNC_NOTIFY__URLS", "tgram://123:abc/456 json://x/y")
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.mqtt.password.get_secret_value() == "from-env"
    assert settings.mqtt.port == 1884
    assert settings.mqtt.host == "broker.lan"  # the rest of the section stays
    assert [u.get_secret_value() for u in settings.notify.urls] == [
        "tgram://123:abc/456", "json://x/y"]


def test_config_env_variable_names_the_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRSYNC_CONFIG", str(write(tmp_path, GOOD)))
    assert load_settings().mqtt.host == "broker.lan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mqtt:\n  hots: x\n", "unknown key `mqtt.hots` (did you mean `host`?)"),
        ("syncer:\n  worker: 3\n", "unknown key `syncer.worker` (did you mean `workers`?)"),
        ("mqt:\n  host: x\n", "unknown key `mqt` (did you mean `mqtt`?)"),
        ("syncer:\n  mappings:\n    - {name: a, arr_path: /m, source: /s, dest: /d, "
         "requre_mount: true}\n",
         "unknown key `syncer.mappings[0].requre_mount` (did you mean `require_mount`?)"),
        ("notify:\n  xyzzy: 1\n", "unknown key `notify.xyzzy` (see docs/configuration.md)"),
        ("mqtt:\n  port: many\n", "mqtt.port"),
        ("syncer:\n  workers: 0\n", "syncer.workers"),
        ("- a\n- b\n", "must be a mapping of sections"),
        ("mqtt: [\n", "line"),
        ("syncer:\n  mappings:\n    - {name: a, arr_path: movies, source: /s, dest: /d}\n",
         "must be an absolute path"),
        ("syncer:\n  mappings:\n    - {name: a, arr_path: /m, source: /s, dest: /s/copy}\n",
         "overlaps the source"),
        ("syncer:\n  mappings:\n    - {name: a, arr_path: /m, source: /s, dest: /d}\n"
         "    - {name: b, arr_path: /m/, source: /t, dest: /e}\n", "same arr_path"),
    ],
)
def test_bad_config_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert expected in str(caught.value)


def test_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yml")


@pytest.mark.parametrize("command", ["bridge", "syncer", "notify"])
def test_every_command_exits_1_with_a_redacted_message(tmp_path: Path, command: str) -> None:
    bad = GOOD.replace("workers: 3", "workers: -1").replace("host: broker.lan", "hots: x")
    path = write(tmp_path, bad)
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; from {_module(command)} import main; "
         "sys.exit(main(sys.argv[1:]))", "--config", str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 1
    assert "syncer.workers" in result.stderr
    assert "mqtt.hots" in result.stderr
    for secret in ("hunter2-very-secret", "webhook-secret-123", "json://localhost:9/hook"):
        assert secret not in result.stderr + result.stdout


def _module(command: str) -> str:
    return {"bridge": "bridge.__main__", "syncer": "syncer.__main__",
            "notify": "notifier.__main__"}[command]


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        ("  title_template: '{nope} {title}'\n", "unknown field {nope}"),
        ("  urls: ['nosuchservice://secret-token-123/abc']\n", "nosuchservice://"),
        ("  config_file: /nonexistent/apprise.yml\n", "does not exist"),
    ],
)
def test_notifier_exits_1_on_a_bad_notify_section(tmp_path: Path, notify: str,
                                                  expected: str) -> None:
    path = write(tmp_path, f"notify:\n{notify}")
    result = subprocess.run(
        [sys.executable, "-m", "notifier", "--config", str(path)],
        capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "secret-token-123" not in result.stderr + result.stdout


def test_relative_paths_resolve_against_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "etc" / "arrsync"
    folder.mkdir(parents=True)
    config = write(folder, "syncer:\n  state_path: data/syncer.db\n"
                           "bridge:\n  spool_path: /var/lib/arrsync/spool.db\n"
                           "notify:\n  config_file: apprise.yml\n")
    monkeypatch.chdir("/")
    settings = load_settings(config)
    assert settings.syncer.state_path == folder / "data" / "syncer.db"
    assert settings.bridge.spool_path == Path("/var/lib/arrsync/spool.db")  # absolute: kept
    assert settings.notify.config_file == folder / "apprise.yml"
    monkeypatch.setenv("ARRSYNC_SYNCER__STATE_PATH", "other.db")  # from the environment too
    assert load_settings(config).syncer.state_path == folder / "other.db"


def test_a_syncer_command_run_from_the_root_finds_the_store_beside_its_config(
    tmp_path: Path,
) -> None:
    config = write(tmp_path, "syncer:\n  state_path: ./data/syncer.db\n")
    done = subprocess.run([str(Path(sys.executable).parent / "arrsync-syncer"), "--config",
                           str(config), "jobs"], cwd="/", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert f"no job store at {tmp_path / 'data' / 'syncer.db'} yet" in done.stdout
