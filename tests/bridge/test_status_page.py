"""The status page in a real headless browser: Debian's chromium, driven by Playwright.

The real bridge, syncer, broker and rsync: the page shows a transfer's progress bar
moving, a failed job with its reason, a click on Retry that runs it again to success, and
the statistics of the syncs. The screenshot is kept; with ARRSYNC_SCREENSHOTS=DIR (as
`make screenshots` does for docs/images) it is also written there.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from arrsync.settings import Settings
from arrsync.wire.job import JobState
from notifier.service import NotifierService
from syncer.jobs.job import Job
from syncer.jobs.store import JobStore
from syncer.service import SyncerService
from tests.helpers import MqttWatcher, mosquitto_pub, publish_import, wait_until
from tests.media import MediaTree
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

USER, PASSWORD = "radarr", "Webhook-Secret-1"
SHOWN = ("Movies 1080p", "Movies 4K", "TV 1080p")
MB = 1_000_000


def seed_history(path: Path, now: float) -> None:
    """Three weeks of earlier syncs in the job store, as a syncer that ran for a while has."""
    store = JobStore(path)
    jobs = []
    for days_ago in range(1, 22):
        day = (datetime.fromtimestamp(now) - timedelta(days=days_ago)).replace(hour=12)
        for n in range(days_ago % 4):
            at = day.timestamp() + n
            jobs.append(Job(id=f"old{days_ago:02d}{n}", trigger=None, app="radarr",
                            instance=None, title=f"Earlier film {days_ago}-{n}",
                            download_id=None, mapping=SHOWN[n % len(SHOWN)], paths=["x"],
                            state=JobState.SUCCEEDED, attempt=1, files=1, duration_s=60.0,
                            bytes=(days_ago % 7 + 1) * 2 * 10**9, created_at=at, updated_at=at))
    store.add(None, jobs, now)
    store.close()


@pytest.fixture
def stack(broker: LocalBroker, make_settings: Callable[..., Settings], media: MediaTree,
          base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
          start_syncer: Callable[[Settings], SyncerService]) -> Iterator[RunningBridge]:
    """Bridge, syncer and notifier: the page shows all three online."""
    settings = make_settings(
        broker,
        bridge={"username": USER, "password": PASSWORD},
        syncer={"mappings": [media.mapping(name) for name in SHOWN], "max_attempts": 1,
                "free_space_margin": 0, "client_id": f"{base_topic}-syncer",
                "rsync_extra_args": ["--bwlimit=1500"]},  # KiB/s: a 9 MB film takes ~6 s
        homeassistant={"prefix": f"{base_topic}-ha"},
        notify={"states": []},  # online, but with nothing to send
    )
    seed_history(settings.syncer.state_path, time.time())
    start_syncer(settings)
    notifier = NotifierService(settings)
    notifier.start()
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected")
    yield bridge
    notifier.stop()


def progress_value(page: Page) -> float:
    bar = page.locator("#running progress")
    return float(bar.get_attribute("value") or 0) if bar.count() else -1.0


def test_status_page_in_a_real_browser(
    browser: Browser, stack: RunningBridge, broker: LocalBroker, media: MediaTree,
    base_topic: str, tmp_path: Path,
) -> None:
    small = {"/movies/Dune (2021)/Dune (2021).mkv": 900_000,
             "/movies4k/Oppenheimer (2023)/Oppenheimer (2023).mkv": 1_200_000,
             "/tv/Chernobyl (2019)/Season 1/Chernobyl S01E01.mkv": 600_000}
    for path, size in small.items():
        media.put(path, size=size)
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        for n, (path, _size) in enumerate(small.items()):
            title = path.split("/")[2]
            publish_import(broker.port, base_topic, f"event-{n}", [path], title=title)
        mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/The Late Film (2020)")
        failed = watcher.wait_for("/sync/failed", timeout=20)[0].json()
        watcher.wait_for("/sync/succeeded", count=3, timeout=30)

    context = browser.new_context(http_credentials={"username": USER, "password": PASSWORD},
                                  viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{stack.url}/")

    # Statistics after the syncs: today per mapping, and the chart's bar for today.
    today = page.locator('#stats tr[data-mapping="Movies 1080p"] .today-count')
    page.wait_for_function(
        "() => document.querySelector('#stats tfoot .today-count')?.textContent === '3'")
    assert today.text_content() == "1"
    assert page.locator('#stats tr[data-mapping="TV 1080p"] .today-count').text_content() == "1"
    assert page.locator("#stats tfoot .today-bytes").text_content() == "2.7 MB"
    bars = page.locator("#stats svg rect.bar")
    assert bars.count() == 30
    assert int(bars.last.get_attribute("data-bytes") or 0) == sum(small.values())
    assert sum(int(bars.nth(i).get_attribute("data-bytes") or 0) > 0 for i in range(30)) > 10

    # The failed job, with its reason and a Retry button.
    failure = page.locator(f'#failed [data-job="{failed["job"]}"]')
    assert "is not there (yet)" in (failure.locator(".reason").text_content() or "")
    assert page.locator(f'#recent tr[data-job="{failed["job"]}"]').get_attribute(
        "data-state") == "failed"

    # A long transfer: its bar appears and moves.
    media.put("/movies/Big Buck Bunny (2008)/Big Buck Bunny (2008).mkv", size=9 * MB)
    mosquitto_pub(broker.port, f"{base_topic}/sync/request", "/movies/Big Buck Bunny (2008)")
    wait_until(lambda: progress_value(page) > 0, 20, "a progress bar above 0")
    first = progress_value(page)
    wait_until(lambda: progress_value(page) > first, 20, f"the bar to move past {first}")
    assert page.locator("#running .speed").text_content() not in ("", "-")
    shot = tmp_path / "status-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if target := os.environ.get("ARRSYNC_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / "status-page.png")

    # Retry: the source is there now; a click runs the job again, to success.
    media.put("/movies/The Late Film (2020)/The Late Film (2020).mkv", size=300_000)
    failure.locator("button[data-retry]").click()
    page.wait_for_function(
        f"""() => document.querySelector('#recent tr[data-job="{failed["job"]}"]')
                  ?.dataset.state === 'succeeded'""")
    assert page.locator(f'#failed [data-job="{failed["job"]}"]').count() == 0
    assert "requested" in (page.locator("#note").text_content() or "")
    assert media.dest_of("/movies/The Late Film (2020)/The Late Film (2020).mkv").exists()
    page.wait_for_function(
        "() => document.querySelector('#stats tfoot .today-count')?.textContent === '5'")
    context.close()


def test_status_page_fits_a_phone_and_asks_for_credentials(
    browser: Browser, stack: RunningBridge, broker: LocalBroker, base_topic: str,
) -> None:
    with MqttWatcher(broker.port, [f"{base_topic}/sync/+"]) as watcher:
        mosquitto_pub(broker.port, f"{base_topic}/sync/request",
                      "/movies/A Film Whose Long Title Would Push The Reason Away (2020)")
        watcher.wait_for("/sync/failed", timeout=20)
    anonymous = browser.new_context()
    with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
        anonymous.new_page().goto(f"{stack.url}/")  # 401, and no credentials to offer
    anonymous.close()

    phone = browser.new_context(http_credentials={"username": USER, "password": PASSWORD},
                                viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(f"{stack.url}/")
    page.wait_for_selector("#stats svg")  # the retained statistics are there
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # No card scrolls sideways: every column, the reasons and the statistics fit.
    assert page.evaluate("[...document.querySelectorAll('.scroll')].every("
                         "e => e.scrollWidth <= e.clientWidth)")
    reason = page.locator("#recent tr[data-state=failed] .reason.narrow").first
    assert reason.is_visible() and "is not there (yet)" in (reason.text_content() or "")
    box = reason.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # under the title, on screen
    for component in ("bridge", "syncer", "notifier"):
        chip = page.locator(f"#components [data-component={component}] b")
        assert chip.text_content() == "online", component
    assert errors == []  # no script error, no blocked resource (Content-Security-Policy)
    phone.close()
