"""The database stopped, then started again, under the web server as the image runs it
(``docker/entrypoint.sh web``: gunicorn, two workers of six threads, debug off).

Each of gunicorn's threads keeps its database connection between requests; a restart kills
them all. Without a check before reuse, each thread's next request answered 500 with a
traceback. While the database is down, a request is answered 503 (JSON under ``/api/``)
with ``Retry-After``, and the log has one line naming the cause. MariaDB/MySQL runs only: a
private ``mariadbd`` (``ingestion.tests.servers``) is the one stopped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from config.middleware import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from ingestion.tests.servers import MariaDBServer, free_port
from ingestion.tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.process]
DATABASE = "outage"
DEADLINE = 60
REQUESTS = 40  # at once, so that every one of gunicorn's 12 threads serves some
LOGIN = """
from django.contrib.auth import get_user_model
from django.test import Client
from tokens.services import token_create
user = get_user_model().objects.create_superuser("steward", "s@example.com", "a-long-password-1")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value, token_create(user=user, name="outage")[1])
"""


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """(server, port, session cookie, token, log) of a gunicorn on a private MariaDB."""
    if connection.vendor != "mysql":
        pytest.skip("a database server stopping under the web server: a MariaDB/MySQL matter")
    folder = tmp_path_factory.mktemp("outage")
    server = MariaDBServer(folder / "mariadb")
    server.start()
    server.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=server.url(DATABASE),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="outage-" * 8,
        DJANGO_ALLOWED_HOSTS="localhost",
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, capture_output=True)
    login = subprocess.run(
        [*manage, "shell", "-c", LOGIN], cwd=ROOT, env=env, check=True, capture_output=True
    )
    cookie, token = login.stdout.decode().split()[-2:]
    port, log = free_port(), folder / "gunicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            ["sh", "docker/entrypoint.sh", "web"],
            cwd=ROOT,
            env={**env, "WEB_BIND": f"127.0.0.1:{port}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + DEADLINE
    while log.read_text().count("Booting worker") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    yield server, port, cookie, token, log
    process.terminate()
    process.wait(timeout=DEADLINE)
    server.stop()


def _get(port: int, path: str, headers: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        # As behind the image's proxy: TLS ended there (the HTTPS redirect does not apply).
        headers={"Host": "localhost", "X-Forwarded-Proto": "https", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _at_once(port: int, path: str, headers: dict, count: int = REQUESTS) -> Counter:
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: _get(port, path, headers)[0], range(count)))
    return Counter(answers)


def _visitors(cookie: str, token: str) -> dict[str, dict]:
    return {
        "/api/sells/kpis/": {"Authorization": f"Bearer {token}"},
        "/visualization/dashboard/": {"Cookie": f"sessionid={cookie}"},
        "/admin/warehouse/loadbatch/": {"Cookie": f"sessionid={cookie}"},
    }


def _until_up(port: int, token: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while _get(port, "/api/sells/kpis/", {"Authorization": f"Bearer {token}"})[0] != 200:
        assert time.monotonic() < deadline, "the web server did not answer"
        time.sleep(0.2)


def test_after_a_database_restart_every_request_is_answered(web):
    server, port, cookie, token, log = web
    _until_up(port, token)
    for path, headers in _visitors(cookie, token).items():
        assert _at_once(port, path, headers) == {200: REQUESTS}, path  # each thread holds a connection
    server.stop()
    server.start()
    for path, headers in _visitors(cookie, token).items():
        assert _at_once(port, path, headers) == {200: REQUESTS}, path
    assert "Traceback" not in log.read_text()


def test_while_the_database_is_down_requests_are_answered_503_in_one_line(web):
    server, port, cookie, token, log = web
    _until_up(port, token)
    server.stop()
    try:
        for path, headers in _visitors(cookie, token).items():
            status, answer_headers, body = _get(port, path, headers)
            assert (status, answer_headers["Retry-After"]) == (503, str(RETRY_AFTER_SECONDS)), path
            if path.startswith("/api/"):
                assert answer_headers["Content-Type"] == "application/json"
                assert body == b'{"error": "%s"}' % DATABASE_UNAVAILABLE.encode()
            else:
                assert body.decode() == DATABASE_UNAVAILABLE
        # An answer that never read the user: its log line does not try to either.
        assert _get(port, "/no-such-page/", {"Cookie": f"sessionid={cookie}"})[0] == 404
    finally:
        server.start()
    _until_up(port, token)
    text = log.read_text()
    assert "Traceback" not in text
    assert re.search(rf"GET /admin/warehouse/loadbatch/: database '{DATABASE}' on .* is unreachable", text)
    assert _at_once(port, "/visualization/dashboard/", {"Cookie": f"sessionid={cookie}"}) == {200: REQUESTS}
