"""Broker faults under real workers: a Redis restarted (no persistence) or its connections
killed, around a prefork worker started as the image starts it (``docker/entrypoint.sh
worker``, ``-c 2`` as compose runs it) and a worker with beat.

Each test starts its own ``redis-server`` on a free port (``servers.RedisServer``) that it
stops and starts again; the worker shares the test database, so these run on MariaDB/MySQL
and are skipped on SQLite.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.tests.files import ingest
from ingestion.tests.servers import RedisServer
from ingestion.tests.test_api import STEWARD, upload
from ingestion.tests.test_worker import enqueue, finished, wait_for
from ingestion.tests.workers import CHUNK, ROOT, Worker, process_env
from warehouse.models import LoadBatch
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.process,
]
ROWS = 15 * CHUNK  # long enough (15 chunks) to fault mid-load, short enough to stay quick


@pytest.fixture
def redis_server(settings, tmp_path):
    """A private Redis the test may restart; the Celery app sends to it (not eager)."""
    if connection.vendor != "mysql":
        pytest.skip("the worker process needs a shared database: run with DATABASE_URL=mysql://...")
    server = RedisServer(tmp_path / "redis")
    server.start()
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=server.url, task_always_eager=False, result_backend=server.url)
    app._pool, app.amqp._producer_pool = None, None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield server
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None
    server.stop()


@pytest.fixture
def workers(redis_server, tmp_path):
    """``workers(**options)``: a worker on the private Redis (see ``test_worker.Worker``)."""
    started: list[Worker] = []

    def start(**options) -> Worker:
        env = process_env(CELERY_BROKER_URL=redis_server.url)
        started.append(Worker(tmp_path / f"worker-{len(started)}.log", env=env, **options))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def converged_to_a_clean_run(*batches: LoadBatch) -> None:
    """The batches' counts and the warehouse equal clean in-process loads of their files."""
    counts = [tuple(getattr(b, f) for f in LoadBatch.COUNT_FIELDS) for b in batches]
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    clean = [ingest(Path(b.file_path)) for b in batches]
    assert counts == [tuple(getattr(c, f) for f in LoadBatch.COUNT_FIELDS) for c in clean]
    assert warehouse_snapshot() == snapshot


def no_traceback(worker: Worker) -> str:
    """The worker's log, which names no crash and holds no traceback (reconnecting logs none)."""
    log = worker.log_path.read_text(errors="replace")
    assert "Unrecoverable error" not in log, log[-3000:]
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:3000]
    return log


# --- a restarted broker loses its queued messages: nothing queued is lost ---------------------

# The queue's key (under the key prefix of this test process, config.test_settings).
QUEUE = app.conf.broker_transport_options.get("global_keyprefix", "") + "celery"


@pytest.mark.slow
def test_a_batch_whose_message_a_redis_restart_lost_loads_after_a_sweep_exactly_once(
    seed_file, redis_server, workers, tmp_path
):
    batch = enqueue(seed_file)
    first_task = batch.task_id
    assert redis_server.client().llen(QUEUE) == 1
    redis_server.stop()
    redis_server.start()
    assert redis_server.client().llen(QUEUE) == 0  # no persistence: the message is gone

    started = time.monotonic()
    worker = workers(beat=tmp_path / "beat-schedule", BATCH_SWEEP_SECONDS="2")
    wait_for(batch, finished, every=0.2, timeout=120)
    print(f"loaded {time.monotonic() - started:.1f} s after the worker started (sweep period 2 s)")

    assert batch.status == "succeeded", batch.error
    assert batch.task_id != first_task  # sent again, under a new task id
    assert [a["status"] for a in batch.attempts] == ["succeeded"]  # loaded once
    log = no_traceback(worker)
    assert "claimed by no worker; sent again" in log
    converged_to_a_clean_run(batch)


