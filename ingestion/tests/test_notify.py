"""Notices of failed and much-rejected batches: a real mail backend and a real HTTP server."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import json
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from config.tests.commands import command_env, database_url, free_port, manage
from ingestion.batches.notify import BATCH_FAILED, BATCH_REJECTIONS, SIGNATURE_HEADER
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

FIXTURES = Path(__file__).parent / "fixtures"
NOT_TABULAR = FIXTURES / "invoices-binary.bin"
SECRET = "webhook-shared-secret"


class Webhook:
    """An HTTP server on a free port of 127.0.0.1 that records each POST; it answers the
    statuses of ``first`` in turn, then ``status``."""

    def __init__(self, status: int = 204, *, first: tuple[int, ...] = ()) -> None:
        self.status, self.first = status, list(first)
        self.received: list[tuple[dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.answer(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/invoices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Record the POST ``request`` and answer it."""
        body = request.rfile.read(int(request.headers["Content-Length"]))
        self.received.append((dict(request.headers), body))
        request.send_response(self.first.pop(0) if self.first else self.status)
        request.end_headers()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(settings):
    hook = Webhook()
    settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = hook.url, SECRET
    yield hook
    hook.close()


@pytest.fixture
def notify_settings(settings):
    settings.NOTIFY_EMAILS = ["finance-ops@example.com", "etl@example.com"]
    settings.NOTIFY_REJECTED_PERCENT = 5
    settings.SITE_URL = "https://invoices.example.com"
    return settings


def load(path: Path) -> LoadBatch:
    with suppress(CommandError):  # a failed batch: exit status 1
        call_command("load_invoices", str(path), stdout=StringIO())
    return LoadBatch.objects.get()


def test_a_failed_batch_posts_a_signed_notice_to_the_webhook(notify_settings, webhook):
    batch = load(NOT_TABULAR)

    assert batch.status == LoadBatch.Status.FAILED
    [(headers, body)] = webhook.received
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    notice = json.loads(body)
    assert notice["event"] == BATCH_FAILED
    assert notice["url"] == f"https://invoices.example.com/admin/warehouse/loadbatch/{batch.pk}/change/"
    assert notice["batch"]["id"] == batch.pk and notice["batch"]["status"] == "failed"
    assert notice["batch"]["error"] == batch.error != ""


def test_a_batch_rejecting_more_than_the_threshold_mails_counts_top_reasons_and_link(
    notify_settings, webhook, seed_file
):
    batch = load(seed_file)

    assert (batch.status, batch.rows_rejected) == ("succeeded", 989)
    [message] = mail.outbox
    assert message.to == ["finance-ops@example.com", "etl@example.com"]
    assert message.subject == f"[invoices] batch #{batch.pk} rejected 9.89% of its rows: {batch.file_name}"
    assert "rows read: 10,000, loaded: 9,011, rejected: 989 (9.89%)" in message.body
    assert "\n  500  INVALID_DATE (date missing or not a real date" in message.body
    assert f"https://invoices.example.com/admin/warehouse/loadbatch/{batch.pk}/change/" in message.body
    [(_, body)] = webhook.received
    notice = json.loads(body)
    assert notice["event"] == BATCH_REJECTIONS
    assert list(notice["batch"]["top_reasons"]) == list(batch.reason_counts)[:3]


def test_a_batch_under_the_threshold_tells_nobody(notify_settings, webhook, seed_file):
    notify_settings.NOTIFY_REJECTED_PERCENT = 10

    batch = load(seed_file)

    assert batch.status == "succeeded"
    assert mail.outbox == [] and webhook.received == []


def test_the_file_mail_backend_writes_the_notice(notify_settings, tmp_path):
    notify_settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path / "mail")},
        }
    }

    batch = load(NOT_TABULAR)

    [written] = list((tmp_path / "mail").iterdir())
    text = written.read_text()
    assert f"Subject: [invoices] batch #{batch.pk} failed: invoices-binary.bin" in text
    assert "To: finance-ops@example.com, etl@example.com" in text


def test_a_webhook_answering_500_leaves_the_batch_as_it_ended(notify_settings, webhook, seed_file):
    webhook.status = 500

    batch = load(seed_file)

    assert len(webhook.received) == 1  # eager: one attempt, its error logged
    assert batch.status == "succeeded" and batch.rows_loaded == 9_011
    assert len(mail.outbox) == 1  # the other channel went out all the same


def test_no_webhook_and_no_mail_server_listening_leave_the_batch_as_it_ended(notify_settings, seed_file):
    notify_settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"
    notify_settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 5},
        }
    }

    batch = load(seed_file)

    assert batch.status == "succeeded" and batch.rows_loaded == 9_011
    assert LoadBatch.objects.get(pk=batch.pk).status == "succeeded"


def test_the_mail_backend_and_file_path_come_from_the_environment(seed_file, tmp_path):
    env = command_env(
        DATABASE_URL=database_url(connection.settings_dict),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        NOTIFY_EMAILS="finance-ops@example.com",
        NOTIFY_REJECTED_PERCENT="5",
        SITE_URL="https://invoices.example.com/",
    )

    result = manage("load_invoices", str(seed_file), env=env)

    assert result.returncode == 0, result.stderr
    batch = LoadBatch.objects.get()
    [written] = list((tmp_path / "mail").iterdir())
    message = email.message_from_string(written.read_text())
    assert message["Subject"] == f"[invoices] batch #{batch.pk} rejected 9.89% of its rows: seed_input.csv"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes), payload
    body = payload.decode()
    assert f"batch page: https://invoices.example.com/admin/warehouse/loadbatch/{batch.pk}/change/" in body


def test_a_batch_the_sweeper_fails_after_lost_workers_is_notified(notify_settings, webhook, seed_file):
    from ingestion.batches.services import batch_create
    from ingestion.tasks import batch_sweep

    lost = {"status": "worker lost", "error": "worker lost: no heartbeat since ..."}
    batch = batch_create(path=seed_file)
    LoadBatch.objects.filter(pk=batch.pk).update(
        status=LoadBatch.Status.RUNNING,
        lease_owner="gone-host:1:abc",
        lease_expires_at=timezone.now() - dt.timedelta(minutes=5),
        started_at=timezone.now() - dt.timedelta(minutes=10),
        attempts=[lost] * (notify_settings.BATCH_MAX_ATTEMPTS - 1),
    )

    assert batch_sweep() == [batch.pk]

    batch.refresh_from_db()
    assert batch.status == "failed" and batch.error.startswith("worker lost")
    [message] = mail.outbox
    assert message.subject == f"[invoices] batch #{batch.pk} failed: seed_input.csv"
    [(_, body)] = webhook.received
    assert json.loads(body)["batch"]["error"] == batch.error
