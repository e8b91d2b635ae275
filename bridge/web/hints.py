"""Where a request that matched no route was probably meant to go: a hint for the 404 answer
and the bridge log, so a mistyped webhook URL in an arr is found at the first Test."""

from __future__ import annotations

from arrsync.topics import APPS

WEBHOOK_URL = f"/webhook/<app> with <app> one of {', '.join(APPS)}"


def unknown_url_hint(path: str) -> str:
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0].lower() not in ("webhook", "sync"):
        return f"webhooks go to {WEBHOOK_URL}"
    prefix = parts[0]
    if len(parts) == 1:
        return f"the URL needs the app: /{prefix}/radarr, /{prefix}/sonarr, … ({WEBHOOK_URL})"
    app = parts[1].lower()
    if len(parts) == 2 and app in APPS:  # only a trailing slash is wrong
        return f"drop the trailing slash: /{prefix}/{app}"
    if app in APPS:
        return f"nothing goes after the app: /{prefix}/{app}"
    return f"unknown app {parts[1]!r}: {WEBHOOK_URL}"


def wrong_method_hint(method: str, path: str) -> str:
    parts = [part for part in path.split("/") if part]
    if parts and parts[0].lower() in ("webhook", "sync"):
        return f"the arrs send webhooks with POST (or PUT), not {method}; GET /health " \
            "shows whether the bridge is up"
    return f"{method} is not answered here; webhooks go to {WEBHOOK_URL} with POST"
