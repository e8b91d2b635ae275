"""The status page tells the truth, in real Chromium: reasons short and relative to the
mapping (the whole reason in the title), no "0 B" for a job whose size is not known yet,
and with the broker stopped, the bridge online (it serves the page), the others unknown
since the broker went away, and the webhooks the bridge keeps in its spool."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page

from arrsync.settings import Settings
from bridge.dashboard.reasons import ReasonFormatter
from notifier.service import NotifierService
from syncer.service import SyncerService
from tests.arr_standin import StandInArr
from tests.helpers import MqttWatcher, http, mosquitto_pub, wait_until
from tests.media import MediaTree
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

AUTH = ("radarr", "Webhook-Secret-1")
KEY = "0123456789abcdef0123456789abcdef"
LONG = "/srv/a/rather/deep/share/that/nobody/maps/Some Film (2020)/Some Film (2020).mkv"


@pytest.mark.parametrize(("reason", "shown"), [
    ("/mnt/dest/Movies/Dune (2021)/Dune (2021).mkv had 734003200 bytes after the copy",
     "Dune (2021)/Dune (2021).mkv had 734.0 MB after the copy"),
    (f"cannot read {LONG}: permission denied",
     "cannot read /srv/…/Some Film (2020)/Some Film (2020).mkv: permission denied"),
    ("a short /tmp/x path and 12 bytes", "a short /tmp/x path and 12 bytes"),
])
def test_reasons_are_short_and_relative(reason: str, shown: str) -> None:
    assert ReasonFormatter(["/mnt/dest/Movies", "/mnt/src/movies"])(reason) == shown


def text(page: Page, selector: str) -> str:
    return " ".join((page.locator(selector).first.text_content() or "").split())


def test_reasons_sizes_and_a_broker_that_is_down(
    browser: Browser, own_broker: LocalBroker, make_settings: Callable[..., Settings],
    media: MediaTree, base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService],
) -> None:
    with StandInArr("radarr", KEY) as radarr:
        settings = make_settings(
            own_broker, bridge={"username": AUTH[0], "password": AUTH[1]},
            syncer={"mappings": media.mappings, "max_attempts": 2, "retry_delay": 3600,
                    "free_space_margin": 0, "client_id": f"{base_topic}-syncer"},
            arrs=[{"name": "Radarr", "app": "radarr", "url": radarr.url, "api_key": KEY}],
            homeassistant={"discovery": False}, notify={"states": []})
        start_syncer(settings)
        notifier = NotifierService(settings)
        notifier.start()
        bridge = start_bridge(settings)
        wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
        try:
            missing = "/movies/A Film Whose Folder Is Not There Yet (2020)"
            with MqttWatcher(own_broker.port, [f"{base_topic}/sync/+"]) as watcher:
                mosquitto_pub(own_broker.port, f"{base_topic}/sync/request", missing)
                retrying = watcher.wait_for("/sync/retrying")[0].json()
            page = browser.new_page(http_credentials={"username": AUTH[0],
                                                      "password": AUTH[1]})
            page.set_default_timeout(30_000)
            page.goto(f"{bridge.url}/")
            row = page.locator(f'#recent tr[data-job="{retrying["job"]}"]')
            row.wait_for()
            assert row.get_attribute("data-state") == "retrying"
            assert (row.locator(".size").text_content() or "").strip() == ""  # not "0 B"
            reason = row.locator("td.reason")
            full = reason.get_attribute("title") or ""
            source = media.mappings[0]["source"]
            assert full.startswith(source) and "is not there (yet)" in full
            shown = reason.text_content() or ""
            assert source not in shown
            assert shown.startswith("A Film Whose Folder Is Not There Yet (2020) is not there")
            page.wait_for_function(  # the arr's catch-up has read its history once
                "() => document.querySelector('.catch-up [data-arr=Radarr]')"
                "?.textContent.includes('read')")
            assert text(page, "[data-component=syncer] b") == "online"
            assert page.locator(".since").count() == 0

            own_broker.stop()
            wait_until(lambda: not bridge.service.mqtt.connected.is_set(),
                       message="the bridge sees the broker gone")
            answer = http("POST", f"{bridge.url}/test", auth=AUTH)
            assert answer.status == 202 and answer.json()["status"] == "spooled"
            page.wait_for_function(
                "() => document.querySelector('[data-spooled]')?.dataset.spooled === '1'")
            assert "1 webhook spooled" in text(page, ".spool")
            assert text(page, "[data-component=bridge] b") == "online"
            assert text(page, "[data-component=broker] b") == "disconnected"
            for component in ("syncer", "notifier"):
                chip = text(page, f"[data-component={component}]")
                assert chip.startswith(f"{component} unknown since "), chip
                assert chip.endswith(", broker unreachable"), chip
            assert "Radarr" in text(page, ".catch-up")
            status = http("GET", f"{bridge.url}/api/status", auth=AUTH).json()
            assert status["spooled"] == 1 and status["broker_lost_at"]
            assert status["availability"]["bridge"] == "online"
            page.close()
        finally:
            notifier.stop()
