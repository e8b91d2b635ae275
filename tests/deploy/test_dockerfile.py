"""The image: the Dockerfile and the .dockerignore that sets its build context.

The base image and packages, a non-root user from PUID/PGID, a console script as the default
command, no secret baked in, and a build context that holds the packages but no private file.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib

import yaml

from tests.deploy.deployfiles import PYPROJECT, ROOT, console_scripts, dockerfile_instructions

DOCKERIGNORE = ROOT / ".dockerignore"
CONSTRAINTS = "constraints.txt"


def test_dockerfile_base_image_and_packages() -> None:
    instructions = dockerfile_instructions()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) == 1 and re.match(r"python:3\.11-slim(-\w+)?$", froms[0]), froms
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    apt = [r for r in runs if "apt-get install" in r]
    assert apt, "rsync is not installed"
    assert any(
        re.search(r"\brsync\b", r)
        and "--no-install-recommends" in r
        and "rm -rf /var/lib/apt/lists" in r
        for r in apt
    )
    pip = [r for r in runs if "pip install" in r]
    assert pip and all("--no-cache-dir" in r for r in pip), pip
    assert ("WORKDIR", "/app") in instructions
    assert any("/data" in r for r in runs), "no /data for the spool and job store"


def test_dockerfile_installs_the_dependencies_with_the_constraints_file() -> None:
    """The image gets the versions the tests ran with: constraints.txt is copied in before the
    dependencies are installed, the install uses it, and the build context lets it in."""
    instructions = dockerfile_instructions()
    copied = next(i for i, (k, a) in enumerate(instructions)
                  if k == "COPY" and CONSTRAINTS in a.split())
    installs = [i for i, (k, a) in enumerate(instructions) if k == "RUN" and "pip install" in a]
    dependencies = [i for i in installs if "--no-deps" not in instructions[i][1]]
    assert dependencies, "no pip install of the dependencies"
    for i in dependencies:
        assert f"-c {CONSTRAINTS}" in instructions[i][1], instructions[i][1]
        assert copied < i, "constraints.txt is copied in after the install that uses it"
    assert (ROOT / CONSTRAINTS).is_file()
    assert _allowed_in_context(CONSTRAINTS), \
        f"{CONSTRAINTS} is left out of the build context: add !{CONSTRAINTS} to .dockerignore"


def test_dockerfile_runs_as_a_non_root_user_from_puid_pgid() -> None:
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)
    assert args.get("PUID") == "1000" and args.get("PGID") == "1000", args
    users = [a for k, a in instructions if k == "USER"]
    assert users, "the image runs as root"
    user = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), users[-1])
    uid = user.split(":")[0]
    assert uid not in ("", "0", "root") and "$" not in user, user
    assert "PUID" in users[-1] and "PGID" in users[-1]


def test_dockerfile_default_command_and_no_secrets() -> None:
    instructions = dockerfile_instructions()
    cmd = [a for k, a in instructions if k == "CMD"]
    assert cmd and yaml.safe_load(cmd[-1])[0] == "arrsync-bridge"
    assert yaml.safe_load(cmd[-1])[0] in console_scripts()
    names = [a.split("=", 1)[0].split()[0] for k, a in instructions if k in ("ENV", "ARG")]
    secrets = [n for n in names if re.search(r"PASSWORD|SECRET|TOKEN|URLS", n, re.I)]
    assert not secrets, f"secrets baked into the image: {secrets}"
    copies = " ".join(a for k, a in instructions if k in ("COPY", "ADD"))
    assert ".env" not in copies and "passwd" not in copies


def test_dockerignore_keeps_secrets_out_and_the_packages_in() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the build context should be an allowlist"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    for private in (".env", "arrsync.yml", "mosquitto", "mosquitto/passwd", "data", ".venv"):
        assert not any(fnmatch.fnmatch(private, a) for a in allowed), private
    with PYPROJECT.open("rb") as f:
        include = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and (p / "__init__.py").exists()
        and any(fnmatch.fnmatch(p.name, pattern) for pattern in include)
    ]
    assert packages, "no package found for pip install ."
    for needed in ["pyproject.toml", *packages]:
        assert any(fnmatch.fnmatch(needed, a) for a in allowed), f"{needed} is not in the image"


def _allowed_in_context(name: str) -> bool:
    """Whether the .dockerignore allowlist (`*`, then `!name` lines) lets `name` in."""
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    return any(fnmatch.fnmatch(name, a) for a in allowed)
