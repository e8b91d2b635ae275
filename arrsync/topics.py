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


def syncer_name_problem(name: str) -> str | None:
    """Why `name` cannot be a syncer's name (one topic level, one client id), or None."""
    if not 1 <= len(name) <= 64 or not all(c.isascii() and (c.isalnum() or c in "-_")
                                           for c in name):
        return "must be 1 to 64 letters, digits, '-' or '_' (it is a topic level)"
    return None


@dataclass(frozen=True)
class SyncerTopic:
    """What a topic under `<base>/syncer/` is: whose (None: the unnamed syncer) and which."""

    syncer: str | None
    leaf: str  # availability, state, stats, alert, mappings


@dataclass(frozen=True)
class Topics:
    """`syncer`: the name of the syncer these topics are for, where several share a broker;
    its own topics (availability, state, stats, alert, mappings, audits) move under
    `<base>/syncer/<name>/`. Everything else is the same for every process."""

    base: str = "arrsync"
    syncer: str | None = None

    @property
    def syncer_root(self) -> str:
        return f"{self.base}/syncer/{self.syncer}" if self.syncer else f"{self.base}/syncer"

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

    def _component_root(self, component: str) -> str:
        return self.syncer_root if component == "syncer" else f"{self.base}/{component}"

    @property
    def syncer_state(self) -> str:
        return f"{self.syncer_root}/state"

    @property
    def syncer_stats(self) -> str:
        return f"{self.syncer_root}/stats"

    @property
    def syncer_mappings(self) -> str:
        """Where a syncer says (retained) which arr folders it maps, so the others know
        whether an import under none of theirs is somebody's (`arrsync.wire.peers`)."""
        return f"{self.syncer_root}/mappings"

    def audit(self, arr_name: str) -> str:
        """Where the syncer publishes (retained) the last audit of the arr named so."""
        root = self.syncer_root if self.syncer else self.base
        return check_publish_topic(f"{root}/audit/{audit_level(arr_name)}")

    def alert(self, component: str) -> str:
        """Where a component says that something needs a person (see `arrsync.wire.alert`)."""
        return check_publish_topic(f"{self._component_root(component)}/alert")

    @property
    def all_alerts(self) -> str:
        """The bridge's, the notifier's and the unnamed syncer's alerts."""
        return f"{self.base}/+/alert"

    @property
    def named_syncer_alerts(self) -> str:
        return f"{self.base}/syncer/+/alert"

    def alert_component(self, topic: str) -> str | None:
        """The component whose alert topic `topic` is, or None for any other topic."""
        return self._component_of(topic, "alert")

    def availability(self, component: str) -> str:
        return check_publish_topic(f"{self._component_root(component)}/availability")

    @property
    def all_availability(self) -> str:
        """The bridge's, the notifier's and the unnamed syncer's availability."""
        return f"{self.base}/+/availability"

    @property
    def named_syncer_availability(self) -> str:
        return f"{self.base}/syncer/+/availability"

    @property
    def syncers_news(self) -> list[str]:
        """Every syncer's availability and mappings, the unnamed one's and each named one's:
        what a syncer reads to know the others (`syncer.intake.peers`)."""
        root = f"{self.base}/syncer"
        return [f"{root}/availability", f"{root}/mappings", f"{root}/+/availability",
                f"{root}/+/mappings"]

    def availability_label(self, topic: str) -> str | None:
        """Whose availability `topic` is, as people read it: "bridge", "syncer", or
        "syncer offsite" for a named syncer; None for any other topic."""
        component = self.availability_component(topic)
        named = self.syncer_topic(topic)
        return f"syncer {named.syncer}" if component and named and named.syncer else component

    @property
    def every_syncer(self) -> str:
        """Everything every named syncer publishes about itself (not its audits)."""
        return f"{self.base}/syncer/+/+"

    def availability_component(self, topic: str) -> str | None:
        """The component whose availability `topic` is, or None for any other topic."""
        return self._component_of(topic, "availability")

    def _component_of(self, topic: str, leaf: str) -> str | None:
        if found := self.syncer_topic(topic):
            return "syncer" if found.leaf == leaf else None
        return next((c for c in COMPONENTS if topic == f"{self.base}/{c}/{leaf}"), None)

    def syncer_topic(self, topic: str) -> SyncerTopic | None:
        """Whose and which of the syncer topics `topic` is: `<base>/syncer/<leaf>` (the
        unnamed syncer) or `<base>/syncer/<name>/<leaf>`; None for any other topic."""
        prefix = f"{self.base}/syncer/"
        if not topic.startswith(prefix):
            return None
        levels = topic[len(prefix):].split("/")
        if len(levels) == 1 and levels[0]:
            return SyncerTopic(None, levels[0])
        if len(levels) == 2 and all(levels) and not syncer_name_problem(levels[0]):
            return SyncerTopic(levels[0], levels[1])
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
