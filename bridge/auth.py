"""HTTP basic auth as the arrs send it: preemptive, ISO-8859-1, compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac

from pydantic import SecretStr


class BasicAuth:
    def __init__(self, username: str | None, password: SecretStr | None) -> None:
        secret = password.get_secret_value() if password else ""
        self.required = bool(username or secret)
        self._user = (username or "").encode("latin-1", "replace")
        self._password = secret.encode("latin-1", "replace")

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
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(sep) and user_ok and password_ok
