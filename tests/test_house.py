"""The house rule: one package per process, one shared foundation, small modules.

`bridge`, `syncer` and `notifier` import nothing of each other, `arrsync` imports none of
them, and no source module grows past 300 lines. Checked on the source with `ast`.
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


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def project_imports(path: Path) -> set[str]:
    """The project packages a module imports, at any depth (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PROJECT)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_foundation(package: str) -> None:
    assert modules(package), f"{package}/ has no modules"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package])
        for path in modules(package)
        if (imported := project_imports(path)) - ALLOWED[package]
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


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
