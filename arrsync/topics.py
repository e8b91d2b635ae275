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

    @property
    def sync_response(self) -> str:
        """Where the syncer answers every request (`arrsync.wire.request.RequestAnswer`)."""
        return f"{self.base}/sync/response"

    def sync_state(self, state: str) -> str:
        return check_publish_topic(f"{self.base}/sync/{state}")

    @property
    def all_sync_states(self) -> str:
        return f"{self.base}/sync/+"

    def sync_state_name(self, topic: str) -> str | None:
        """The `<state>` of a `<base>/sync/<state>` status topic; None for any other topic,
        `sync/request` and `sync/response` included."""
        prefix = f"{self.base}/sync/"
        rest = topic[len(prefix):] if topic.startswith(prefix) else ""
        return rest if rest and "/" not in rest and topic not in (
            self.sync_request, self.sync_response) else None

    @property
    def syncer_state(self) -> str:
        return f"{self.base}/syncer/state"

    @property
    def syncer_stats(self) -> str:
        return f"{self.base}/syncer/stats"

    def audit(self, arr_name: str) -> str:
        """Where the syncer publishes (retained) the last audit of the arr named so."""
        return check_publish_topic(f"{self.base}/audit/{audit_level(arr_name)}")

    def alert(self, component: str) -> str:
        """Where a component says that something needs a person (see `arrsync.wire.alert`)."""
        return check_publish_topic(f"{self.base}/{component}/alert")

    @property
    def all_alerts(self) -> str:
        return f"{self.base}/+/alert"

    def alert_component(self, topic: str) -> str | None:
        """The component whose alert topic `topic` is, or None for any other topic."""
        return next((c for c in COMPONENTS if topic == self.alert(c)), None)

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


@dataclass(frozen=True)
class DiscoveryTopics:
    """Home Assistant MQTT discovery: `<prefix>/<component>/<node>/<object>/config`."""

    prefix: str = "homeassistant"
    node: str = "arrsync"

    @staticmethod
    def identifier(text: str) -> str:
        """A node or object id made of `text`: Home Assistant allows [a-zA-Z0-9_-] only."""
        return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in text)

    def config(self, component: str, object_id: str) -> str:
        return check_publish_topic(f"{self.prefix}/{component}/{self.node}/{object_id}/config")

    @property
    def all_configs(self) -> str:
        return f"{self.prefix}/+/{self.node}/+/config"

    @property
    def status(self) -> str:
        """Home Assistant's birth (`online`) and last will (`offline`)."""
        return f"{self.prefix}/status"

    def parse_config(self, topic: str) -> tuple[str, str] | None:
        """(component, object id) of one of this node's config topics, else None."""
        levels = topic.split("/")
        head = self.prefix.split("/")
        if len(levels) != len(head) + 4 or levels[: len(head)] != head:
            return None
        component, node, object_id, last = levels[len(head):]
        if node != self.node or last != "config" or not component or not object_id:
            return None
        return component, object_id
