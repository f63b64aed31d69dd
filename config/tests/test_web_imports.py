"""A process that serves pages or queues loads starts without pandas: the web's workers and
every ``manage.py`` command that does not read a file spend neither the time (about half a
second of CPU at each start) nor the memory (about 65 MB) of the load's libraries. A load
imports them when it first reads a file; a Celery worker before its pool forks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from config.tests.commands import ROOT, command_env

pytestmark = pytest.mark.process  # starts a real process (docs/development.md)

# Sets up Django as the WSGI entry point does, imports every URL's view (the admin's
# included) and prints which of the load's libraries came with them.
WEB_START = """
import sys

from config.wsgi import application
from django.urls import get_resolver

def views(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from views(pattern.url_patterns)
        else:
            yield pattern.callback

print(len(list(views(get_resolver().url_patterns))))
print(" ".join(sorted(name for name in ("pandas", "pyarrow", "python_calamine") if name in sys.modules)))
"""


def test_the_web_process_starts_without_the_load_libraries(tmp_path):
    env = command_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    done = subprocess.run(
        [sys.executable, "-c", WEB_START], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    count, loaded = [*done.stdout.splitlines(), "", ""][:2]
    assert int(count) > 50  # every view was imported, the admin's included
    assert loaded == ""
