"""The load through a real broker (Redis) and real worker processes.

The module's tests share one fleet of workers (``ingestion.tests.workers``): a test asks for the
count and settings it needs and the fleet starts only what is missing. Needs MariaDB/MySQL
(``DATABASE_URL=mysql://...``): a worker is another process and must see the test's database,
which in-memory SQLite cannot offer. Skipped otherwise, and skipped when Redis is not reachable
at ``TEST_CELERY_BROKER_URL`` (default: redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ingestion.batches.dispatch import batch_cancel, batch_enqueue
from ingestion.batches.services import batch_create
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.tests.files import ingest
from ingestion.tests.workers import CHUNK, ROOT, process_env
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

ROWS = 15 * CHUNK  # a run long enough to be watched, killed or cancelled mid-way (the workers' chunks)
LONG_ROWS = 60 * CHUNK  # a run that outlasts the 1 s visibility timeout several times over
# The sweeper's test: the default visibility timeout (the message never comes back by itself).
SWEEP = {
    "CELERY_VISIBILITY_TIMEOUT": str(3 * 3600 + 600 + 3600),
    "BATCH_LEASE_SECONDS": "4",
    "BATCH_SWEEP_SECONDS": "2",
}

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def enqueue(path: Path, **kwargs) -> LoadBatch:
    with transaction.atomic():
        batch = batch_create(path=path, **kwargs)
        batch_enqueue(batch=batch)  # published only after the commit
    return batch


def wait_for(batch: LoadBatch, predicate, *, timeout: float = 180, every: float = 0.05) -> list[tuple]:
    """Poll the batch row until ``predicate(batch)``; return what was seen on the way."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        seen.append((batch.status, batch.stage, batch.rows_done, batch.rows_total))
        if predicate(batch):
            return seen
        time.sleep(every)
    raise AssertionError(f"batch #{batch.pk} never got there; last seen {seen[-1:]}")


def finished(batch: LoadBatch) -> bool:
    return batch.status in LoadBatch.FINISHED


def warehouse_state() -> tuple:
    facts = sorted(
        Invoice.objects.values_list(
            "invoice_id", "issue_date", "customer_id", "item_id", "status_id", "qty", "unit_price", "total"
        )
    )
    rejected = sorted(RejectedInvoice.objects.values_list("source_row", "invoice_id", "reason", "detail"))
    return facts, rejected


# --- the load through the module's fleet (two workers, the default test settings) ------------


def test_an_admin_upload_is_enqueued_on_redis_and_loaded_by_the_worker(
    admin_client, admin_user, seed_file, settings, tmp_path, workers, broker
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    workers(0)  # no worker yet: the message waits on Redis
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("seed.csv", seed_file.read_bytes(), content_type="text/csv")

    response = admin_client.post(reverse("admin:warehouse_loadbatch_upload"), {"files": upload})

    batch = LoadBatch.objects.get()
    assert response.status_code == 302
    assert batch.status == LoadBatch.Status.QUEUED  # not loaded inside the request
    assert broker.llen("celery") == 1
    workers()
    wait_for(batch, finished, every=0.2)
    assert (batch.status, batch.source, batch.created_by) == ("succeeded", "admin", admin_user)
    assert (batch.rows_loaded, batch.rows_rejected) == (9_011, 989)


def test_enqueued_batch_is_loaded_by_the_worker(seed_file, workers, broker):
    workers()
    batch = enqueue(seed_file)
    assert batch.task_id

    wait_for(batch, finished, every=0.2)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (10_000, 9_011, 989)
    assert (batch.rows_done, batch.rows_total, batch.stage) == (10_000, 10_000, "done")
    assert Invoice.objects.count() == 9_011
    assert RejectedInvoice.objects.filter(batch=batch).count() == 989
    deadline = time.monotonic() + 30  # the ack follows the batch row's last write
    while (broker.llen("celery") or broker.hlen("unacked")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.llen("celery") == 0 and not broker.hlen("unacked")  # acked


def test_load_invoices_with_a_broker_enqueues_and_waits_for_the_worker(seed_file, workers):
    workers()
    env = process_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "load_invoices", "--json", str(seed_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["status"], summary["rows_loaded"], summary["rows_rejected"]) == ("succeeded", 9_011, 989)
    batch = LoadBatch.objects.get(pk=summary["batch_id"])
    assert batch.task_id and batch.source == LoadBatch.Source.CLI
    assert Invoice.objects.count() == 9_011


def test_progress_is_visible_on_the_batch_row_while_the_worker_loads(tmp_path, workers):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=7)
    workers()
    batch = enqueue(path)

    seen = wait_for(batch, finished, every=0.02)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert batch.rows_read == ROWS
    mid_run = [s for s in seen if s[0] == "running" and s[3] and 0 < s[2] < s[3]]
    assert mid_run, f"no progress seen mid-run: {seen[:3]} ... {seen[-3:]}"
    done = [s[2] for s in seen if s[0] == "running"]
    assert done == sorted(done)  # rows done only grows


def test_cancelling_a_running_batch_through_the_worker_leaves_no_facts(tmp_path, workers):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=5)
    workers()
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 2 * CHUNK, every=0.02)

    batch_cancel(batch=batch)

    wait_for(batch, lambda b: b.stage == "cancelled", every=0.2, timeout=60)
    assert batch.status == LoadBatch.Status.CANCELLED
    assert batch.rows_loaded == 0
    assert Invoice.objects.count() == 0
    assert not RejectedInvoice.objects.filter(batch=batch).exists()


