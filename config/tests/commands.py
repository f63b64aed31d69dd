"""Running ``manage.py`` as an operator does: a real process, settings from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-only-secret-key-not-for-production-use-0123456789"
# What the system checks print on MariaDB before a command runs (mysql.W003, about the ``*_ci``
# columns): not an answer to the mistake, left out when counting the answer's lines.
_CHECK_BLOCK = ("System check identified some issues", "WARNINGS:", "HINT:", "(mysql.W003)")


def command_env(**settings: str | None) -> dict:
    """The environment of an operator's shell: production settings (``config.settings``), no
    ``.env``, a secret key, and ``settings`` (a setting given as None is removed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ENV_FILE": "",
            "DJANGO_SECRET_KEY": SECRET,
            "DJANGO_SECURE_SSL_REDIRECT": "false",
        }
    )
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict, python: tuple[str, ...] = (sys.executable,), prefix: tuple[str, ...] = ()):
    return subprocess.run(
        [*prefix, *python, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def answer_lines(stderr: str) -> list[str]:
    """stderr's lines, without the system checks' MariaDB warnings."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not any(mark in line for mark in _CHECK_BLOCK)
    ]


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db: dict, *, name: str | None = None, password: str | None = None) -> str:
    """``DATABASE_URL`` of a Django database settings dict (SQLite file or MySQL)."""
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{name or db['NAME']}"
    password = db["PASSWORD"] if password is None else password
    where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}"
    return f"mysql://{db['USER']}:{password}@{where}/{name or db['NAME']}"
