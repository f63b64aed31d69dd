"""An operator's mistakes, made as an operator makes them: each is one line on stderr, exit 1.

Every test runs ``manage.py`` as a real process with the bad setting in its environment.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from config.cli import DATABASE_BEHIND, DATABASE_EMPTY
from config.tests.commands import answer_lines, command_env, database_url, free_port, manage

pytestmark = pytest.mark.process  # starts real processes (docs/development.md)

COMMANDS = [("load_invoices", "data/sample_invoices.csv"), ("migrate",), ("dashboard_refresh",)]


def assert_one_line(result, starts: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = answer_lines(result.stderr)
    assert line.startswith(starts), line
    return line


@pytest.fixture(scope="module")
def mariadb() -> dict:
    """The local MariaDB server's settings (this run's own when it runs on MariaDB)."""
    from django.db import connection

    if connection.vendor == "mysql":
        return dict(connection.settings_dict)
    server = {"ENGINE": "django.db.backends.mysql", "USER": "root", "PASSWORD": "", "HOST": "127.0.0.1"}
    try:
        import MySQLdb

        MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="").close()
    except Exception:
        pytest.skip("no local MariaDB on 127.0.0.1:3306")
    return {**server, "PORT": 3306, "NAME": "invoices"}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_database_nobody_listens_on_is_named_with_its_address(command):
    port = free_port()
    env = command_env(DATABASE_URL=f"mysql://root:@127.0.0.1:{port}/invoices")

    line = assert_one_line(
        manage(*command, env=env), f"database 'invoices' on 127.0.0.1:{port} is unreachable: "
    )
    assert "Can't connect" in line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_wrong_password_is_named_with_the_servers_answer(command, mariadb):
    env = command_env(DATABASE_URL=database_url(mariadb, password="not-the-password"))

    line = assert_one_line(manage(*command, env=env), f"database '{mariadb['NAME']}' on 127.0.0.1:")
    assert "is unreachable: Access denied for user" in line
    assert "not-the-password" not in line


def test_an_unknown_database_is_named(mariadb):
    name = f"no_such_database_{os.getpid()}"
    env = command_env(DATABASE_URL=database_url(mariadb, name=name))

    line = assert_one_line(manage("load_invoices", "data/sample_invoices.csv", env=env), f"database '{name}'")
    assert line.endswith(f"is unreachable: Unknown database '{name}'")


def test_a_mariadb_database_never_migrated_says_run_migrate(mariadb):
    import MySQLdb

    name = f"{mariadb['NAME']}_never_migrated"[:64]
    server = MySQLdb.connect(
        host=mariadb["HOST"] or "127.0.0.1",
        port=int(mariadb["PORT"] or 3306),
        user=mariadb["USER"],
        passwd=mariadb["PASSWORD"],
    )
    server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        env = command_env(DATABASE_URL=database_url(mariadb, name=name))
        for command in COMMANDS[0], COMMANDS[2]:
            assert assert_one_line(manage(*command, env=env), DATABASE_EMPTY) == DATABASE_EMPTY
    finally:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def test_a_sqlite_database_never_migrated_says_run_migrate(tmp_path):
    env = command_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")

    line = assert_one_line(manage("load_invoices", "data/sample_invoices.csv", env=env), DATABASE_EMPTY)
    assert line == "the database has no tables yet: run .venv/bin/python manage.py migrate"


def test_a_database_url_without_a_scheme_is_named_without_its_password():
    env = command_env(DATABASE_URL="root:s3cret@127.0.0.1:3306/invoices")

    line = assert_one_line(manage("migrate", env=env), "DATABASE_URL ")
    assert "'root:***@127.0.0.1:3306/invoices' has no scheme" in line
    assert "s3cret" not in line


def test_without_a_secret_help_works_and_loading_or_serving_is_refused_in_one_line(tmp_path):
    env = command_env(DJANGO_SECRET_KEY=None, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    usage = manage("load_invoices", "--help", env=env)
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith("usage: manage.py load_invoices") and usage.stderr == ""
    overview = manage("help", env=env)
    assert overview.returncode == 0 and "load_invoices" in overview.stdout
    for command in ("load_invoices", "data/"), ("runserver", "--noreload", f"127.0.0.1:{free_port()}"):
        line = assert_one_line(manage(*command, env=env), "DJANGO_SECRET_KEY must be set")
        assert ".env" in line


def test_python_without_the_virtualenv_gives_djangos_hint_and_the_command_to_run():
    # -I -S: a Python that sees none of the virtualenv's packages, as a system python3 does.
    result = manage("load_invoices", "--help", env=command_env(), python=(sys.executable, "-I", "-S"))

    line = assert_one_line(result, "Couldn't import Django.")
    assert "Did you forget to activate a virtual environment?" in line
    assert ".venv/bin/python manage.py load_invoices --help" in line


def test_a_database_missing_a_newer_table_says_run_migrate(tmp_path):
    path = tmp_path / "older.sqlite3"
    env = command_env(DATABASE_URL=f"sqlite:///{path}")
    assert manage("migrate", "-v0", env=env).returncode == 0
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE load_batch")

    line = assert_one_line(
        manage("load_invoices", "data/sample_invoices.csv", env=env), "the database is not"
    )
    assert line == DATABASE_BEHIND.format(reason="no such table: load_batch")
    assert line.endswith("): run .venv/bin/python manage.py migrate")


def test_a_number_that_is_not_a_number_is_named_with_its_variable():
    env = command_env(BATCH_LEASE_SECONDS="sixty", DATABASE_URL="sqlite:////nonexistent/never-opened.sqlite3")

    line = assert_one_line(
        manage("load_invoices", "data/sample_invoices.csv", env=env), "BATCH_LEASE_SECONDS"
    )
    assert (
        line
        == "BATCH_LEASE_SECONDS='sixty' is not a whole number: see .env.example and docs/configuration.md"
    )


@pytest.mark.parametrize(
    ("url", "starts"),
    [
        (
            "mysql://invoices:s3cret@127.0.0.1:port/invoices",
            "DATABASE_URL cannot be read (Port could not be cast",
        ),
        (
            "postgres://invoices:s3cret@127.0.0.1/invoices",
            "DATABASE_URL names postgresql: this product runs on",
        ),
    ],
    ids=["a port that is not a number", "another database engine"],
)
def test_a_database_url_that_cannot_work_is_named_without_its_password(url, starts):
    line = assert_one_line(manage("migrate", env=command_env(DATABASE_URL=url)), starts)
    assert line.endswith("write mysql://USER:PASSWORD@HOST:3306/NAME (or sqlite:////absolute/path.sqlite3)")
    assert "s3cret" not in line


def test_a_mail_url_that_cannot_work_is_named():
    env = command_env(
        EMAIL_URL="smtp://relay.example.com:port", DATABASE_URL="sqlite:////nonexistent/x.sqlite3"
    )

    line = assert_one_line(manage("load_invoices", "data/", env=env), "EMAIL_URL cannot be read (")
    assert line.endswith("write smtp://USER:PASSWORD@HOST:25 (or smtp+tls://...:587, smtp+ssl://...:465)")


def test_an_error_nobody_foresaw_is_one_line_naming_it_and_its_traceback_goes_to_the_log(tmp_path):
    path = tmp_path / "not-a-database.sqlite3"
    path.write_bytes(b"these bytes are no SQLite database" * 200)
    env = command_env(DATABASE_URL=f"sqlite:///{path}")

    result = manage("load_invoices", "data/sample_invoices.csv", env=env)

    line = assert_one_line(result, "load_invoices stopped on an unexpected error: DatabaseError: ")
    assert "file is not a database" in line and line.endswith("(its traceback is in the log)")
    assert "Traceback" in result.stdout  # the log: JSON lines on stdout
    shown = manage("load_invoices", "data/sample_invoices.csv", "--traceback", env=env)
    assert shown.returncode == 1 and "Traceback" in shown.stderr
