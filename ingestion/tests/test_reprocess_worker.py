"""Re-processing through a real broker (Redis) and a real worker: the request only queues.

Needs MariaDB/MySQL and Redis, like ``test_worker`` (skipped otherwise).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from ingestion.tests.files import ingest, write_invoices
from ingestion.tests.test_worker import finished, wait_for
from warehouse.models import Customer, Invoice, LoadBatch, RejectedInvoice
from warehouse.tests.checks import assert_aggregates_match_facts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = (
    "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid",
    "INV-2,2024-01-06,C-999,New Co,Server Setup,2,10.00,20.00,Paid",
    "INV-3,2024-13-06,C-100,Acme,Server Setup,2,10.00,20.00,Paid",
)


@pytest.fixture
def fixable(tmp_path) -> LoadBatch:
    batch = ingest(write_invoices(tmp_path, *ROWS, name="fixable.csv"))
    assert batch.status == "succeeded", batch.error
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    return batch


def test_the_api_answers_202_at_once_and_the_worker_reprocesses(admin_client, fixable, workers, broker):
    workers(0)  # no worker yet: the message waits on Redis
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    answer = admin_client.post(
        reverse("api:rejected_reprocess"), {"ids": ids}, content_type="application/json"
    )

    assert answer.status_code == 202, answer.content
    [queued] = answer.json()["batches"]
    assert (queued["status"], queued["rows_total"], queued["file_name"]) == (
        "queued",
        3,
        "reprocess of 3 rows",
    )
    assert answer.headers["Location"] == reverse("api:batch_detail", args=[queued["id"]])
    assert broker.llen("celery") == 1 and not Invoice.objects.filter(invoice_id="INV-1").exists()
    workers()
    batch = LoadBatch.objects.get(pk=queued["id"])
    wait_for(batch, finished, every=0.1)
    assert (batch.status, batch.rows_read, batch.rows_loaded, batch.rows_rejected) == ("succeeded", 3, 2, 1)
    assert set(Invoice.objects.values_list("invoice_id", flat=True)) == {"INV-1", "INV-2"}
    assert RejectedInvoice.objects.filter(resolution__batch=batch).count() == 2
    assert_aggregates_match_facts()


def test_the_admin_action_answers_at_once_with_the_batch_to_follow(admin_client, fixable, workers, broker):
    workers(0)
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    response = admin_client.post(
        reverse("admin:warehouse_rejectedinvoice_changelist"),
        {"action": "reprocess_rows", "_selected_action": ids},
        follow=True,
    )

    batch = LoadBatch.objects.get(file_name="reprocess of 3 rows")
    page = response.content.decode()
    assert batch.status == "queued"  # not run inside the request
    assert reverse("admin:warehouse_loadbatch_change", args=[batch.pk]) in page
    assert "Re-processing 3 rows in" in page
    workers()
    wait_for(batch, finished, every=0.1)
    assert (batch.status, batch.rows_loaded) == ("succeeded", 2)


def test_a_worker_killed_mid_reprocessing_converges_to_one_reprocessing(tmp_path, workers, broker):
    """The only worker SIGKILLed while it streams a re-processing's chunks (three connections
    open, a transaction with chunks and their outcome in it): nothing of the batch is left,
    and a new worker, once the lease expired, re-processes the rows as one run would."""
    from django.utils import timezone

    from ingestion.pipeline.generate import invoice_file_generate
    from ingestion.rejected.reprocess import reprocess_batches_create
    from ingestion.tests.test_worker import ROWS as FILE_ROWS
    from warehouse.models import RejectedResolution
    from warehouse.tests.checks import warehouse_clear, warehouse_snapshot

    path = invoice_file_generate(path=tmp_path / "fix.csv", rows=FILE_ROWS, seed=41)
    text = path.read_text()
    for n in range(1, 5):  # four customers' rows name ids the warehouse lacks
        text = text.replace(f",C-10{n},", f",C-12{n},")
    path.write_text(text)
    load = ingest(path)
    unknown = RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER")
    assert unknown.count() > 4_000  # many chunks of the workers' size
    for n in range(1, 5):
        Customer.objects.create(customer_id=f"C-12{n}", customer_name=f"New {n}")
    before = Invoice.objects.count()
    (only,) = workers(1)

    [batch] = reprocess_batches_create(rejected_ids=list(unknown.values_list("pk", flat=True)))
    wait_for(batch, lambda b: b.status == "running" and b.rows_done >= 2_000, every=0.02)
    only.kill()  # SIGKILL: no ack, no cleanup, an open transaction

    batch.refresh_from_db()
    assert batch.status == LoadBatch.Status.RUNNING
    assert Invoice.objects.count() == before  # nothing of the batch was committed
    assert not RejectedResolution.objects.exists()
    wait_for(batch, lambda b: b.lease_expires_at < timezone.now(), every=0.2, timeout=30)
    workers(1)
    wait_for(batch, finished, every=0.2)
    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert RejectedResolution.objects.filter(batch=batch).count() == batch.rows_loaded > 4_000
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()

    warehouse_clear()
    clean = ingest(path)  # the customers known from the start
    assert clean.status == "succeeded" and clean.pk != load.pk
    assert warehouse_snapshot() == snapshot
