"""Batch history in the admin: list, detail with live progress, progress JSON, re-run, cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from ingestion.batches.dispatch import BATCH_CANCELLED_BY, RERUN_NOTE
from ingestion.batches.run_stops import BATCH_CANCELLED_ERROR
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Invoice, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,<script>alert(1)</script>,API Access,1,500,500,Paid",
)


@pytest.fixture
def messy(tmp_path) -> Path:
    return write_invoices(tmp_path, *ROWS, name="messy.csv")


@pytest.fixture
def loaded(messy) -> LoadBatch:
    return ingest(messy)


@pytest.fixture
def viewer_client(staff_user, logged_in) -> Client:
    return logged_in(staff_user("viewer", "view_loadbatch", "view_rejectedinvoice"))


def change_url(batch: LoadBatch) -> str:
    return reverse("admin:warehouse_loadbatch_change", args=[batch.pk])


def test_the_list_shows_the_accounting_of_each_batch(admin_client, loaded):
    response = admin_client.get(reverse("admin:warehouse_loadbatch_changelist"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "messy.csv" in html and 'class="ingestion-status"' in html and ">succeeded<" in html
    assert 'title="1 new / 0 updated / 0 unchanged">1<' in html  # loaded, its split on hover
    assert "66.7%" in html  # rejection rate
    assert "Upload a file" in html


def test_the_detail_shows_reasons_sha_progress_and_a_link_to_the_rejected_rows(admin_client, loaded):
    html = admin_client.get(change_url(loaded)).content.decode()

    assert loaded.sha256 in html
    assert "INVALID_DATE" in html and "UNKNOWN_CUSTOMER" in html
    assert f"?batch__id__exact={loaded.pk}" in html
    assert reverse("admin:warehouse_loadbatch_progress", args=[loaded.pk]) in html
    assert 'data-finished="true"' in html and "batch_progress.js" in html
    assert "Re-run (forced, as a new batch)" in html and "Cancel this batch" not in html


def test_the_progress_endpoint_reports_rows_done_and_stage(admin_client, messy):
    batch = batch_create(path=messy)
    LoadBatch.objects.filter(pk=batch.pk).update(
        status="running", stage="loading", rows_done=50, rows_total=200
    )

    payload = admin_client.get(reverse("admin:warehouse_loadbatch_progress", args=[batch.pk])).json()

    assert {
        k: payload[k] for k in ("id", "status", "stage", "rows_done", "rows_total", "percent", "finished")
    } == {
        "id": batch.pk,
        "status": "running",
        "stage": "loading",
        "rows_done": 50,
        "rows_total": 200,
        "percent": 25,
        "finished": False,
    }
    assert payload["progress_text"] == "25% \u00b7 50 / 200 rows \u00b7 running (loading)"
    html = admin_client.get(change_url(batch)).content.decode()
    assert 'data-finished="false"' in html and "width:25%" in html and "Cancel this batch" in html


def test_the_progress_endpoint_needs_a_staff_login(client, loaded):
    response = client.get(reverse("admin:warehouse_loadbatch_progress", args=[loaded.pk]))
    assert response.status_code == 302


def test_a_finished_batch_reports_100_percent(admin_client, loaded):
    payload = admin_client.get(reverse("admin:warehouse_loadbatch_progress", args=[loaded.pk])).json()
    assert (payload["percent"], payload["finished"], payload["rows_loaded"]) == (100, True, 1)


def test_rerun_creates_a_new_forced_batch_with_the_same_outcome(admin_client, admin_user, loaded):
    response = admin_client.post(reverse("admin:warehouse_loadbatch_rerun", args=[loaded.pk]))

    new = LoadBatch.objects.exclude(pk=loaded.pk).get()
    assert response.status_code == 302 and response["Location"] == change_url(new)
    assert (new.force, new.source, new.created_by, new.file_path) == (
        True,
        "admin",
        admin_user,
        loaded.file_path,
    )
    assert new.note == RERUN_NOTE.format(batch_id=loaded.pk)
    assert (new.status, new.rows_loaded, new.rows_rejected, new.rows_unchanged) == ("succeeded", 1, 2, 1)
    assert Invoice.objects.count() == 1
    assert RejectedInvoice.objects.count() == 2  # the re-run replaced the first load's rejected rows


def test_rerun_and_cancel_need_post(admin_client, loaded):
    assert admin_client.get(reverse("admin:warehouse_loadbatch_rerun", args=[loaded.pk])).status_code == 405
    assert admin_client.get(reverse("admin:warehouse_loadbatch_cancel", args=[loaded.pk])).status_code == 405


def test_viewers_can_neither_rerun_nor_cancel(viewer_client, loaded):
    assert viewer_client.get(change_url(loaded)).status_code == 200
    assert viewer_client.post(reverse("admin:warehouse_loadbatch_rerun", args=[loaded.pk])).status_code == 403
    assert LoadBatch.objects.count() == 1


def test_cancel_a_queued_batch(admin_client, messy):
    batch = batch_create(path=messy)

    response = admin_client.post(reverse("admin:warehouse_loadbatch_cancel", args=[batch.pk]))

    batch.refresh_from_db()
    assert response.status_code == 302
    assert (batch.status, batch.error) == ("cancelled", BATCH_CANCELLED_BY.format(user="admin"))
    # The message arriving later is a no-op for a cancelled batch.
    assert invoice_file_ingest(batch_id=batch.pk).status == "cancelled"
    assert not Invoice.objects.exists()


def test_cancelling_a_running_batch_makes_the_load_stop_and_roll_back(admin_client, messy):
    batch = batch_create(path=messy)
    cancelled: list = []

    def cancel_once(current: LoadBatch) -> None:
        if current.rows_done and not cancelled:  # after the first chunk, like a click mid-run
            cancelled.append(admin_client.post(reverse("admin:warehouse_loadbatch_cancel", args=[batch.pk])))

    result = invoice_file_ingest(batch_id=batch.pk, on_progress=cancel_once)

    assert cancelled and cancelled[0].status_code == 302
    assert (result.status, result.rows_loaded) == ("cancelled", 0)
    # On SQLite the cancel's UPDATE shares the load's connection and is rolled back with it,
    # so the service's own message remains; on MySQL the admin's message is kept.
    assert result.error in ("cancelled by admin", BATCH_CANCELLED_ERROR)
    assert not Invoice.objects.exists() and not RejectedInvoice.objects.exists()


def test_a_finished_batch_cannot_be_cancelled(admin_client, loaded):
    response = admin_client.post(reverse("admin:warehouse_loadbatch_cancel", args=[loaded.pk]), follow=True)

    assert "only queued or running batches can be cancelled" in response.content.decode()
    loaded.refresh_from_db()
    assert loaded.status == "succeeded"


def test_rerun_and_cancel_as_list_actions(admin_client, loaded, messy):
    queued = batch_create(path=messy)
    url = reverse("admin:warehouse_loadbatch_changelist")

    admin_client.post(url, {"action": "cancel_batches", "_selected_action": [queued.pk, loaded.pk]})
    admin_client.post(url, {"action": "rerun_batches", "_selected_action": [loaded.pk]})

    queued.refresh_from_db()
    assert queued.status == "cancelled"
    rerun = LoadBatch.objects.filter(note=RERUN_NOTE.format(batch_id=loaded.pk)).get()
    assert (rerun.force, rerun.status) == (True, "succeeded")


def test_a_batch_whose_file_is_gone_cannot_be_rerun(admin_client, loaded, messy):
    messy.unlink()

    response = admin_client.post(reverse("admin:warehouse_loadbatch_rerun", args=[loaded.pk]), follow=True)

    assert "no longer at" in response.content.decode()
    assert LoadBatch.objects.count() == 1


def test_customer_names_render_as_text(admin_client, loaded):
    html = admin_client.get(reverse("admin:warehouse_rejectedinvoice_changelist")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
