"""What the check runs against, installed outside the project's venv: the newest Home
Assistant core that pip finds for this Python, in `build/ha-venv`, with the requirements
of the integrations it loads (pinned by its own `package_constraints.txt`, as Home
Assistant pins them itself), and Debian's `prometheus` (`prometheus`, `promtool`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HA_VENV = ROOT / "build" / "ha-venv"
HA_PYTHON = HA_VENV / "bin" / "python"
# What Home Assistant sets up here: its defaults (bootstrap.DEFAULT_INTEGRATIONS), the MQTT
# integration, camera (set up along the way), and what their manifests depend on.
LOADED = ("mqtt", "frontend", "camera", "backup", "hardware", "network", "system_health", "logger",
          "application_credentials", "automation", "person", "scene", "script", "tag", "zone",
          "counter", "input_boolean", "input_button", "input_datetime", "input_number",
          "input_select", "input_text", "schedule", "timer")


# Pins Home Assistant's constraints leave open and a newer release broke: acme (of
# hass_nabucasa, imported by the http integration) needs josepy's ComparableX509, gone in 2.0.
EXTRA_PINS = ("josepy<2",)


class InstallError(Exception):
    """Something the check needs could not be installed; the message says what to do."""


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise InstallError(f"{' '.join(command[:4])} … failed:\n{tail}")


def ha_version() -> str | None:
    if not HA_PYTHON.exists():
        return None
    done = subprocess.run([str(HA_PYTHON), "-c", "import homeassistant.const as c; "
                           "print(c.__version__)"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _package_dir() -> Path:
    found = list((HA_VENV / "lib").glob("python3*/site-packages/homeassistant"))
    if not found:
        raise InstallError(f"homeassistant is not installed in {HA_VENV}")
    return found[0]


def _requirements(components: Path) -> list[str]:
    """The requirements of the integrations in LOADED and of everything they depend on."""
    todo, seen, wanted = list(LOADED), set(), []
    while todo:
        domain = todo.pop()
        manifest = components / domain / "manifest.json"
        if domain in seen or not manifest.exists():
            continue
        seen.add(domain)
        data = json.loads(manifest.read_text())
        wanted += data.get("requirements", [])
        todo += data.get("dependencies", []) + data.get("after_dependencies", [])
    return sorted(set(wanted))


def install_home_assistant() -> str:
    """Install (or keep) Home Assistant core in build/ha-venv; returns its version."""
    pip = [str(HA_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not HA_PYTHON.exists():
        _run([sys.executable, "-m", "venv", str(HA_VENV)])
    if ha_version() is None:
        # Without its dependencies first: pip picks the newest release for this Python, and
        # its constraints then pin what an unpinned dependency would otherwise float to.
        _run([*pip, "--no-deps", "homeassistant"])
    package = _package_dir()
    version = ha_version()
    if version is None:
        raise InstallError(f"the homeassistant package in {HA_VENV} does not import")
    wanted = [f"homeassistant=={version}", *_requirements(package / "components"),
              *EXTRA_PINS]
    digest = hashlib.sha256(" ".join(wanted).encode()).hexdigest()[:12]
    marker = HA_VENV / f".installed-{digest}"  # a new list of requirements installs again
    if not marker.exists():
        _run([*pip, *wanted, "-c", str(package / "package_constraints.txt")])
        marker.touch()
    return version


def install_prometheus() -> tuple[str, str]:
    """Debian's prometheus package: apt-get when root, else say the command."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if all(found):
        return found[0] or "", found[1] or ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise InstallError("the check needs Debian's prometheus package: "
                           "sudo apt-get install prometheus")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise InstallError(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise InstallError("apt-get installed prometheus, but prometheus/promtool are not "
                           "on the PATH")
    return prometheus, promtool
