"""gunicorn and the Celery worker and beat started with a setting that cannot work: one line on
stderr (the line ``manage.py`` gives for it), exit status 1, no traceback, nothing started.

Each is run as a real process, both as ``docker/entrypoint.sh`` runs it in the containers and
as an operator types it in the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.tests.commands import ROOT, command_env, free_port

pytestmark = pytest.mark.process  # starts real processes (docs/development.md)

BIN = Path(sys.executable).parent  # the virtualenv's bin/, where gunicorn and celery are
ENTRYPOINT = str(ROOT / "docker" / "entrypoint.sh")
SERVERS = {
    "entrypoint web": [ENTRYPOINT, "web"],
    "entrypoint worker": [ENTRYPOINT, "worker"],
    "entrypoint beat": [ENTRYPOINT, "beat"],
    "gunicorn typed": [str(BIN / "gunicorn"), "config.wsgi"],
    "celery worker typed": [str(BIN / "celery"), "-A", "config", "worker"],
    "python -m celery beat": [sys.executable, "-m", "celery", "-A", "config", "beat"],
}
MISTAKES: dict[str, tuple[dict[str, str | None], str]] = {
    "no secret": (
        {"DJANGO_SECRET_KEY": None},
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off: put one in .env (see .env.example)"
        " or the environment",
    ),
    "a DATABASE_URL without a scheme": (
        {"DATABASE_URL": "invoices:s3cret@127.0.0.1:3306/invoices"},
        "DATABASE_URL 'invoices:***@127.0.0.1:3306/invoices' has no scheme: write"
        " mysql://USER:PASSWORD@HOST:3306/NAME (or sqlite:////absolute/path.sqlite3)",
    ),
    "a number that is not a number": (
        {"BATCH_LEASE_SECONDS": "sixty"},
        "BATCH_LEASE_SECONDS='sixty' is not a whole number: see .env.example and docs/configuration.md",
    ),
}


def start(command: list[str], **settings: str | None) -> subprocess.CompletedProcess:
    env = command_env(
        **settings,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        WEB_BIND=f"127.0.0.1:{free_port()}",  # were it to start, not on anybody's port
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
        HOSTNAME="server-mistakes",
    )
    # A bound on a process that would start and serve for ever if the check were gone.
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
@pytest.mark.parametrize("server", SERVERS, ids=str)
def test_a_server_started_with_a_setting_that_cannot_work_says_it_in_one_line(server, mistake):
    settings, line = MISTAKES[mistake]

    result = start(SERVERS[server], **settings)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [line]
    assert "s3cret" not in result.stdout + result.stderr


def test_the_same_line_as_manage_py_gives(tmp_path):
    settings, line = MISTAKES["no secret"]
    env = command_env(**settings)

    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert (result.returncode, result.stderr.splitlines()) == (1, [line])


def test_without_a_secret_the_celery_commands_help_still_works():
    result = start([str(BIN / "celery"), "-A", "config", "worker", "--help"], DJANGO_SECRET_KEY=None)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: celery worker [OPTIONS]")
