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
