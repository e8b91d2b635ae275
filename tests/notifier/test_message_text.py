"""The text of the messages: templates and their helpers, what mirror actions say, and the
Markdown Telegram gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arrsync.units import human_size
from arrsync.wire.job import JobState
from notifier.grouping import RepeatFilter
from notifier.messages import MessageBuilder, TemplateError, group_title
from notifier.sender import AppriseSender
from tests.notifier.notifier_stack import status_message


def test_templates_and_helpers() -> None:
    builder = MessageBuilder("{icon} {title}", "{size} · {speed} · {attempt}/{max_attempts}")
    message = builder.jobs([status_message("j", JobState.SUCCEEDED)])
    assert (message.title, message.body) == ("✅ Film (2020)", "1.0 GB · 100.0 MB/s · 1/5")
    with pytest.raises(TemplateError, match="unknown field"):
        MessageBuilder("{nope}", None)
    assert human_size(14_600_000_000) == "14.6 GB"
    episodes = [status_message(str(n), JobState.SUCCEEDED, title=f"Show (2020) S02E0{n}",
                               series="Show (2020)", episodes=[{"season": 2, "episode": n}])
                for n in range(1, 4)]
    assert group_title(episodes) == "Show (2020) S02"
    films = [status_message(str(n), JobState.SUCCEEDED, title=f"Film {n}") for n in range(3)]
    assert group_title(films) == "Film 0 and 2 more"


def test_a_refused_import_and_a_season_pack_are_told_as_they_are() -> None:
    builder = MessageBuilder(None, None)
    refused = builder.jobs([status_message("r", JobState.FAILED, mapping=None, attempt=0,
                                           max_attempts=0, error="'/x' is under no mapping")])
    assert refused.title == "❌ Film (2020) failed: not synced"
    assert refused.body == "'/x' is under no mapping"  # no "Attempt 0/0", no "→ arrsync"
    pack = builder.jobs([status_message("p", JobState.SUCCEEDED, files=3, series="Show",
                                        episodes=[{"season": 1, "episode": n}
                                                  for n in range(1, 6)])])
    assert pack.body.startswith("3 files (5 episodes), ")  # three multi-episode files


class FakeTelegram:
    """Stands in for api.telegram.org, the one thing that cannot exist here."""

    status_code = 200
    content = b'{"ok": true, "result": {}}'
    text = content.decode()

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def post(self, url: str, **kwargs: Any) -> FakeTelegram:
        self.requests.append((url, json.loads(kwargs.get("data") or "{}")))
        return self

    def json(self) -> dict[str, Any]:
        return {"ok": True, "result": {}}


def test_telegram_gets_markdown_that_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    import apprise.plugins.telegram

    telegram = FakeTelegram()
    monkeypatch.setattr(apprise.plugins.telegram.requests, "post", telegram.post)
    sender = AppriseSender(["tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"],
                           None, attempts=1)
    sender.start()
    builder = MessageBuilder(None, None)
    failed = status_message("j", JobState.FAILED, dest="/mnt/unraid/media/Movies/Film_2020",
                            error="rsync failed (exit 11)")
    sender.send(builder.jobs([failed]), None)
    sender.stop()
    ((url, payload),) = telegram.requests
    assert url.endswith("/sendMessage")
    assert payload["chat_id"] == 987654321
    assert payload["parse_mode"].lower().startswith("markdown")
    text = payload["text"]
    assert text.startswith("*❌ Film (2020) → Movies failed*\n")  # a bold title
    assert "Film\\_2020" in text  # Markdown-escaped, so the path renders as written


def test_mirror_actions_say_what_they_did() -> None:
    builder = MessageBuilder(None, None)
    moved = [{"from_path": "/a", "to_path": "/b"}, {"from_path": "/c", "to_path": "/d"}]
    rename = status_message("r", JobState.SUCCEEDED, action="rename", moved=moved, bytes=0)
    assert builder.jobs([rename]).body == "renamed 2 file(s) at the destination"
    recycle = status_message("d", JobState.SUCCEEDED, action="recycle", moved=moved[:1])
    assert builder.jobs([recycle]).body == "moved 1 file(s) or folder(s) to the recycle bin"
    replace = status_message("u", JobState.SUCCEEDED, action="replace", moved=moved[:1])
    assert builder.jobs([replace]).body.startswith("upgrade replaced: 1 file, 1.0 GB in ")
    dry = status_message("x", JobState.SUCCEEDED, action="recycle", moved=moved, dry_run=True)
    assert builder.jobs([dry]).body.startswith("dry run, nothing changed: moved 2")
    skipped = status_message("s", JobState.SKIPPED, error="the destination already has it")
    assert builder.jobs([skipped]).body == "the destination already has it"


def test_recovered_only_when_what_failed_now_works() -> None:
    repeats = RepeatFilter()
    missing = status_message("a", JobState.FAILED, error="Dune.mkv is not there (yet)")
    assert repeats.first_time(missing)
    assert not repeats.first_time(missing)  # the same failure again: said once
    other = status_message("b", JobState.SUCCEEDED, title="Heat (1995)")
    assert repeats.recovered(other) == []  # another movie's success cures nothing
    assert repeats.recovered(status_message("a", JobState.SUCCEEDED)) == [
        ("Movies", "Dune.mkv is not there (yet)")]  # the failed job itself now works
    held = status_message("c", JobState.RETRYING, held=True, error="anchor missing")
    assert repeats.first_time(held)
    assert repeats.recovered(other) == [("Movies", "anchor missing")]  # the mapping syncs
