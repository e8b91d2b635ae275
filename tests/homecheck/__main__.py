"""`make ha-check`: install the real Home Assistant core and Prometheus, run them against
the real stack, drive a few imports and both buttons, restart the syncer, and fail (exit 1,
one line per problem) on anything a user would see wrong. Prints what it checked."""

from __future__ import annotations

import shutil
import sys
import time

from tests.homecheck.install import ROOT, InstallError, install_home_assistant, install_prometheus
from tests.homecheck.radarr import StandInRadarr
from tests.homecheck.scenario import Check


def main() -> int:
    began = time.monotonic()
    print("[ha-check] installing what is missing: Home Assistant core in build/ha-venv "
          "(the first time takes minutes), Debian's prometheus", flush=True)
    try:
        version = install_home_assistant()
        prometheus, promtool = install_prometheus()
    except InstallError as exc:
        print(f"ha-check: {exc}", file=sys.stderr)
        return 2
    print(f"[ha-check] Home Assistant core {version} (build/ha-venv), {prometheus}, {promtool}",
          flush=True)
    root = ROOT / "build" / "ha-check"
    shutil.rmtree(root, ignore_errors=True)
    radarr = StandInRadarr()
    radarr.start()
    check = Check(root, radarr, prometheus, promtool)
    try:
        check.run()
    except (RuntimeError, AssertionError, OSError) as exc:
        check.problems.append(f"the check could not go on: {exc}")
    finally:
        check.stop()
        radarr.stop()
    for line in check.report:
        print(f"[ha-check] {line}")
    for problem in check.problems:
        print(f"PROBLEM: {problem}")
    verdict = "failed" if check.problems else "passed"
    print(f"[ha-check] {verdict}: {len(check.report)} checks, {len(check.problems)} problems, "
          f"{time.monotonic() - began:.0f} s (logs in {root.relative_to(ROOT)})")
    return 1 if check.problems else 0


if __name__ == "__main__":
    sys.exit(main())
