"""A batch that could not be queued (the broker unreachable) is told to operators through the
same mail and webhook channels, although the notice tasks' broker is down, and the request or
command that queued it never waits for them. A real SMTP server and a real HTTP server listen
on 127.0.0.1; the broker is a port nobody listens on."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socketserver
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse_lazy

from config.tests.commands import command_env, database_url, free_port, manage
from ingestion.batches.dispatch import QUEUE_FAILED
from ingestion.batches.notify import BATCH_FAILED, SIGNATURE_HEADER
from ingestion.tests.files import invoices_csv, write_invoices
from ingestion.tests.test_broker_down import DEAD_BROKER, ROW
from ingestion.tests.test_notify import SECRET, Webhook
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

UPLOAD = reverse_lazy("admin:warehouse_loadbatch_upload")
ARRIVAL_SECONDS = 60  # how long a notice may take to arrive (a bound, not a measurement)


class SmtpServer:
    """An SMTP server on a free port of 127.0.0.1 that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def say(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.say("220 receiver")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"RCPT":
                        recipients.append(line.split(b":", 1)[1].strip(b" <>\r\n").decode())
                    if verb == b"DATA":
                        self.say("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (part := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(part[1:] if part.startswith(b"..") else part)
                        server.messages.append((recipients, email.message_from_bytes(b"".join(lines))))
                    if verb == b"QUIT":
                        self.say("221 bye")
                        return
                    self.say("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HeldWebhook(Webhook):
    """A webhook that keeps every POST waiting until ``release()``."""

    def __init__(self) -> None:
        self.held = threading.Event()
        super().__init__()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        self.held.wait(ARRIVAL_SECONDS)
        super().answer(request)

    def release(self) -> None:
        self.held.set()


def arrived(received: list, count: int = 1) -> list:
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def channels(settings, smtp):
    """Mail to the SMTP server and a webhook holding each POST; the broker down."""
    from config.celery import app

    hook = HeldWebhook()
    settings.NOTIFY_EMAILS = ["finance-ops@example.com"]
    settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = hook.url, SECRET
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp.port, "timeout": 5},
        }
    }
    settings.SITE_URL = "https://invoices.example.com"
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=DEAD_BROKER, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield hook
    hook.release()
    hook.close()
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None


def notice_threads_join() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("notice-"):
            thread.join(ARRIVAL_SECONDS)


def test_an_upload_the_broker_refused_is_answered_at_once_and_told_by_mail_and_webhook(
    admin_client, channels, smtp, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("a.csv", invoices_csv(ROW).encode(), content_type="text/csv")

    response = admin_client.post(UPLOAD, {"files": [upload]}, follow=True)

    # Answered while the webhook still holds the notice: the request did not wait for it.
    assert response.status_code == 200 and channels.received == []
    assert any(QUEUE_FAILED in str(m) for m in response.context["messages"])
    batch = LoadBatch.objects.get()
    assert batch.status == "failed" and batch.error.startswith(QUEUE_FAILED)
    channels.release()
    [(headers, body)] = arrived(channels.received)
    notice = json.loads(body)
    assert notice["event"] == BATCH_FAILED and notice["batch"]["id"] == batch.pk
    assert notice["batch"]["error"] == batch.error
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={signature}"
    [(to, message)] = arrived(smtp.messages)
    assert to == ["finance-ops@example.com"]
    assert message["Subject"] == f"[invoices] batch #{batch.pk} failed: a.csv"
    text = message.get_payload(decode=True).decode()
    assert f"error: {batch.error}" in text
    assert f"https://invoices.example.com/admin/warehouse/loadbatch/{batch.pk}/change/" in text
    notice_threads_join()


def test_notices_nobody_receives_leave_the_answer_and_the_batch_as_they_were(
    admin_client, channels, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"
    settings.MAILERS["default"]["OPTIONS"]["port"] = free_port()
    upload = SimpleUploadedFile("a.csv", invoices_csv(ROW).encode(), content_type="text/csv")

    response = admin_client.post(UPLOAD, {"files": [upload]}, follow=True)

    assert response.status_code == 200
    notice_threads_join()  # every attempt made and failed
    batch = LoadBatch.objects.get()
    assert batch.status == "failed" and batch.error.startswith(QUEUE_FAILED)
    assert Path(batch.file_path).is_file()  # kept for a re-run


@pytest.mark.process
def test_load_invoices_with_the_broker_down_exits_1_in_one_line_and_the_notices_go_out(smtp, tmp_path):
    hook = Webhook()
    path = write_invoices(tmp_path, ROW, name="in/a.csv")
    env = command_env(
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=DEAD_BROKER,
        NOTIFY_EMAILS="finance-ops@example.com",
        NOTIFY_WEBHOOK_URL=hook.url,
        NOTIFY_WEBHOOK_SECRET=SECRET,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    try:
        result = manage("load_invoices", str(path), env=env)
    finally:
        hook.close()

    assert result.returncode == 1 and "Traceback" not in result.stderr
    batch = LoadBatch.objects.get()
    assert batch.error.startswith(QUEUE_FAILED) and batch.error in result.stderr
    # The command ended after its notices went out, not before.
    [(_, body)] = hook.received
    assert json.loads(body)["batch"]["id"] == batch.pk
    [(_, message)] = smtp.messages
    assert message["Subject"] == f"[invoices] batch #{batch.pk} failed: a.csv"
