"""HTTP basic auth as the arrs send it: preemptive, compared as bytes in constant time.

RFC 7617 leaves the charset of Basic credentials open: the arrs' .NET client sends
ISO-8859-1, curl and browsers send UTF-8. The configured credentials are therefore accepted
in both encodings, compared byte for byte, never decoded lossily: a password outside
Latin-1 ("密码") has no Latin-1 form, and must never turn into "??" that anyone could send.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from pydantic import SecretStr


def _encodings(text: str) -> list[bytes]:
    """`text` as UTF-8 and, where it has one, as Latin-1."""
    forms = [text.encode("utf-8")]
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        return forms
    return forms if latin in forms else [*forms, latin]


def _matches(candidate: bytes, forms: list[bytes]) -> bool:
    # Compare with every form (no early exit), each in constant time.
    results = [hmac.compare_digest(candidate, form) for form in forms]
    return any(results)


class BasicAuth:
    def __init__(self, username: str | None, password: SecretStr | None) -> None:
        secret = password.get_secret_value() if password else ""
        self.required = bool(username or secret)
        self._users = _encodings(username or "")
        self._passwords = _encodings(secret)

    def allows(self, header: str | None) -> bool:
        if not self.required:
            return True
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        user_ok = _matches(user, self._users)
        password_ok = _matches(password, self._passwords)
        return bool(sep) and user_ok and password_ok