def test_worker_killed_mid_load_converges_to_the_clean_run(tmp_path, workers):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=11)
    (only,) = workers(1)
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 5 * CHUNK, every=0.02)

    only.kill()  # SIGKILL: no ack, no cleanup, an open transaction

    batch.refresh_from_db()
    assert batch.status == LoadBatch.Status.RUNNING
    assert Invoice.objects.count() == 0  # nothing of the batch was committed
    # A new worker once the killed run's lease expired (a message delivered before that is a
    # duplicate, left alone); the message comes back to it after the visibility timeout.
    wait_for(batch, lambda b: b.lease_expires_at < timezone.now(), every=0.2, timeout=30)
    workers(1)
    wait_for(batch, finished, every=0.2)
    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    recovered = warehouse_state()
    counts = (
        batch.rows_read,
        batch.rows_loaded,
        batch.rows_rejected,
        batch.rows_inserted,
        batch.reason_counts,
    )

    for model in (Invoice, RejectedInvoice, StagingInvoice, LoadBatch):
        model.objects.all().delete()
    clean = ingest(path)

    assert clean.status == LoadBatch.Status.SUCCEEDED
    assert counts == (
        clean.rows_read,
        clean.rows_loaded,
        clean.rows_rejected,
        clean.rows_inserted,
        clean.reason_counts,
    )
    assert recovered == warehouse_state()


# --- faults with workers of their own settings: the same batch twice, a lost worker, a killed
# connection, no worker at all ------------------------------------------------------------------


@pytest.mark.slow
def test_the_same_batch_delivered_twice_runs_once(tmp_path, workers):
    """Redis hands the message to a second worker while the first still runs it."""
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=LONG_ROWS, seed=21)
    first, second = workers(2, CELERY_VISIBILITY_TIMEOUT="1", BATCH_LEASE_SECONDS="30")
    batch = enqueue(path)

    wait_for(batch, finished, every=0.2)
    time.sleep(1)

    assert batch.status == "succeeded", batch.error
    received = sum(
        w.log_path.read_text(errors="replace").count(f"[{batch.task_id}] received") for w in (first, second)
    )
    assert received >= 2, "the message was delivered once only: the test proved nothing"
    assert [a["status"] for a in batch.attempts] == ["succeeded"]
    counts = tuple(getattr(batch, f) for f in LoadBatch.COUNT_FIELDS)
    snapshot = warehouse_snapshot()
    warehouse_clear()
    clean = ingest(path)
    assert counts == tuple(getattr(clean, f) for f in LoadBatch.COUNT_FIELDS)
    assert warehouse_snapshot() == snapshot
    assert_aggregates_match_facts()


