"""A broker that cannot be reached is an answer within seconds, never a 500 or a stuck batch."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from config.celery import app
from ingestion.batches.dispatch import QUEUE_FAILED, REVOKE_FAILED, batch_queue_failed
from ingestion.batches.services import batch_create
from ingestion.tasks import scan_input_dir
from ingestion.tests.files import ingest, invoices_csv, write_invoices
from warehouse.models import LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

DEAD_BROKER = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
ANSWER_SECONDS = 5
ROW = "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid"


@pytest.fixture(autouse=True)
def broker_down(settings, tmp_path):
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=DEAD_BROKER, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None


@pytest.fixture
def invoices(tmp_path) -> Path:
    return write_invoices(tmp_path, ROW, name="in/a.csv")


class Clock:
    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
        print(f"answered in {self.seconds:.2f} s")
        assert self.seconds < ANSWER_SECONDS


def no_batch_left_queued():
    assert not LoadBatch.objects.filter(status__in=("queued", "running")).exists()


def test_load_invoices_exits_1_with_the_message_and_a_hint(invoices):
    with Clock(), pytest.raises(CommandError) as raised:
        call_command("load_invoices", str(invoices), stdout=StringIO())

    assert raised.value.returncode == 1
    message = str(raised.value)
    assert "could not queue: broker unreachable" in message and "--in-process" in message
    batch = LoadBatch.objects.get()
    assert batch_queue_failed(batch) and batch.error.startswith(QUEUE_FAILED)
    no_batch_left_queued()


def test_load_invoices_in_process_loads_despite_the_broker(invoices):
    call_command("load_invoices", str(invoices), "--in-process", stdout=StringIO())
    assert LoadBatch.objects.get().status == "succeeded"


def test_an_admin_upload_shows_the_message_and_keeps_the_file(admin_client, settings):
    upload = SimpleUploadedFile("a.csv", invoices_csv(ROW).encode(), content_type="text/csv")

    with Clock():
        response = admin_client.post(
            reverse("admin:warehouse_loadbatch_upload"), {"files": [upload]}, follow=True
        )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("could not queue: broker unreachable" in m for m in shown), shown
    batch = LoadBatch.objects.get()
    assert batch.status == "failed" and Path(batch.file_path).is_file()  # kept for a re-run
    no_batch_left_queued()


def test_rerun_answers_with_a_failed_batch_not_a_500(admin_client, invoices):
    old = batch_create(path=invoices)
    LoadBatch.objects.filter(pk=old.pk).update(status="succeeded")

    with Clock():
        response = admin_client.post(reverse("admin:warehouse_loadbatch_rerun", args=[old.pk]), follow=True)

    assert response.status_code == 200
    assert any("could not queue" in str(m) for m in response.context["messages"])
    assert LoadBatch.objects.exclude(pk=old.pk).get().status == "failed"
    no_batch_left_queued()


def test_cancel_still_cancels_and_says_the_workers_were_not_told(admin_client, invoices):
    batch = batch_create(path=invoices)
    LoadBatch.objects.filter(pk=batch.pk).update(task_id="some-task")

    with Clock():
        response = admin_client.post(
            reverse("admin:warehouse_loadbatch_cancel", args=[batch.pk]), follow=True
        )

    assert response.status_code == 200
    assert any(REVOKE_FAILED in str(m) for m in response.context["messages"])
    assert LoadBatch.objects.get().status == "cancelled"


def test_the_scan_fails_its_batches_and_tries_them_again_next_time(settings, invoices):
    settings.INPUT_DIR = invoices.parent

    with Clock():
        first = scan_input_dir()

    assert len(first) == 1 and batch_queue_failed(LoadBatch.objects.get(pk=first[0]))
    no_batch_left_queued()
    second = scan_input_dir()  # the broker is still down: a new attempt, failed again
    assert len(second) == 1 and second != first
    app.conf.update(task_always_eager=True)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    third = scan_input_dir()  # the broker is back: the file loads
    assert LoadBatch.objects.get(pk=third[0]).status == "succeeded"
    assert scan_input_dir() == []


def test_the_load_itself_never_needs_the_broker(invoices):
    batch = ingest(invoices)
    assert batch.status == "succeeded"
