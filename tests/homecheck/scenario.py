"""The check's story: the stack, Home Assistant and Prometheus up; imports that succeed and
fail (one with a title over 255 characters); both buttons pressed, one press refused; the
syncer and Home Assistant restarted; then what each shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrsync.config import load_settings
from arrsync.wire.timestamps import utc_now_iso
from syncer.report.homeassistant import Discovery
from tests.helpers import wait_until
from tests.homecheck import second
from tests.homecheck.checks import (
    Key,
    documented_metrics,
    entity_problems,
    find_entities,
    log_problems,
    metric_problems,
)
from tests.homecheck.hass import HomeAssistant
from tests.homecheck.prom import Prometheus, promtool_check
from tests.homecheck.radarr import StandInRadarr
from tests.homecheck.stack import USERS, WEBHOOK, Stack, paced
from tests.homecheck.watch import Watcher

LONG_TITLE = "The " + "Very " * 60 + "Long Film"  # 313 characters
SYNCED, FAILED = ("sensor", "last_synced"), ("sensor", "last_failure")
RETRY, AUDIT = ("button", "retry_last_failure"), ("button", "audit")
MISSING = ("sensor", "missing_radarr")
COMPONENTS = ("bridge", "syncer", "notifier")


def wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Ask `condition` twice a second until it holds; AssertionError at the deadline."""
    return wait_until(paced(condition), timeout, what)


