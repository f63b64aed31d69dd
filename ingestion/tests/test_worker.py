"""The load through a real broker (Redis) and a real worker process started by the test.

Needs MariaDB/MySQL (``DATABASE_URL=mysql://...``): the worker is another process and must
see the test's database, which in-memory SQLite cannot offer. Skipped otherwise, and
skipped when Redis is not reachable on 127.0.0.1:6379.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from config.celery import app
from ingestion.dispatch import batch_cancel, batch_enqueue
from ingestion.generate import invoice_file_generate
from ingestion.services import batch_create
from ingestion.tests.files import ingest
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
BIG_ROWS = 150_000

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def broker(settings):
    """Point the Celery app at Redis db 15 (not eager) for this test, and back afterwards."""
    if connection.vendor != "mysql":
        pytest.skip("the worker process needs a shared database: run with DATABASE_URL=mysql://...")
    if not _redis_reachable():
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False, result_backend=BROKER_URL)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield client
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    for key in client.scan_iter("celery-task-meta-*"):
        client.delete(key)


def process_env(**settings: str) -> dict:
    """The environment of a process (worker, command) on this test's database and broker."""
    db = connection.settings_dict
    url = (
        f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
        if connection.vendor == "mysql"
        else f"sqlite:///{db['NAME']}"  # the test run's SQLite file (never in memory)
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER_URL,
        **settings,
    }


class Worker:
    """``celery -A config worker --pool=solo`` (or ``pool``, ``-c concurrency``) on the test
    database; killed by its own pid. ``env`` replaces the test database's environment."""

    def __init__(
        self,
        log: Path,
        *,
        beat: Path | None = None,
        pool: str = "solo",
        concurrency: int = 1,
        env: dict | None = None,
        **settings: str,
    ):
        defaults = {
            "CELERY_VISIBILITY_TIMEOUT": "5",  # a killed worker's message comes back quickly
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "BATCH_LEASE_SECONDS": "3",  # a killed run's lease expires before its message is back
            "INPUT_SCAN_MINUTES": "0",
            "LOG_LEVEL": "INFO",
        }
        env = {**(env or process_env()), **defaults, **settings}
        celery = Path(sys.executable).with_name("celery")
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 (open for the worker's lifetime, closed in stop())
        beat_args = ["-B", "--schedule", str(beat)] if beat else []
        self.proc = subprocess.Popen(
            [
                str(celery),
                "-A",
                "config",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *beat_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def worker_factory(broker, tmp_path):
    started: list[Worker] = []

    def start(**settings) -> Worker:
        started.append(Worker(tmp_path / f"worker-{len(started)}.log", **settings))
        return started[-1]

    yield start
    for w in started:
        w.stop()


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


def test_enqueued_batch_is_loaded_by_the_worker(seed_file, worker_factory, broker):
    worker_factory()
    batch = enqueue(seed_file)
    assert batch.task_id

    wait_for(batch, finished, every=0.2)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (10_000, 9_011, 989)
    assert (batch.rows_done, batch.rows_total, batch.stage) == (10_000, 10_000, "done")
    assert Invoice.objects.count() == 9_011
    assert RejectedInvoice.objects.filter(batch=batch).count() == 989
    assert broker.llen("celery") == 0 and not broker.hlen("unacked")  # acked


def test_progress_is_visible_on_the_batch_row_while_the_worker_loads(tmp_path, worker_factory):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=7)
    worker_factory()
    batch = enqueue(path)

    seen = wait_for(batch, finished, every=0.02)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert batch.rows_read == BIG_ROWS
    mid_run = [s for s in seen if s[0] == "running" and s[3] and 0 < s[2] < s[3]]
    assert mid_run, f"no progress seen mid-run: {seen[:3]} ... {seen[-3:]}"
    done = [s[2] for s in seen if s[0] == "running"]
    assert done == sorted(done)  # rows done only grows


def test_worker_killed_mid_load_converges_to_the_clean_run(tmp_path, worker_factory, broker):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=11)
    first = worker_factory()
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 5 * 4_000, every=0.02)

    first.kill()  # SIGKILL: no ack, no cleanup, an open transaction

    batch.refresh_from_db()
    assert batch.status == LoadBatch.Status.RUNNING
    assert Invoice.objects.count() == 0  # nothing of the batch was committed
    worker_factory()  # the message comes back after the visibility timeout
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


