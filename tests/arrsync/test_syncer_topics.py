"""A named syncer's topics (`syncer.name`), and the name's rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arrsync.settings import SyncerSettings
from arrsync.topics import SyncerTopic, Topics


def test_without_a_name_every_topic_is_as_it_always_was() -> None:
    topics = Topics("arrsync")
    assert (topics.availability("syncer"), topics.syncer_state, topics.syncer_stats,
            topics.alert("syncer"), topics.audit("Radarr 4K")) == (
        "arrsync/syncer/availability", "arrsync/syncer/state", "arrsync/syncer/stats",
        "arrsync/syncer/alert", "arrsync/audit/radarr-4k")


def test_a_named_syncer_publishes_under_its_own_folder_and_the_rest_stays() -> None:
    topics = Topics("arrsync", "offsite")
    assert (topics.availability("syncer"), topics.syncer_state, topics.syncer_stats,
            topics.alert("syncer"), topics.audit("Radarr"), topics.syncer_mappings) == (
        "arrsync/syncer/offsite/availability", "arrsync/syncer/offsite/state",
        "arrsync/syncer/offsite/stats", "arrsync/syncer/offsite/alert",
        "arrsync/syncer/offsite/audit/radarr", "arrsync/syncer/offsite/mappings")
    assert topics.availability("bridge") == "arrsync/bridge/availability"
    assert topics.sync_state("succeeded") == "arrsync/sync/succeeded"


@pytest.mark.parametrize(("topic", "found"), [
    ("arrsync/syncer/availability", SyncerTopic(None, "availability")),
    ("arrsync/syncer/offsite/availability", SyncerTopic("offsite", "availability")),
    ("arrsync/syncer/offsite/audit/radarr", None),
    ("arrsync/bridge/availability", None),
    ("arrsync/syncer/bad name/state", None),
])
def test_whose_syncer_topic_it_is(topic: str, found: SyncerTopic | None) -> None:
    assert Topics("arrsync").syncer_topic(topic) == found


def test_every_component_is_found_from_its_availability_and_alert_topics() -> None:
    topics = Topics("arrsync")
    assert topics.availability_component("arrsync/syncer/offsite/availability") == "syncer"
    assert topics.availability_component("arrsync/notifier/availability") == "notifier"
    assert topics.availability_component("arrsync/syncer/offsite/state") is None
    assert topics.alert_component("arrsync/syncer/offsite/alert") == "syncer"
    assert topics.alert_component("arrsync/bridge/alert") == "bridge"


def test_the_client_id_follows_the_name_unless_given() -> None:
    assert SyncerSettings(name="offsite").client_id == "arrsync-syncer-offsite"
    assert SyncerSettings(name="offsite", client_id="mine").client_id == "mine"
    assert SyncerSettings().client_id == "arrsync-syncer"


@pytest.mark.parametrize("name", ["", "off site", "a/b", "+", "#", "x" * 65, "ünraid"])
def test_a_name_that_is_not_one_topic_level_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="letters, digits"):
        SyncerSettings(name=name)
