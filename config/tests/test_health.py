"""/health/ and ``manage.py health``: what they report, on SQLite and MariaDB."""

import datetime as dt
import json
import os
import socket

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from config.beat import beat_tick_record
from config.celery import app
from config.health import NOT_APPLICABLE

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def broker_at():
    """``broker_at(url)``: the Celery app sends to ``url`` (not eagerly) until the test ends."""
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}

    def point(url: str) -> None:
        app.conf.update(broker_url=url, task_always_eager=False)
        app._pool, app.amqp._producer_pool = None, None

    yield point
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None


def _dead_broker_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:a-broker-password@127.0.0.1:{port}/0"  # nothing listens there now


def _checks(response) -> dict:
    return {name: check["status"] for name, check in response.json()["checks"].items()}


@pytest.mark.django_db
def test_health_answers_200_in_json_without_a_login_and_broker_checks_are_not_applicable_without_a_broker(
    client, media
):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert _checks(response) == {
        "database": "ok",
        "migrations": "ok",
        "storage": "ok",
        "broker": "not applicable",
        "worker": "not applicable",
        "beat": "not applicable",
    }
    assert response.json()["checks"]["worker"]["detail"] == NOT_APPLICABLE
    assert list(media.iterdir()) == []  # the storage check's file is gone, and no folder left


@pytest.mark.django_db
def test_health_is_not_redirected_to_https_while_the_rest_of_the_site_is(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/").status_code == 200
    assert client.get("/admin/login/").status_code == 301


@pytest.mark.django_db
def test_a_broker_nobody_listens_on_gives_503_naming_the_broker_and_no_address_or_password(client, broker_at):
    url = _dead_broker_url()
    broker_at(url)

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    checks = response.json()["checks"]
    assert checks["broker"] == {"status": "fail", "detail": "the broker does not answer"}
    assert checks["worker"]["status"] == "fail"
    assert checks["database"] == {"status": "ok"}
    body = response.content.decode()
    database = connection.settings_dict
    for secret in ("a-broker-password", url.rsplit(":", 1)[1], "127.0.0.1", str(database["NAME"])):
        assert secret not in body
    for secret in (database["PASSWORD"], database["HOST"], database["USER"]):
        assert not secret or secret not in body


@pytest.mark.django_db(transaction=True)
def test_an_unapplied_migration_gives_503_telling_to_migrate(client):
    recorder = MigrationRecorder(connection)
    recorder.record_unapplied("dashboard", "0002_roles")
    try:
        response = client.get("/health/")
    finally:
        recorder.record_applied("dashboard", "0002_roles")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {
        "status": "fail",
        "detail": "1 migrations not applied: run manage.py migrate",
    }
    assert client.get("/health/").status_code == 200


@pytest.mark.django_db
def test_a_media_root_that_cannot_be_written_gives_503(client, settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {"status": "fail", "detail": "MEDIA_ROOT is not writable"}


@pytest.fixture
def redis_broker(broker_at):
    import redis

    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    broker_at(BROKER_URL)


@pytest.mark.django_db
def test_with_a_broker_the_beat_passes_after_a_recent_tick_and_fails_after_a_stale_one(
    client, redis_broker, settings
):
    beat_tick_record()
    checks = client.get("/health/").json()["checks"]
    assert checks["broker"] == {"status": "ok"}
    assert checks["beat"] == {"status": "ok"}

    beat_tick_record(timezone.now() - dt.timedelta(seconds=settings.HEALTH_BEAT_STALE_SECONDS + 30))
    checks = client.get("/health/").json()["checks"]
    assert checks["beat"]["status"] == "fail"
    assert checks["beat"]["detail"].startswith("the beat last ticked")


@pytest.mark.django_db
def test_with_a_broker_and_no_worker_the_worker_check_fails(client, redis_broker):
    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {
        "status": "fail",
        "detail": "no worker answered a ping within 2 s",
    }


@pytest.mark.django_db
def test_the_health_command_prints_the_report_and_fails_with_one_line_naming_what_failed(
    capsys, settings, tmp_path
):
    call_command("health", "database", "storage")
    assert json.loads(capsys.readouterr().out)["status"] == "ok"

    (tmp_path / "a-file").write_text("")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    with pytest.raises(CommandError, match=r"^unhealthy: storage: MEDIA_ROOT is not writable$"):
        call_command("health", "storage")
