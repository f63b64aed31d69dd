"""Log lines as an operator reads them: JSON on stdout, the batch or request they belong to."""

from __future__ import annotations

import json
import logging.config
import re

import pytest
from django.db import connection
from django.test import Client

from config.logs import LOG_FILE_NAME, logging_config
from config.tests.commands import command_env, database_url, manage

pytestmark = [pytest.mark.django_db(transaction=True)]


def json_lines(text: str) -> list[dict]:
    """Every line that is a log line (a JSON object), parsed; the command's report is not."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("reference_data")
def test_a_loads_lines_are_json_on_stdout_with_the_batch_id_and_file_and_go_to_log_dir(seed_file, tmp_path):
    env = command_env(
        DATABASE_URL=database_url(connection.settings_dict), LOG_LEVEL="INFO", LOG_DIR=str(tmp_path)
    )

    result = manage("load_invoices", str(seed_file), env=env)

    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    ingestion = [line for line in lines if line["name"].startswith("ingestion.")]
    assert ingestion, result.stdout
    batch_id = ingestion[-1]["batch_id"]
    assert all((line["batch_id"], line["file"]) == (batch_id, "seed_input.csv") for line in ingestion)
    assert ingestion[-1]["message"] == f"batch {batch_id} succeeded: read=10000 loaded=9011 rejected=989"
    assert {"levelname", "name", "message", "timestamp"} <= set(ingestion[-1])
    assert json_lines((tmp_path / LOG_FILE_NAME).read_text()) == lines  # the same lines, kept


@pytest.mark.usefixtures("reference_data")
def test_with_debug_on_a_loads_lines_are_text_naming_the_batch_and_file(seed_file):
    env = command_env(
        DATABASE_URL=database_url(connection.settings_dict), LOG_LEVEL="INFO", DJANGO_DEBUG="true"
    )

    result = manage("load_invoices", str(seed_file), env=env)

    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^\S+ \S+ INFO ingestion\.batches\.services batch (\d+) succeeded: .*"
        r" \[batch_id=\1 file=seed_input\.csv\]$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout


def test_without_log_dir_nothing_is_written_to_a_file():
    config = logging_config(text=False, level="INFO", log_dir="", max_bytes=1024, backups=1)

    assert list(config["handlers"]) == ["console"]


@pytest.fixture
def log_file(settings, tmp_path):
    """This process logs as configured, at INFO, into ``tmp_path``; the settings' logging after."""
    logging.config.dictConfig(
        logging_config(text=False, level="INFO", log_dir=str(tmp_path), max_bytes=0, backups=0)
    )
    yield tmp_path / LOG_FILE_NAME
    logging.config.dictConfig(settings.LOGGING)


def test_a_requests_lines_carry_the_request_id_its_response_shows(log_file):
    given = Client().get("/admin/login/", HTTP_X_REQUEST_ID="req-7f3a")
    made_up = Client().get("/no-such-page/")

    assert given["X-Request-ID"] == "req-7f3a"
    assert re.fullmatch(r"[0-9a-f]{32}", made_up["X-Request-ID"])
    lines = json_lines(log_file.read_text())
    assert [(line.get("request_id"), line["name"], line["message"]) for line in lines] == [
        ("req-7f3a", "log_request_id.middleware", "method=GET path=/admin/login/ status=200 user=None"),
        (
            made_up["X-Request-ID"],
            "log_request_id.middleware",
            "method=GET path=/no-such-page/ status=404 user=None",
        ),
        (made_up["X-Request-ID"], "django.request", "Not Found: /no-such-page/"),
    ]


@pytest.mark.usefixtures("reference_data")
def test_a_request_refused_for_the_clients_mistake_is_one_warning_line_without_a_traceback(log_file):
    bad_host = Client().get("/admin/login/", HTTP_HOST="scanner.example")
    no_page = Client().get("/no-such-page/")

    assert (bad_host.status_code, no_page.status_code) == (400, 404)
    refused = [line for line in json_lines(log_file.read_text()) if line["name"].startswith("django.")]
    assert [(line["levelname"], line["name"], line["message"][:30]) for line in refused] == [
        ("WARNING", "django.security.DisallowedHost", "Invalid HTTP_HOST header: 'sca"),
        ("WARNING", "django.request", "Not Found: /no-such-page/"),
    ]
    assert not any("exc_info" in line for line in refused)
