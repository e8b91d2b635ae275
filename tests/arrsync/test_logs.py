"""Secrets never reach a log line, even as a fragment of an Apprise URL."""

from __future__ import annotations

import logging

from arrsync.logs import MASK, RedactingFormatter

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
URL = f"tgram://{TOKEN}/987654321"


def test_formatter_masks_secrets_and_their_url_parts() -> None:
    formatter = RedactingFormatter("%(message)s", ["s3cr3t-password", URL])
    record = logging.LogRecord("x", logging.ERROR, __file__, 1,
                               "login with %s failed; token %s; url %s",
                               ("s3cr3t-password", TOKEN, URL), None)
    line = formatter.format(record)
    assert "s3cr3t" not in line
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in line
    assert line.count(MASK) == 3


def redact(secrets: list[str], line: str) -> str:
    return RedactingFormatter("%(message)s", secrets).redact(line)


def test_host_names_addresses_and_ports_of_an_apprise_url_stay_readable() -> None:
    url = "json://arrsync:Wh1sper-Pass@127.0.0.1:8080/hooks/notify-me-token"
    line = redact([url], "posting to 127.0.0.1:8080 failed for json://arrsync:"
                         "Wh1sper-Pass@127.0.0.1:8080/hooks/notify-me-token (json)")
    assert "127.0.0.1:8080 failed" in line
    assert "Wh1sper-Pass" not in line and "notify-me-token" not in line
    url = "ntfy://ntfy.example.org/s3cret-topic-name"
    assert redact([url], "ntfy.example.org answered 500 for s3cret-topic-name") == \
        f"ntfy.example.org answered 500 for {MASK}"


def test_a_token_in_the_host_position_is_still_masked() -> None:
    line = redact([URL], f"telegram bot {TOKEN.split(':')[0]} token {TOKEN.split(':')[1]}")
    assert TOKEN.split(":")[1] not in line and TOKEN.split(":")[0] not in line


def test_a_password_that_looks_like_a_host_name_is_still_masked() -> None:
    line = redact(["correct.horse.battery", "json://me:staple.example@127.0.0.1/x"],
                  "login correct.horse.battery; url user me pass staple.example on 127.0.0.1")
    assert "horse" not in line and "staple" not in line and "127.0.0.1" in line


def test_a_short_secret_does_not_mask_every_such_letter() -> None:
    text = "a mapping named Anime and a file named a.mkv"
    assert redact(["a"], text) == text
    assert redact(["1234"], "job 12345 took 1234 ms") == "job 12345 took 1234 ms"
    assert redact(["a-long-enough-one"], "x a-long-enough-one y") == f"x {MASK} y"
