"""The worker's log lines and its notices, with a real worker on Redis (``ingestion.tests.workers``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.db import transaction

from ingestion.batches.dispatch import batch_enqueue
from ingestion.batches.notify import BATCH_REJECTIONS, SIGNATURE_HEADER
from ingestion.batches.services import batch_create
from ingestion.tests.test_notify import SECRET, Webhook
from ingestion.tests.test_worker import finished, wait_for
from warehouse.models import LoadBatch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.slow,
]


def enqueue(path) -> LoadBatch:
    with transaction.atomic():
        batch = batch_create(path=path)
        batch_enqueue(batch=batch)
    return batch


def test_the_workers_lines_are_json_and_a_loads_lines_name_its_batch_and_file(workers, seed_file):
    [worker] = workers(1)
    batch = enqueue(seed_file)

    wait_for(batch, finished, every=0.2)
    worker.stop()

    assert batch.status == "succeeded"
    text = worker.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line["name"] == "celery.apps.worker" and "ready" in line["message"] for line in lines), text
    assert any(f"[{batch.task_id}] received" in line["message"] for line in lines)
    [done] = [
        line
        for line in lines
        if line["name"] == "ingestion.batches.services" and line["message"].startswith(f"batch {batch.pk} ")
    ]
    assert (done["batch_id"], done["file"]) == (batch.pk, "seed_input.csv")
    assert done["message"].startswith(f"batch {batch.pk} succeeded")


def test_a_webhook_that_fails_first_gets_the_notice_on_a_retry_and_the_batch_stays_as_it_ended(
    workers,
    seed_file,
):
    webhook = Webhook(first=(500,))
    try:
        workers(1, NOTIFY_WEBHOOK_URL=webhook.url, NOTIFY_WEBHOOK_SECRET=SECRET, NOTIFY_REJECTED_PERCENT="5")
        batch = enqueue(seed_file)
        wait_for(batch, finished, every=0.2)
        deadline = time.monotonic() + 120
        while len(webhook.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        webhook.close()

    assert len(webhook.received) == 2  # 500, then (after a backoff) delivered
    for headers, body in webhook.received:
        assert (
            headers[SIGNATURE_HEADER]
            == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
        assert json.loads(body)["event"] == BATCH_REJECTIONS
    batch.refresh_from_db()
    assert (batch.status, batch.rows_loaded) == ("succeeded", 9_011)
