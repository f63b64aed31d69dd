"""The README and docs/ hold: the README stays short, every relative link resolves (to a file
and, for ``#anchor``, to a heading), every shell command the README prints is one that CI or a
test runs, and docs/configuration.md names every variable the settings read."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
from django.db import connection

from config.tests.env_files import settings_source

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 250
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
MANAGE = ".venv/bin/python manage.py"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def _readme_commands() -> list[str]:
    """Every line of the README's ```sh blocks, its comment removed."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    lines = [line.split(" #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _makefile_rules() -> dict[str, list[str]]:
    rules = re.findall(r"^([\w.-]+):([^=\n]*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    return {target: prereqs.replace("|", " ").split() for target, prereqs in rules}


def _targets_ci_runs() -> set[str]:
    """The make targets .ci/run calls, those the smoke test calls in its clone, and their prerequisites."""
    rules = _makefile_rules()
    called = re.findall(r"^\s*make ([\w-]+)", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    called += re.findall(r'\["make", "([\w-]+)"', (ROOT / "scripts" / "smoke.py").read_text(encoding="utf-8"))
    reached: set[str] = set()
    while called:
        target = called.pop()
        if target not in reached:
            reached.add(target)
            called += [p for p in rules.get(target, []) if p in rules]
    return reached


def _split(line: str) -> tuple[dict[str, str], list[str]]:
    """``A=1 make demo B=2`` -> ({"A": "1"}, ["make", "demo", "B=2"])."""
    words = shlex.split(line)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


def _recipe() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Use MariaDB") :]
    recipe = re.search(r"```sh\n(.*?)```", section, re.S)
    assert recipe is not None
    return recipe[1].strip().splitlines()


def test_the_readme_is_at_most_250_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_README_LINES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves_to_a_file_and_a_heading(page):
    broken = []
    for link in _links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in _anchors(target)):
            broken.append(link)
    assert broken == []


def test_the_readme_links_every_page_of_docs():
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in _links(README)}
    assert sorted(p.name for p in PAGES[1:] if p.resolve() not in linked) == []


def test_every_command_the_readme_prints_is_a_make_target_ci_runs_or_a_manage_py_command():
    commands = _readme_commands()
    assert len(commands) >= 8
    for line in commands:
        if _split(line)[1][0] == "make" or line.startswith(MANAGE):
            continue  # checked by the two tests below
        assert line in _recipe(), f"a command no test runs: {line}"


def test_each_make_command_names_a_target_ci_runs_and_variables_the_makefile_or_settings_read():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    settings = settings_source()
    ci_runs = _targets_ci_runs()
    make_lines = [_split(line) for line in _readme_commands() if _split(line)[1][0] == "make"]
    assert len(make_lines) >= 5
    for env, words in make_lines:
        targets = [w for w in words[1:] if "=" not in w]
        variables = [w.split("=")[0] for w in words[1:] if "=" in w]
        assert targets, words
        for target in targets:
            assert target in ci_runs, f"make {target}: not run by .ci/run"
        for name in variables:
            assert f"$({name})" in makefile, f"make variable {name} is not used by the Makefile"
        for name in env:
            assert f'"{name}"' in settings, f"{name} is not read by config/settings/"


def test_each_manage_py_command_exists_with_the_options_printed():
    commands: dict[str, set[str]] = {}
    for line in _readme_commands():
        if line.startswith(MANAGE):
            name, *rest = shlex.split(line.removeprefix(MANAGE))
            commands.setdefault(name, set()).update(w for w in rest if w.startswith("--"))
    assert {"load_invoices", "dashboard_refresh"} <= set(commands)
    registered = get_commands()  # what `manage.py <name>` finds: name -> app
    for name, options in commands.items():
        assert name in registered, f"manage.py has no command {name}"
        command = load_command_class(registered[name], name)
        usage = command.create_parser("manage.py", name).format_help()
        missing = sorted(o for o in options if not re.search(rf"{re.escape(o)}\b", usage))
        assert missing == [], f"{name} has no {missing}"


def test_the_mariadb_recipe_overrides_the_env_file_make_demo_writes_and_loads_demo_data(tmp_path):
    create, demo = _recipe()
    env, words = _split(demo)
    written = ["DJANGO_DEBUG=true", "DATABASE_URL=", "DB_HOST="]  # lines of the .env `make demo` writes
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert all(f'echo "{line}"' in makefile for line in written)
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(written) + "\n")
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(d['ENGINE'], d['NAME'], d['HOST'])",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "ENV_FILE": str(env_file), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    named = re.search(r"DATABASE IF NOT EXISTS (\w+)", create)
    assert named is not None, create
    database = named[1]
    assert shown.stdout.split() == ["django.db.backends.mysql", database, "127.0.0.1"], shown.stderr
    demo_data = dict(w.split("=", 1) for w in words if "=" in w)["DEMO_DATA"]
    assert (ROOT / demo_data).is_file()
    planned = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True)
    assert f"manage.py load_invoices {demo_data}" in planned.stdout, planned.stderr


@pytest.mark.django_db
def test_the_mariadb_recipe_creates_its_database_as_printed():
    if connection.vendor != "mysql" or connection.settings_dict["HOST"] not in ("127.0.0.1", "localhost"):
        pytest.skip("runs in the MariaDB/MySQL pass, on the server the recipe names")
    if shutil.which("mysql") is None:
        pytest.skip("the mysql client is not installed")
    create = _recipe()[0]
    named = re.search(r"DATABASE IF NOT EXISTS (\w+)", create)
    assert named is not None, create
    database = named[1]
    with connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE %s", [database])
        existed = cursor.fetchone() is not None
    subprocess.run(create, shell=True, check=True)  # the README's line, verbatim
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES LIKE %s", [database])
            assert cursor.fetchone() == (database,)
    finally:
        if not existed:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE `{database}`")


def test_configuration_md_names_every_variable_the_settings_read():
    settings = settings_source()
    variables = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings))
    assert len(variables) > 40
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert sorted(v for v in variables if f"`{v}`" not in page) == []
