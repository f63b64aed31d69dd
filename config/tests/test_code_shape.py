"""The code stays quick to change (docs/development.md#lint): no module over ``MAX_LINES``
lines outside migrations and tests, and no public top-level function or class name defined in
two modules of the project's packages with different bodies (a reader, or an import, would
take one for the other). Names with a leading underscore are private to their module and may
repeat; ``bench/`` and ``scripts/`` are programs, each its own namespace, checked for length only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 300
PACKAGES = ("api", "config", "dashboard", "ingestion", "tokens", "warehouse")
NOT_CODE = {"tests", "migrations", ".venv", "var", ".cache", "node_modules", "staticfiles"}
# Names meant to repeat, and why.
SHARED_NAMES = {
    "Command": "Django finds a management command by this class name in its module",
    # A Celery task takes the name of the service it runs (the beat schedule and the messages
    # already queued name the task: renaming one is an upgrade step).
    "batch_sweep": "ingestion.tasks runs ingestion.batches.leases.batch_sweep",
    "preview_settle": "ingestion.tasks runs ingestion.batches.preview_loads.preview_settle",
    "retention_apply": "ingestion.tasks runs ingestion.batches.retention.retention_apply",
}


def _modules(root: Path, folders: tuple[str, ...] | None = None) -> list[Path]:
    """The ``.py`` files under ``root`` (or its ``folders``), tests and migrations aside."""
    tops = [root / folder for folder in folders] if folders else [root]
    return sorted(
        path
        for top in tops
        for path in top.rglob("*.py")
        if not NOT_CODE & set(path.relative_to(root).parts) and path.name != "conftest.py"
    )


def modules_too_long(root: Path, limit: int = MAX_LINES) -> dict[str, int]:
    lengths = {
        str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules(root)
    }
    return {path: lines for path, lines in lengths.items() if lines > limit}


def names_defined_twice(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, list[str]]:
    """Public top-level function and class names defined in two modules with different bodies
    (docstrings aside): name -> the modules."""
    bodies: dict[str, dict[str, str]] = defaultdict(dict)
    for path in _modules(root, packages):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name.startswith("_"):
                    continue
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                bodies[node.name][str(path.relative_to(root))] = ast.dump(ast.Module(body, []))
    return {
        name: sorted(where)
        for name, where in bodies.items()
        if len(where) > 1 and len(set(where.values())) > 1
    }


def test_no_module_is_over_300_lines():
    assert modules_too_long(ROOT) == {}


def test_no_two_modules_define_a_public_name_for_different_things():
    repeated = {name: where for name, where in names_defined_twice(ROOT).items() if name not in SHARED_NAMES}
    assert repeated == {}


def test_the_shared_names_are_still_shared():
    """An entry of ``SHARED_NAMES`` no longer repeated goes: the list stays short and true."""
    assert set(SHARED_NAMES) <= set(names_defined_twice(ROOT))


def test_the_checks_see_a_long_module_and_a_name_defined_twice(tmp_path):
    for package, body in (("one", "return 1"), ("two", "return 2"), ("three", "return 1")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "rules.py").write_text(
            f"def rule():\n    {body}\n\n\ndef _helper():\n    {body}\n"
        )
    (tmp_path / "one" / "long.py").write_text("x = 1\n" * 301)
    (tmp_path / "one" / "tests").mkdir()
    (tmp_path / "one" / "tests" / "test_long.py").write_text("x = 1\n" * 400)
    assert modules_too_long(tmp_path) == {"one/long.py": 301}
    assert names_defined_twice(tmp_path, ("one", "two", "three")) == {
        "rule": ["one/rules.py", "three/rules.py", "two/rules.py"]
    }
    assert names_defined_twice(tmp_path, ("one", "three")) == {}  # the same body: one thing
