"""The import arrows between the project's packages point one way (docs/development.md#layout):
``config`` wires the apps together and nothing below imports its wiring; ``api`` is shared by
the apps and imports none of them; ``warehouse`` imports no app above it; the dashboard and
the load do not import each other. The packages at the bottom (``warehouse``, ``tokens``,
``api``) read nothing of ``config`` but its settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package -> the top-level packages (or modules) its code never imports
NEVER = {
    "warehouse": ("ingestion", "dashboard", "api", "tokens", "config"),
    "api": ("ingestion", "dashboard", "config"),
    "tokens": ("ingestion", "dashboard", "config"),
    "ingestion": ("dashboard", "config.api", "config.urls"),
    "dashboard": ("ingestion", "config.api", "config.urls"),
}
# what a package may import although NEVER names a package holding it
EXCEPT = ("config.settings",)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _banned(name: str, banned: str) -> bool:
    return _within(name, banned) and not any(_within(name, allowed) for allowed in EXCEPT)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def _code(package: str) -> list[Path]:
    """The package's modules, tests and migrations aside (tests may reach anywhere)."""
    return [
        p
        for p in (ROOT / package).rglob("*.py")
        if not {"tests", "migrations"} & set(p.parts[len(ROOT.parts) :])
    ]


@pytest.mark.parametrize("package", sorted(NEVER))
def test_a_package_never_imports_what_sits_above_or_beside_it(package):
    wrong = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in _code(package)
        for name in _imports(path)
        for banned in NEVER[package]
        if _banned(name, banned)
    )
    assert wrong == []


def test_the_rule_sees_an_import_when_there_is_one(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from dashboard.api import router\nimport ingestion.batches.services\nfrom . import x\n"
    )
    assert _imports(module) == {"dashboard.api", "dashboard.api.router", "ingestion.batches.services"}


def test_the_bottom_packages_may_read_the_settings_and_nothing_else_of_config():
    assert not _banned("config.settings", "config")
    assert not _banned("config.settings.loading", "config")
    assert _banned("config.request_limits", "config")
    assert _banned("config", "config")
    assert not _banned("configparser", "config")