@pytest.mark.parametrize("target", ["stager", "merger", "all"])
def test_a_killed_connection_in_the_worker_is_retried_and_converges(tmp_path, workers, target):
    from ingestion.tests.test_concurrency import _killer

    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=23)
    workers(1, BATCH_LEASE_SECONDS="30")
    batch = enqueue(path)
    with connection.cursor() as cursor:  # this test's own connection is not the load's
        cursor.execute("SELECT CONNECTION_ID()")
        mine = {cursor.fetchone()[0]}
    killer, killed = _killer(batch.pk, target, after_rows=5 * CHUNK, spare=mine)

    wait_for(batch, finished, every=0.2, timeout=240)
    killer.join()

    assert killed
    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["queued", "succeeded"]
    snapshot = warehouse_snapshot()
    warehouse_clear()
    ingest(path)
    assert warehouse_snapshot() == snapshot


@pytest.mark.slow
def test_the_sweeper_queues_again_the_batch_of_a_killed_worker(tmp_path, workers):
    """The only worker SIGKILLed, default visibility timeout: beat's sweeper recovers the batch."""
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=22)
    (only,) = workers(1, **SWEEP)
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 5 * CHUNK, every=0.02)

    only.kill()
    killed_at = time.monotonic()
    workers(1, beat=True, **SWEEP)
    wait_for(batch, finished, every=0.2, timeout=120)
    print(f"recovered {time.monotonic() - killed_at:.1f} s after the kill")

    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["worker lost", "succeeded"]
    assert batch.attempts[0]["error"].startswith("worker lost: no heartbeat since")
    snapshot = warehouse_snapshot()
    warehouse_clear()
    ingest(path)
    assert warehouse_snapshot() == snapshot


def test_load_invoices_says_when_no_worker_picks_up_or_the_worker_went_silent(tmp_path, workers):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=24)
    workers(0)
    env = process_env(BATCH_LEASE_SECONDS="2")
    command = subprocess.Popen(
        [sys.executable, "manage.py", "load_invoices", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    stderr = command.stderr
    assert stderr is not None  # a pipe
    reader = threading.Thread(target=lambda: said.extend(iter(stderr.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("still queued" in line for line in said) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("is a worker running" in line for line in said), said
        (worker,) = workers(1, BATCH_LEASE_SECONDS="2")
        batch = LoadBatch.objects.get()
        wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 3 * CHUNK, every=0.02)
        worker.kill()
        deadline = time.monotonic() + 60
        while (
            not any("no heartbeat from its worker" in line for line in said) and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert any("no heartbeat from its worker" in line for line in said), said
    finally:
        command.kill()
        command.wait()
        reader.join()


# --- the beat task (eager here: it only creates and enqueues batches) ------------------------


def test_scan_input_dir_loads_new_files_once(settings, tmp_path, seed_file):
    from ingestion.tasks import scan_input_dir

    settings.INPUT_DIR = tmp_path
    (tmp_path / "a.csv").write_bytes(seed_file.read_bytes())
    (tmp_path / "notes.md").write_text("not an input file")

    first = scan_input_dir.delay().get()
    (tmp_path / "copy-of-a.csv").write_bytes(seed_file.read_bytes())  # same content, new name
    second = scan_input_dir.delay().get()

    assert len(first) == 1 and second == []
    batch = LoadBatch.objects.get()
    assert (batch.source, batch.status, batch.rows_loaded) == ("scheduled", "succeeded", 9_011)


def test_scan_input_dir_does_not_retry_a_bad_file_forever(settings, tmp_path):
    from ingestion.tasks import scan_input_dir

    settings.INPUT_DIR = tmp_path
    (tmp_path / "bad.csv").write_text("just,a,header\n")

    scan_input_dir.delay()
    scan_input_dir.delay()

    assert list(LoadBatch.objects.values_list("status", flat=True)) == ["failed"]
