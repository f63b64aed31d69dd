""".env.example, check --deploy, the MySQL system checks and the beat's schedule file."""

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models

from config.celery import app
from config.tests.env_files import env_file_names, settings_source
from config.tests.mysql import mysql_url

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# ENV_FILE names the file itself; HOSTNAME is the container's own.
NOT_IN_THE_FILE = {"ENV_FILE", "HOSTNAME"}
MYSQL_UNIQUE_VARCHAR_MAX = 255


def _clean_env(**extra) -> dict:
    """This machine's environment without any of the project's settings."""
    names = env_file_names(ENV_EXAMPLE) | {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "ENV_FILE"}
    return {**{k: v for k, v in os.environ.items() if k not in names}, **extra}


def test_every_variable_the_settings_and_the_entrypoint_read_is_in_env_example():
    settings_reads = set(re.findall(r"env(?:\.\w+)?\(\s*\"(\w+)\"", settings_source()))
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    entrypoint_reads = {
        a or b for a, b in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)[:}]|environ\.get\(\"(\w+)\"", entrypoint)
    }
    assert {
        "DJANGO_SECRET_KEY",
        "INGEST_MAX_FIELD_BYTES",
        "WORKER_CONCURRENCY",
    } <= settings_reads | entrypoint_reads

    missing = (settings_reads | entrypoint_reads) - NOT_IN_THE_FILE - env_file_names(ENV_EXAMPLE)
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_check_deploy_with_env_example_and_a_secret_prints_no_warning():
    env = _clean_env(ENV_FILE=str(ENV_EXAMPLE), DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


@pytest.mark.database  # the MariaDB pass: it needs the server, not Django's test database
def test_manage_py_on_mariadb_prints_no_mysql_w003_line():
    if connection.vendor != "mysql":
        pytest.skip("a MySQL/MariaDB check: run with DATABASE_URL=mysql://...")
    url = mysql_url()
    for command in (["check", "--database", "default"], ["migrate", "--plan"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=_clean_env(DJANGO_SETTINGS_MODULE="config.test_settings", DATABASE_URL=url),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert "W003" not in result.stdout + result.stderr


def test_every_unique_character_column_fits_what_mysql_allows_so_silencing_w003_hides_nothing():
    widths: dict[str, int | None] = {}
    for model in apps.get_models():
        for field in model._meta.local_fields:
            column = field.output_field if isinstance(field, models.GeneratedField) else field
            if field.unique and isinstance(column, models.CharField):
                widths[f"{model.__name__}.{field.name}"] = column.max_length
    assert widths["Customer.customer_id_ci"] == 32  # the generated columns are seen
    assert "mysql.W003" in settings.SILENCED_SYSTEM_CHECKS
    assert {
        name: width for name, width in widths.items() if width is None or width > MYSQL_UNIQUE_VARCHAR_MAX
    } == {}


def test_the_beat_schedule_file_is_under_var_by_default():
    assert Path(settings.CELERY_BEAT_SCHEDULE_FILENAME) == ROOT / "var" / "celerybeat-schedule"
    assert app.conf.beat_schedule_filename == settings.CELERY_BEAT_SCHEDULE_FILENAME


def test_a_worker_with_an_embedded_beat_run_by_hand_writes_its_schedule_under_var_not_in_the_checkout(
    tmp_path,
):
    try:
        import redis

        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    started = time.time()
    before = set(ROOT.glob("celerybeat-schedule*"))
    env = _clean_env(DJANGO_SETTINGS_MODULE="config.test_settings", CELERY_BROKER_URL=BROKER_URL)
    queue = f"nothing-{uuid.uuid4().hex[:8]}"  # consumes no other test's tasks
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-Q", queue, "--pool", "solo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("w"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        written: list[Path] = []
        while not written:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            written = [
                p for p in (ROOT / "var").glob("celerybeat-schedule*") if p.stat().st_mtime >= started - 1
            ]
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert set(ROOT.glob("celerybeat-schedule*")) == before
