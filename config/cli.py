"""Starting a process: an operator's mistake is one line on stderr and exit status 1.

``manage.py`` runs every command through ``command_line_run``. A database that cannot be
reached, a database never migrated and a setting that cannot work (no secret key, a
``DATABASE_URL`` without a scheme) are answered with the line that names the problem and
the next step, instead of Django's traceback. Any other error is a fault of the program: one
line names it, and its traceback goes to the log. ``--traceback`` shows the traceback as usual.
gunicorn (``gunicorn.conf.py``) and the ``celery`` command (``config/celery.py``) load the
settings through ``settings_load_or_exit`` before they start anything, with the same lines.
"""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line
from django.db import DatabaseError

MIGRATE = ".venv/bin/python manage.py migrate"
DATABASE_UNREACHABLE = "database '{name}' on {where} is unreachable: {reason}"
DATABASE_EMPTY = f"the database has no tables yet: run {MIGRATE}"
UNEXPECTED = "{command} stopped on an unexpected error: {error} (its traceback is in the log)"
DATABASE_BEHIND = "the database is not up to date ({reason}): run " + MIGRATE
# MySQL/MariaDB client and server error codes: too many connections, refused login or host, no
# such database, no server, no such host, connection lost, TLS or auth plugin failure; a missing
# table; a missing column.
_UNREACHABLE = {1040, 1044, 1045, 1049, 1130, 1698, 2002, 2003, 2005, 2006, 2013, 2026, 2059}
_NO_TABLE, _NO_COLUMN = 1146, 1054
_SQLITE_UNREACHABLE = ("unable to open database file", "disk I/O error")
_SQLITE_BEHIND = ("no such table", "no such column")


def _reason(exc: DatabaseError) -> tuple[int | None, str]:
    args = exc.args
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return None, str(exc)


def _where(db: dict) -> str:
    if db["ENGINE"].endswith("sqlite3"):
        return "this machine (SQLite)"
    return f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 3306}"


def _has_tables() -> bool:
    from django.db import connection

    try:
        return bool(connection.introspection.table_names())
    except Exception:
        return True  # cannot tell: say "not up to date", which holds either way


def database_mistake(exc: DatabaseError) -> str | None:
    """The one-line answer for a database an operator has to fix, or None for any other error."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    code, reason = _reason(exc)
    if code in _UNREACHABLE or reason.startswith(_SQLITE_UNREACHABLE):
        return DATABASE_UNREACHABLE.format(name=db["NAME"], where=_where(db), reason=reason)
    if code in (_NO_TABLE, _NO_COLUMN) or reason.startswith(_SQLITE_BEHIND):
        return DATABASE_BEHIND.format(reason=reason) if _has_tables() else DATABASE_EMPTY
    return None


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _exit_with(line: object) -> NoReturn:
    sys.stderr.write(one_line(str(line)) + "\n")
    sys.exit(1)


def settings_load_or_exit() -> None:
    """Load the settings now; one that cannot work ends the process with its line, exit 1."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading it imports the settings module)
    except ImproperlyConfigured as exc:
        _exit_with(exc)


def command_line_run(argv: list[str]) -> None:
    """``execute_from_command_line(argv)``; a mistake of the set-up exits 1 with one line."""
    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        if "--traceback" in argv:
            raise
        _exit_with(exc)
    except DatabaseError as exc:
        if "--traceback" in argv:
            raise
        _exit_with(database_mistake(exc) or _unexpected(argv, exc))
    except Exception as exc:
        if "--traceback" in argv:
            raise
        _exit_with(_unexpected(argv, exc))


def _unexpected(argv: list[str], exc: Exception) -> str:
    """Log the traceback of the error being handled; the line that names it."""
    command = argv[1] if len(argv) > 1 else "manage.py"
    logging.getLogger(__name__).exception("%s stopped on an unexpected error", command)
    return UNEXPECTED.format(command=command, error=f"{type(exc).__name__}: {exc}")