@pytest.mark.slow
def test_load_invoices_sends_again_a_batch_nobody_claims_and_says_so(seed_file, redis_server, workers):
    env = process_env(CELERY_BROKER_URL=redis_server.url, BATCH_SWEEP_SECONDS="2")
    command = subprocess.Popen(
        [sys.executable, "manage.py", "load_invoices", "--json", str(seed_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    stderr, stdout = command.stderr, command.stdout
    assert stderr is not None and stdout is not None  # pipes
    reader = threading.Thread(target=lambda: said.extend(iter(stderr.readline, "")))
    reader.start()
    batch = None
    while batch is None:
        batch = LoadBatch.objects.first()
    wait_for(batch, lambda b: b.published_at is not None, every=0.1)
    redis_server.stop()
    redis_server.start()  # the queued message is gone

    deadline = time.monotonic() + 60
    while not any("sent again" in line for line in said) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers()
    stdout.read()
    command.wait(timeout=120)
    reader.join()

    assert command.returncode == 0, "".join(said)
    sent_again = [line for line in said if "sent again" in line]
    assert sent_again and sent_again[0].startswith(f"batch #{batch.pk}: still queued"), said
    assert not any("Traceback" in line for line in said), said
    batch.refresh_from_db()
    assert (batch.status, [a["status"] for a in batch.attempts]) == ("succeeded", ["succeeded"])


# --- a broker restarted or its connection dropped under a running load -------------------------


def _mid_load(batch: LoadBatch) -> None:
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 3 * CHUNK, every=0.02)


@pytest.mark.slow
def test_a_redis_restart_under_a_prefork_worker_leaves_the_load_and_the_worker_running(
    tmp_path, redis_server, workers
):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=31)
    worker = workers(concurrency=2, image=True)  # prefork, with the image's options
    batch = enqueue(path)
    _mid_load(batch)

    redis_server.stop()
    time.sleep(5)
    redis_server.start()
    wait_for(batch, finished, every=0.2, timeout=180)

    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["succeeded"]  # never terminated nor run twice
    after = enqueue(invoice_file_generate(path=tmp_path / "next.csv", rows=2_000, seed=32))
    wait_for(after, finished, every=0.2, timeout=120)  # the same worker still takes work
    assert after.status == "succeeded", after.error
    assert worker.proc.poll() is None, worker.log_path.read_text()[-3000:]
    no_traceback(worker)
    converged_to_a_clean_run(batch, after)


@pytest.mark.slow
def test_a_killed_broker_connection_under_a_prefork_worker_does_not_stop_the_load(
    tmp_path, redis_server, workers
):
    path = invoice_file_generate(path=tmp_path / "big.csv", rows=ROWS, seed=33)
    worker = workers(concurrency=2, image=True)
    batch = enqueue(path)
    _mid_load(batch)

    killed = redis_server.client().client_kill_filter(_type="normal", skipme=True)
    wait_for(batch, finished, every=0.2, timeout=180)

    assert killed
    assert batch.status == "succeeded", batch.error
    assert [a["status"] for a in batch.attempts] == ["succeeded"]  # not terminated, not re-run
    time.sleep(2)
    assert worker.proc.poll() is None, worker.log_path.read_text()[-3000:]
    log = no_traceback(worker)
    # The message came back to the other pool process, which found the live lease and left;
    # or, when the load ended before the worker had reconnected, found its end and left.
    assert log.count(f"[{batch.task_id}] received") == 2, log[-3000:]
    left = rf"batch {batch.pk} is (running|succeeded) \(lease .*\): nothing to do"
    assert re.search(left, log), log[-3000:]
    converged_to_a_clean_run(batch)


# --- the embedded beat never outlives its worker -----------------------------------------------


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir() if tasks.exists() else []:
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead


def test_the_beat_of_a_worker_started_with_b_ends_when_the_worker_is_killed(tmp_path, workers):
    worker = workers(beat=tmp_path / "beat-schedule")
    deadline = time.monotonic() + 60
    while not (beat := _children(worker.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(beat) == 1, beat  # the solo pool has no children: this one is beat
    while "beat: Starting" not in worker.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)

    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    deadline = time.monotonic() + 30
    while _alive(beat[0]) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert not _alive(beat[0]), "the beat process outlived its worker"


# --- one file uploaded twice at once, two worker processes -------------------------------------


@pytest.mark.slow
def test_two_api_uploads_of_one_file_loaded_by_two_worker_processes_end_loaded_and_skipped(
    tmp_path, redis_server, workers, staff_user, settings
):
    from django.test import Client

    from tokens.services import token_create

    settings.MEDIA_ROOT = tmp_path / "media"
    _, secret = token_create(user=staff_user("steward", *STEWARD), name="nightly export")
    api_client = Client(headers={"Authorization": f"Bearer {secret}"})
    path = invoice_file_generate(path=tmp_path / "twice.csv", rows=8_000, seed=34)
    first, second = upload(api_client, path), upload(api_client, path)
    assert (first.status_code, second.status_code) == (202, 202)
    batches = list(LoadBatch.objects.order_by("pk"))
    assert [b.status for b in batches] == ["queued", "queued"]

    worker = workers(pool="prefork", concurrency=2)
    for batch in batches:
        wait_for(batch, finished, every=0.2, timeout=180)

    loaded, skipped = sorted(batches, key=lambda b: b.status != "succeeded")
    assert (loaded.status, skipped.status) == ("succeeded", "skipped"), (loaded.error, skipped.error)
    assert skipped.note == f"identical to batch #{loaded.pk}, already loaded (use force to load again)"
    assert loaded.finished_at is not None and skipped.started_at is not None
    overlap = (loaded.finished_at - skipped.started_at).total_seconds()
    print(f"the second started {overlap:.1f} s before the first ended")
    no_traceback(worker)
    converged_to_a_clean_run(loaded)
