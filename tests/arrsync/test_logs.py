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