def test_cancelling_a_running_batch_through_the_worker_leaves_no_facts(tmp_path, worker_factory):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=5)
    worker_factory()
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 2 * 4_000, every=0.02)

    batch_cancel(batch=batch)

    wait_for(batch, lambda b: b.stage == "cancelled", every=0.2, timeout=60)
    assert batch.status == LoadBatch.Status.CANCELLED
    assert batch.rows_loaded == 0
    assert Invoice.objects.count() == 0
    assert not RejectedInvoice.objects.filter(batch=batch).exists()


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


def test_an_admin_upload_is_enqueued_on_redis_and_loaded_by_the_worker(
    admin_client, admin_user, seed_file, settings, tmp_path, worker_factory, broker
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("seed.csv", seed_file.read_bytes(), content_type="text/csv")

    response = admin_client.post(reverse("admin:warehouse_loadbatch_upload"), {"files": upload})

    batch = LoadBatch.objects.get()
    assert response.status_code == 302
    assert batch.status == LoadBatch.Status.QUEUED  # not loaded inside the request
    assert broker.llen("celery") == 1
    worker_factory()
    wait_for(batch, finished, every=0.2)
    assert (batch.status, batch.source, batch.created_by) == ("succeeded", "admin", admin_user)
    assert (batch.rows_loaded, batch.rows_rejected) == (9_011, 989)


def test_load_invoices_with_a_broker_enqueues_and_waits_for_the_worker(seed_file, worker_factory):
    worker_factory()
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


# --- faults with real workers: the same batch twice, a lost worker, a killed connection ------


def test_the_same_batch_delivered_twice_runs_once(tmp_path, worker_factory, broker):
    """Redis hands the message to a second worker while the first still runs it."""
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=21)
    short = {"CELERY_VISIBILITY_TIMEOUT": "2", "BATCH_LEASE_SECONDS": "30"}
    first, second = worker_factory(**short), worker_factory(**short)
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


def test_the_sweeper_queues_again_the_batch_of_a_killed_worker(tmp_path, worker_factory, broker):
    """The only worker SIGKILLed, default visibility timeout: beat's sweeper recovers the batch."""
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=22)
    defaults = {
        "CELERY_VISIBILITY_TIMEOUT": str(3 * 3600 + 600 + 3600),  # the default
        "BATCH_LEASE_SECONDS": "4",
        "BATCH_SWEEP_SECONDS": "2",
    }
    only = worker_factory(**defaults)
    batch = enqueue(path)
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 5 * 4_000, every=0.02)

    only.kill()
    killed_at = time.monotonic()
    worker_factory(beat=tmp_path / "beat-schedule", **defaults)
    wait_for(batch, finished, every=0.2, timeout=120)
    print(f"recovered {time.monotonic() - killed_at:.1f} s after the kill")

    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["worker lost", "succeeded"]
    assert batch.attempts[0]["error"].startswith("worker lost: no heartbeat since")
    snapshot = warehouse_snapshot()
    warehouse_clear()
    ingest(path)
    assert warehouse_snapshot() == snapshot


@pytest.mark.parametrize("target", ["stager", "merger", "all"])
def test_a_killed_connection_in_the_worker_is_retried_and_converges(tmp_path, worker_factory, broker, target):
    from ingestion.tests.test_concurrency import _killer

    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=23)
    worker_factory(BATCH_LEASE_SECONDS="30")
    batch = enqueue(path)
    with connection.cursor() as cursor:  # this test's own connection is not the load's
        cursor.execute("SELECT CONNECTION_ID()")
        mine = {cursor.fetchone()[0]}
    killer, killed = _killer(batch.pk, target, after_rows=5 * 4_000, spare=mine)

    wait_for(batch, finished, every=0.2, timeout=240)
    killer.join()

    assert killed
    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["queued", "succeeded"]
    snapshot = warehouse_snapshot()
    warehouse_clear()
    ingest(path)
    assert warehouse_snapshot() == snapshot


def test_load_invoices_says_when_no_worker_picks_up_or_the_worker_went_silent(tmp_path, worker_factory):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=BIG_ROWS, seed=24)
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
    reader = threading.Thread(target=lambda: said.extend(iter(command.stderr.readline, "")))
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("still queued" in line for line in said) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("is a worker running" in line for line in said), said
        worker = worker_factory(BATCH_LEASE_SECONDS="2")
        batch = LoadBatch.objects.get()
        wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 3 * 4_000, every=0.02)
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
