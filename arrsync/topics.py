"""The MQTT topic vocabulary, in one place."""

from __future__ import annotations

from dataclasses import dataclass

APPS = ("radarr", "sonarr", "lidarr", "readarr", "whisparr")
COMPONENTS = ("bridge", "syncer", "notifier")


def check_publish_topic(topic: str) -> str:
    """A topic to publish on: no wildcards, no empty levels at the ends, no NUL."""
    if not topic or any(c in topic for c in "+#\0") or topic.startswith("/"):
        raise ValueError(f"not a valid publish topic: {topic!r}")
    return topic


def audit_level(arr_name: str) -> str:
    """An arr's name as one topic level: lower case, spaces as '-' ("Radarr 4K" → radarr-4k)."""
    return "-".join(arr_name.lower().split())


@dataclass(frozen=True)
class Topics:
    base: str = "arrsync"

    def event(self, app: str, event_type: str) -> str:
        # eventType comes from the request: keep it a single, wildcard-free level.
        level = "".join(c for c in event_type if c.isalnum() or c in "-_.") or "Unknown"
        return check_publish_topic(f"{self.base}/events/{app}/{level}")

    @property
    def all_events(self) -> str:
        return f"{self.base}/events/+/+"

    @property
    def sync_request(self) -> str:
        return f"{self.base}/sync/request"

    def sync_state(self, state: str) -> str:
        return check_publish_topic(f"{self.base}/sync/{state}")

    @property
    def all_sync_states(self) -> str:
        return f"{self.base}/sync/+"

    @property
    def syncer_state(self) -> str:
        return f"{self.base}/syncer/state"

    def audit(self, arr_name: str) -> str:
        """Where the syncer publishes (retained) the last audit of the arr named so."""
        return check_publish_topic(f"{self.base}/audit/{audit_level(arr_name)}")

    def availability(self, component: str) -> str:
        return check_publish_topic(f"{self.base}/{component}/availability")

    @property
    def all_availability(self) -> str:
        return f"{self.base}/+/availability"

    def availability_component(self, topic: str) -> str | None:
        """The component whose availability `topic` is, or None for any other topic."""
        for component in COMPONENTS:
            if topic == self.availability(component):
                return component
        return None
