"""The house rule: one package per process, one shared foundation, small modules.

`bridge`, `syncer` and `notifier` import nothing of each other, `arrsync` imports none of
them, and no source module grows past 300 lines. Inside a process, the folders are layers
listed bottom-up in `LAYERS`: a module imports only from its own folder or the ones below it
(the process assembly and the human commands at the top import any). The arrs' HTTP API
(`arrsync.arrs`) is for catch-up and the audit only. Checked on the source with `ast`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = ("bridge", "syncer", "notifier")
PROJECT = ("arrsync", *PROCESSES, "tools", "tests")
ALLOWED = {
    "arrsync": {"arrsync"},
    "bridge": {"arrsync", "bridge"},
    "syncer": {"arrsync", "syncer"},
    "notifier": {"arrsync", "notifier"},
    "tools": {"arrsync", "tools"},
}
MAX_LINES = 300
LAYERS = {  # bottom first
    "syncer": ("paths", "jobs", "copying", "mirror", "report", "engine", "audit", "intake"),
    "bridge": ("outbox", "webhooks", "catchup", "dashboard", "web"),
}
ARR_API = "arrsync.arrs"
ARR_API_USERS = ("bridge/catchup/", "syncer/audit/", "arrsync/arrs/")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module a module imports, at any depth (functions included); `from x import y`
    counts as `x.y` as well, since y may be a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def project_imports(path: Path) -> set[str]:
    """The project packages a module imports."""
    return {name.split(".")[0] for name in imported_modules(path)} & set(PROJECT)


def layer_of(package: str, module: str) -> int | None:
    """The index of the folder `module` (dotted) is in, or None for the top (or no layer)."""
    parts = module.split(".")
    if parts[0] != package or len(parts) < 3 or parts[1] not in LAYERS[package]:
        return None
    return LAYERS[package].index(parts[1])


def upward_imports(package: str, path: Path, name: str | None = None) -> list[str]:
    """What the module at `path` (named `name`, or by its place) imports from above."""
    here = layer_of(package, name or ".".join(path.relative_to(ROOT).with_suffix("").parts))
    if here is None:  # the top imports any folder
        return []
    return sorted(name for name in imported_modules(path)
                  if (there := layer_of(package, name)) is not None and there > here)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_foundation(package: str) -> None:
    assert modules(package), f"{package}/ has no modules"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package])
        for path in modules(package)
        if (imported := project_imports(path)) - ALLOWED[package]
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_import_runs_upward_inside_a_process(package: str) -> None:
    folders = {p.name for p in (ROOT / package).iterdir() if (p / "__init__.py").exists()}
    assert folders == set(LAYERS[package]), (
        f"{package}/ has folders {sorted(folders)}; list each in LAYERS, bottom first")
    wrong = {str(path.relative_to(ROOT)): found for path in modules(package)
             if (found := upward_imports(package, path))}
    assert not wrong, f"{package}: these imports run upward ({LAYERS[package]}): {wrong}"


def test_only_catch_up_and_the_audit_use_the_arrs_api() -> None:
    users = {str(path.relative_to(ROOT)) for package in ALLOWED for path in modules(package)
             if any(name == ARR_API or name.startswith(ARR_API + ".")
                    for name in imported_modules(path))}
    assert users and all(user.startswith(ARR_API_USERS) for user in users), sorted(users)


def test_the_layer_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("from syncer.engine.engine import Engine\nfrom syncer.paths import x\n")
    assert upward_imports("syncer", module, "syncer.jobs.probe") == [
        "syncer.engine.engine", "syncer.engine.engine.Engine"]
    assert upward_imports("syncer", module, "syncer.service") == []  # the top


def test_no_source_module_is_over_300_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for package in (*ALLOWED, "tests")
        for path in modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules by concept: {long}"


def test_the_rule_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom syncer.jobs import Job\n\ndef f():\n    import bridge.app\n")
    assert project_imports(module) == {"syncer", "bridge"}
