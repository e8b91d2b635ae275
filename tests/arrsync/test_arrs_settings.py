"""`arrs:` and `catch_up:`: read from YAML or the environment, checked, the key kept secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from arrsync.config import ConfigError, load_settings
from arrsync.logs import RedactingFormatter
from arrsync.topics import Topics

KEY = "9a8b7c6d5e4f30211a2b3c4d5e6f7081"
CONFIG = f"""
arrs:
  - name: Radarr 4K
    app: radarr
    url: http://nas.lan/radarr4k/
    api_key: {KEY}
  - name: Sonarr
    app: sonarr
    url: https://sonarr.lan:8989
catch_up:
  interval: 0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arrsync.yml"
    path.write_text(text)
    return path


def test_arrs_from_yaml(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG))
    radarr, sonarr = settings.arrs
    assert (radarr.name, radarr.app, radarr.url) == ("Radarr 4K", "radarr",
                                                     "http://nas.lan/radarr4k")
    assert radarr.api_key is not None and radarr.api_key.get_secret_value() == KEY
    assert KEY not in repr(settings) and KEY not in str(radarr)
    assert sonarr.api_key is None and not sonarr.has_key()
    assert settings.catch_up.interval == 0
    assert KEY in settings.secrets()
    assert Topics("arrsync").audit(radarr.name) == "arrsync/audit/radarr-4k"


def test_defaults_have_no_arrs_and_read_every_15_minutes(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "log_level: INFO\n"))
    assert settings.arrs == []
    assert settings.catch_up.interval == 900


def test_arrs_from_the_environment_as_json(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARRSYNC_ARRS", json.dumps(
        [{"name": "Radarr", "app": "radarr", "url": "http://radarr:7878", "api_key": KEY}]))
    monkeypatch.setenv("ARRSYNC_CATCH_UP__INTERVAL", "60")
    settings = load_settings(write(tmp_path, CONFIG))
    assert [arr.name for arr in settings.arrs] == ["Radarr"]  # the environment wins
    assert settings.catch_up.interval == 60
    assert KEY in settings.secrets()


@pytest.mark.parametrize(("arrs", "problem"), [
    ([{"name": "Lidarr", "app": "lidarr", "url": "http://x"}], "arrs[0].app: Input should be"),
    ([{"name": "R", "app": "radarr", "url": "radarr:7878"}], "arrs[0].url: Value error, must "
                                                             "start with http:// or https://"),
    ([{"name": "a/b", "app": "radarr", "url": "http://x"}], "arrs[0].name: Value error"),
    ([{"name": "Radarr 4K", "app": "radarr", "url": "http://x"},
      {"name": "radarr  4k", "app": "radarr", "url": "http://y"}], "two arrs are named"),
    ([{"name": "R", "app": "radarr", "url": "http://x", "apikey": KEY}],
     "unknown key `arrs[0].apikey` (did you mean `api_key`?)"),
])
def test_bad_arrs_are_refused_clearly_and_without_the_key(
    tmp_path: Path, arrs: list[dict[str, str]], problem: str,
) -> None:
    for arr in arrs:
        arr.setdefault("api_key", KEY)
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, json.dumps({"arrs": arrs})))
    assert problem in str(error.value)
    assert KEY not in str(error.value)


def test_a_negative_interval_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, "catch_up:\n  interval: -1\n"))
    assert "catch_up.interval: Input should be greater than or equal to 0" in str(error.value)


def test_the_key_is_masked_in_every_log_line(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG))
    formatter = RedactingFormatter("%(message)s", settings.secrets())
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent key %s", (KEY,), None)
    assert formatter.format(record) == "sent key ***"