class Check:
    def __init__(self, root: Path, radarr: StandInRadarr, prometheus: str,
                 promtool: str) -> None:
        self.root, self.radarr, self.promtool = root, radarr, promtool
        self.stack = Stack(root, radarr.url)
        self.hass = HomeAssistant(root / "homeassistant")
        self.prometheus = Prometheus(prometheus, root / "prometheus",
                                     f"127.0.0.1:{self.stack.bridge_port}", WEBHOOK)
        self.watch: Watcher | None = None
        self.expected: dict[Key, dict[str, Any]] = {}
        self.report: list[str] = []
        self.problems: list[str] = []

    # -- helpers ------------------------------------------------------------------------------
    def expect(self, ok: bool, what: str, problem: str = "") -> None:
        """Report `what`, or the `problem` (none: the problems are listed already)."""
        if ok:
            self.report.append(what)
        elif problem:
            self.problems.append(problem)

    def states(self) -> dict[Key, dict[str, Any]]:
        return find_entities(self.expected, self.hass.states())

    def state(self, key: Key) -> str:
        return str(self.states().get(key, {}).get("state"))

    def entity(self, key: Key) -> str:
        return str(self.states()[key]["entity_id"])

    def statuses(self, state: str) -> list[dict[str, Any]]:
        assert self.watch
        return self.watch.on(f"arrsync/sync/{state}")

    def wait_status(self, state: str, title: str, timeout: float = 60) -> dict[str, Any]:
        """The newest `state` status of the job titled `title` (a long one is cut at 300)."""
        found = wait(lambda: [s for s in self.statuses(state)
                                  if str(s.get("title")).startswith(title[:255])],
                         timeout, f"{title[:40]} {state}")
        return dict(found[-1])

    def all_entities(self) -> dict[Key, dict[str, Any]] | None:
        found = self.states()
        ready = len(found) == len(self.expected) and all(
            s["state"] != "unavailable" for s in found.values())
        return found if ready else None

    # -- the story ----------------------------------------------------------------------------
    def run(self) -> None:
        self.start()
        self.before_any_job()
        self.imports()
        self.buttons()
        self.restarts()
        self.second_syncer()
        self.metrics()
        self.logs()

    def start(self) -> None:
        self.stack.start()
        self.watch = watch = Watcher(self.stack.broker.port)
        wait(lambda: all(watch.current(f"arrsync/{c}/availability") == "online"
                         for c in COMPONENTS), 60, "bridge, syncer and notifier online")
        self.expected = Discovery(load_settings(self.stack.config)).entities()
        self.prometheus.start()
        self.hass.start()
        self.hass.onboard()
        self.hass.add_mqtt(self.stack.broker.port, "homeassistant", USERS["homeassistant"])
        self.report.append("Home Assistant: owner made through onboarding, MQTT integration "
                           "added through its config flow (user homeassistant, project ACL)")
        wait(self.all_entities, 120, "every announced entity in Home Assistant")
        mqtt = self.hass.mqtt_entities()
        self.expect(len(mqtt) == len(self.expected),
                    f"{len(self.expected)} entities, as Discovery.entities() announces, and no "
                    "other MQTT entity",
                    f"Home Assistant has {len(mqtt)} MQTT entities, {len(self.expected)} "
                    f"announced: {sorted(mqtt)}")

    def before_any_job(self) -> None:
        problems = entity_problems(self.expected, self.hass.states())
        self.problems += problems
        self.expect(not problems, "before any job: every entity there, units and classes as "
                    "announced, no state 'None', none over 255 characters")
        online = [self.state(("binary_sensor", f"{c}_online")) for c in COMPONENTS]
        self.expect(online == ["on"] * 3, "Bridge, Syncer and Notifier connectivity: on",
                    f"Bridge, Syncer and Notifier connectivity: {online}")
        shown = (self.state(SYNCED), self.state(FAILED))
        self.expect(shown == ("unknown", "unknown"),
                    "before any job: Last synced and Last failure are unknown",
                    f"before any job: Last synced, Last failure show {shown}")

    def imports(self) -> None:
        stack, radarr = self.stack, self.radarr
        for title, year, folder, size in (("Dune", 2021, "Dune (2021)", 2_000_000),
                                          (LONG_TITLE, 2020, "Long Film (2020)", 1_000_000)):
            path = stack.put_movie(folder, size)
            radarr.add_movie(title, year, f"/movies/{folder}", f"{folder}.mkv", size)
            stack.import_webhook(title, year, path, size)
            self.wait_status("succeeded", f"{title} ({year})")
        self.refused_press()
        for title, year in (("Missing Film", 1999), ("Lost Film", 1998)):
            folder = f"{title} ({year})"
            radarr.add_movie(title, year, f"/movies/{folder}", f"{folder}.mkv", 500_000)
            stack.import_webhook(title, year, f"/movies/{folder}/{folder}.mkv", 500_000)
            self.wait_status("failed", folder)
        self.report.append("imports: 2 succeeded (one titled with 313 characters), 2 failed "
                           "(their files never came)")
        long = f"{LONG_TITLE} (2020)"[:255]
        shown = wait(lambda: self.state(SYNCED) == long and
                     self.state(FAILED) == "Lost Film (1998)", 30,
                     "Last synced and Last failure in Home Assistant") and True
        self.expect(shown, "Last synced shows the long title cut to 255 characters; Last "
                    "failure shows the failed import")
        self.problems += entity_problems(self.expected, self.hass.states())

    def refused_press(self) -> None:
        """Retry pressed with nothing failed: answered, never a failed job."""
        assert self.watch
        answers = len(self.watch.on("arrsync/sync/response"))
        self.hass.press(self.entity(RETRY))
        found = wait(lambda: self.watch.on("arrsync/sync/response")[answers:]
                     if self.watch else None, 30, "the answer to the refused Retry")
        self.expect(found[0].get("ok") is False and not self.statuses("failed"),
                    "Retry pressed with nothing failed: answered ok=false on "
                    "arrsync/sync/response, no failed job",
                    f"Retry pressed with nothing failed: {found[0]}, "
                    f"{len(self.statuses('failed'))} failed job(s)")

    def buttons(self) -> None:
        assert self.watch
        self.stack.put_movie("Lost Film (1998)", 500_000)  # its file arrives after all
        failed = self.wait_status("failed", "Lost Film (1998)")
        self.hass.press(self.entity(RETRY))
        done = self.wait_status("succeeded", "Lost Film (1998)")
        self.expect(done["job"] == failed["job"], "Retry last failure pressed: the failed "
                    "job ran again and succeeded", f"Retry ran {done['job']}, not {failed['job']}")
        self.hass.press(self.entity(AUDIT))
        summary = wait(lambda: self.watch.current("arrsync/audit/radarr") if self.watch
                       else None, 60, "the audit's summary")
        missing = wait(lambda: self.state(MISSING) not in ("unknown", "None"), 30,
                       "Missing at destination (Radarr)") and self.state(MISSING)
        self.expect(missing == str(summary.get("missing")),
                    f"Audit now pressed: the audit ran, Missing at destination shows {missing}",
                    f"Audit now: sensor {missing}, summary {summary}")

    def restarts(self) -> None:
        assert self.watch
        before = {SYNCED: self.state(SYNCED), FAILED: self.state(FAILED)}
        watch = self.watch
        self.stack.end("syncer")
        watch.forget("arrsync/syncer/availability")
        began = utc_now_iso()
        self.stack.run("syncer")  # online, and its summary rebuilt from the job store
        wait(lambda: watch.current("arrsync/syncer/availability") == "online", 60,
             "the restarted syncer online")
        summary = wait(lambda: (found := watch.current("arrsync/syncer/state")) and
                       found["at"] > began and found, 30, "the restarted syncer's summary")
        self.hass.stop()
        self.hass.start()
        wait(self.all_entities, 120, "the entities after Home Assistant's restart")
        after = {SYNCED: self.state(SYNCED), FAILED: self.state(FAILED)}
        self.expect(after == before and "unknown" not in after.values() and
                    bool(summary.get("last_success")) and bool(summary.get("last_failure")),
                    "syncer restarted, then Home Assistant: Last synced and Last failure "
                    "still show the same jobs (the retained summary has both)",
                    f"after the restarts: {after}, before: {before}")
        self.problems += entity_problems(self.expected, self.hass.states())

    def second_syncer(self) -> None:
        """A named syncer beside the first (a copy elsewhere): a device of its own in Home
        Assistant, and both copy the next import."""
        assert self.watch
        watch, name = self.watch, second.NAME
        self.stack.run(name)
        wait(lambda: watch.current(f"arrsync/syncer/{name}/availability") == "online", 60,
             f"the syncer {name} online")
        theirs = second.expected(self.stack.root / "offsite.yml")
        wait(lambda: len(find_entities(theirs, self.hass.states())) == len(theirs), 120,
             f"the device of the syncer {name} in Home Assistant")
        problems = second.device_problems(self.expected, theirs, self.hass.states(),
                                          self.hass.mqtt_entities())
        self.problems += problems
        self.expect(not problems, f"a second syncer named {name}: a device of its own, "
                    f"{len(theirs)} more entities, units and classes as announced, none shared")
        path = self.stack.put_movie("Second Copy", 1000)
        self.stack.import_webhook("Second Copy", 2024, path, 1000)
        copied = wait(lambda: {s.get("syncer") for s in self.statuses("succeeded")
                               if str(s.get("title")).startswith("Second Copy")} == {None, name}
                      or None, 60, "both syncers to copy the import")
        shown = wait(lambda: (s := find_entities(theirs, self.hass.states()).get(SYNCED)) and
                     str(s["state"]).startswith("Second Copy") and s, 60,
                     f"the syncer {name}'s Last synced")
        self.expect(bool(copied and shown), f"an import copied by both syncers; {name}'s Last "
                    "synced shows it")

    def metrics(self) -> None:
        up = wait(lambda: self.prometheus.query('up{job="arrsync"} == 1'), 30,
                      "Prometheus to scrape the bridge")
        target = self.prometheus.target()
        self.expect(bool(up), "Prometheus: the bridge's /metrics scraped with basic auth, up == 1",
                    f"Prometheus: target {target}")
        text = self.stack.metrics()
        said = promtool_check(self.promtool, text)
        self.expect(not said, "promtool check metrics: clean",
                    "promtool check metrics: " + "; ".join(said))
        problems, names = metric_problems(text, documented_metrics())
        self.problems += problems
        self.expect(not problems, f"metrics: {len(names)} series names, each in "
                    "docs/home-tools.md, no _created series")
        refused = [n for n in text.splitlines() if 'mapping="(none)"' in n]
        self.expect(not refused, "metrics: no series for a mapping that does not exist",
                    f"metrics: {refused[:3]}")

    def logs(self) -> None:
        problems = log_problems(self.hass.log())
        self.problems += problems
        self.expect(not problems, "Home Assistant's log: no WARNING or ERROR about MQTT or "
                    "arrsync")

    def stop(self) -> None:
        if self.watch:
            self.watch.stop()
        for part in (self.hass, self.prometheus, self.stack):
            try:
                part.stop()
            except Exception as exc:
                self.problems.append(f"stopping {type(part).__name__}: {exc}")
