"""What is wrong with an Apprise URL of `notify.urls`, said without the URL (it may hold a
token): a scheme Apprise does not know, or one it knows with a malformed rest."""

from __future__ import annotations

import functools

import apprise


@functools.cache
def known_schemes() -> frozenset[str]:
    schemes: set[str] = set()
    for schema in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            schemes.update(str(s).lower() for s in schema.get(key) or ())
    return frozenset(schemes)


def url_problem(url: str) -> str | None:
    """None when Apprise can use `url`, else why not (naming only its scheme)."""
    if apprise.Apprise.instantiate(url) is not None:
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in known_schemes():
        return (f"a {scheme}:// URL that Apprise cannot use: it knows {scheme}://, so check "
                "the rest (its token, ids and format) against Apprise's page for it")
    return f"Apprise does not know {scheme + '://' if scheme else 'this kind of'} URL"
