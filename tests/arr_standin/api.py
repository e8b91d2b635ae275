"""The arrs' API conventions the stand-in follows: event type names, dates in whole seconds,
ASP.NET's date binding and its 400 answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

EVENT_TYPES = {
    "radarr": ["unknown", "grabbed", "downloadFolderImportedDeprecated", "downloadFolderImported",
               "downloadFailed", "movieFileDeletedDeprecated", "movieFileDeleted",
               "movieFolderImported", "movieFileRenamed", "downloadIgnored"],
    "sonarr": ["unknown", "grabbed", "seriesFolderImported", "downloadFolderImported",
               "downloadFailed", "episodeFileDeleted", "episodeFileRenamed", "downloadIgnored"],
}
VERSIONS = {"radarr": "5.28.0.10274", "sonarr": "4.0.19.2979"}
QUALITY = {"quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
           "revision": {"version": 1, "real": 0, "isRepack": False}}


def arr_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BadParameter(Exception):
    def __init__(self, name: str, value: str) -> None:
        super().__init__(name)
        self.problem = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                        "title": "One or more validation errors occurred.", "status": 400,
                        "errors": {name: [f"The value '{value}' is not valid."]}}


def parse_since(values: list[str] | None) -> datetime:
    """ASP.NET's DateTime binding: AdjustToUniversal; no offset is taken as it is (UTC)."""
    if not values:
        return datetime.min.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(values[0].strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter("date", values[0]) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class SeenRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    connection: int  # the client's port: one per TCP connection
