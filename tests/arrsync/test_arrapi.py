"""The arr API client against the stand-in arr: what it asks, what it understands, and a
clear message (naming the arr, never holding the key) for everything that goes wrong."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from arrsync.arrs.client import ArrClient, ArrUnreadable
from arrsync.settings import ArrInstance
from tests.arr_standin import StandInArr

KEY = "1f2e3d4c5b6a79881f2e3d4c5b6a7988"


def instance(arr: StandInArr | None = None, *, url: str | None = None, key: str | None = KEY,
             app: str = "radarr") -> ArrInstance:
    return ArrInstance.model_validate({"name": "My Arr", "app": arr.app if arr else app,
                                       "url": url or (arr.url if arr else ""), "api_key": key})


@pytest.fixture
def radarr() -> Iterator[StandInArr]:
    with StandInArr("radarr", KEY, url_base="/radarr") as arr:
        yield arr


def test_history_since_is_inclusive_oldest_first_with_the_movie(radarr: StandInArr) -> None:
    second = datetime.now(UTC).replace(microsecond=0)
    movies = [radarr.add_movie(f"Movie {n}", 1990 + n, f"/movies/M{n}/M{n}.mkv", 10 + n)
              for n in range(3)]
    radarr.record_movie_import(movies[2], at=second + timedelta(milliseconds=700))
    radarr.record_movie_import(movies[1], at=second + timedelta(milliseconds=200))
    radarr.record_movie_import(movies[0], at=second - timedelta(seconds=1))
    with ArrClient(instance(radarr)) as client:
        found = client.imports_since(second)
    assert [(i.movie_title, i.year, i.imported_path, i.size) for i in found] == [
        ("Movie 1", 1991, "/movies/M1/M1.mkv", 11), ("Movie 2", 1992, "/movies/M2/M2.mkv", 12)]
    assert [i.date for i in found] == [second, second]  # whole seconds, as the arrs write
    assert found[0].record["data"]["importedPath"] == "/movies/M1/M1.mkv"
    assert found[0].download_id == found[0].record["downloadId"]
    (asked,) = radarr.seen("/history/since")
    assert asked.query["date"] == [second.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert asked.query["includeMovie"] == ["true"]
    assert asked.headers["x-api-key"] == KEY and "gzip" in asked.headers["accept-encoding"]


def test_sonarr_history_has_series_and_episode_and_the_library_uses_one_connection() -> None:
    with StandInArr("sonarr", KEY) as sonarr:
        shows = [sonarr.add_series(f"Show {n}", f"/tv/Show {n}") for n in range(4)]
        files = [sonarr.add_episode_file(show, "Season 2/E.mkv", 50, [(2, 5), (2, 6)])
                 for show in shows]
        sonarr.record_episode_import(files[0])
        with ArrClient(instance(sonarr)) as client:
            found = client.imports_since(datetime.now(UTC) - timedelta(minutes=1))
            library = client.library()
        requests = sonarr.seen("")
    assert [(i.series_title, i.season, i.episode) for i in found] == [
        ("Show 0", 2, 5), ("Show 0", 2, 6)]
    assert [(f.path, f.size, f.title) for f in library] == [
        (f"/tv/Show {n}/Season 2/E.mkv", 50, f"Show {n} S02") for n in range(4)]
    assert [r.query.get("seriesId") for r in requests[2:]] == [[str(s)] for s in shows]
    assert len({r.connection for r in requests}) == 1


def test_radarr_library_is_one_call_with_each_movies_file(radarr: StandInArr) -> None:
    radarr.add_movie("Dune", 2021, "/movies/Dune (2021)/Dune.mkv", 123)
    with ArrClient(instance(radarr)) as client:
        (file,) = client.library()
    assert (file.path, file.size, file.title) == ("/movies/Dune (2021)/Dune.mkv", 123,
                                                  "Dune (2021)")
    assert [r.path for r in radarr.requests] == ["/radarr/api/v3/movie"]


def problem(arr: ArrInstance, call: str = "history") -> str:
    with ArrClient(arr, timeout=2) as client, pytest.raises(ArrUnreadable) as error:
        if call == "history":
            client.imports_since(datetime.now(UTC))
        else:
            client.library()
    assert error.value.arr_name == "My Arr"
    assert KEY not in str(error.value)
    return str(error.value)


def test_a_wrong_key_is_a_401_with_an_empty_body(radarr: StandInArr) -> None:
    message = problem(instance(radarr, key="not-the-key"))
    assert message == (f"My Arr at {radarr.url}: refused the API key (HTTP 401); set "
                       "arrs[].api_key to the arr's Settings > General > API Key")


def test_a_missing_url_base_is_named(radarr: StandInArr) -> None:
    url = radarr.url.removesuffix("/radarr")
    assert problem(instance(radarr, url=url), "library") == (
        f"My Arr at {url}: has no /api/v3/movie (HTTP 404); is the url right, with the arr's "
        "URL base?")


def test_a_login_page_instead_of_json(radarr: StandInArr) -> None:
    radarr.garbage = True
    assert problem(instance(radarr)).endswith(
        "answered /api/v3/history/since with something that is not JSON (text/html); is the "
        "url the arr's?")


def test_no_key_configured_asks_nothing(radarr: StandInArr) -> None:
    assert "no api_key is set" in problem(instance(radarr, key=None))
    assert radarr.requests == []


def test_nobody_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert problem(instance(url=url)).startswith(f"My Arr at {url}: cannot connect (")


def test_an_arr_that_never_answers_times_out() -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        with ArrClient(instance(url=url), timeout=0.3) as client, \
                pytest.raises(ArrUnreadable, match="no answer to /api/v3/history/since in time"):
            client.imports_since(datetime.now(UTC))
    finally:
        for connection in held:
            connection.close()
        silent.close()


def test_credentials_in_the_url_are_not_shown(radarr: StandInArr) -> None:
    url = radarr.url.replace("http://", "http://admin:pa55word@")
    message = problem(instance(radarr, url=url, key="wrong"))
    assert "pa55word" not in message and message.startswith(f"My Arr at {radarr.url}:")


def test_a_record_in_an_unexpected_shape_is_skipped_the_rest_is_read(
    radarr: StandInArr, caplog: pytest.LogCaptureFixture,
) -> None:
    movie = radarr.add_movie("Dune", 2021, "/movies/Dune/Dune.mkv", 5)
    good = radarr.record_movie_import(movie)
    broken = radarr.record_movie_import(movie)
    broken["id"] = "not a number"
    no_path = radarr.record_movie_import(movie)
    del no_path["data"]["importedPath"]
    with caplog.at_level(logging.WARNING), ArrClient(instance(radarr)) as client:
        found = client.imports_since(datetime.now(UTC) - timedelta(minutes=1))
    assert [i.id for i in found] == [good["id"]]
    assert "My Arr: skipped a history record in an unexpected shape (id: " in caplog.text
    assert f"My Arr: history record {no_path['id']} names no importedPath; skipped" \
        in caplog.text
