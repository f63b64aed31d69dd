"""Previews: an upload that would update existing invoices is a dry run first, shown with its
counts and a sample of the changes, and writes only once confirmed (the same stored file is
loaded); one that would update none loads by itself. ``load_invoices --dry-run`` prints the
same summary."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from ingestion.batches.preview_loads import PREVIEW_ALREADY_LOADED, PREVIEW_FILE_GONE, PREVIEW_LOAD_NOTE
from ingestion.batches.previews import (
    PREVIEW_SAMPLE,
    PREVIEW_SAMPLE_GONE,
    batch_preview,
    preview_changes,
    preview_lines,
)
from ingestion.batches.services import staging_prune
from ingestion.tests.files import ingest, invoices_csv, write_invoices
from warehouse.models import Invoice, LoadBatch
from warehouse.versions import data_version

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data", "media"),
]

UPLOAD_URL = reverse("admin:warehouse_loadbatch_upload")
LOADED = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100.00,200.00,Pending",
    "INV-2,2024-01-06,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-01-07,C-102,Soylent,Audit Service,1,50,50,Paid",
)
UPDATE = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100.00,200.00,Paid",  # status
    "INV-2,2024-01-08,C-101,Globex,API Access,2,500,1000,Pending",  # date, qty, total
    "INV-3,2024-01-07,C-102,Soylent,Audit Service,1,50,50,Paid",  # unchanged
    "INV-4,2024-02-01,C-103,Initech,API Access,1,10,10,Paid",  # new
    "INV-5,2024-13-01,C-103,Initech,API Access,1,10,10,Paid",  # rejected
)
ONLY_NEW = ("INV-7,2024-03-01,C-104,Umbrella,API Access,1,10,10,Paid",)


def upload(client, *rows, name="update.csv", **options):
    content = invoices_csv(*rows).encode()
    return client.post(
        UPLOAD_URL,
        {"files": SimpleUploadedFile(name, content, content_type="text/csv"), **options},
        follow=True,
    )


@pytest.fixture
def loaded(tmp_path) -> LoadBatch:
    return ingest(write_invoices(tmp_path, *LOADED, name="january.csv"))


def facts() -> dict[str, tuple]:
    return {
        i.invoice_id: (str(i.issue_date), i.status.status_name, i.qty, i.total) for i in Invoice.objects.all()
    }


def test_an_upload_into_an_empty_warehouse_loads_at_once(uploader_client):
    response = upload(uploader_client, *LOADED)

    batch = LoadBatch.objects.get()
    assert not batch.dry_run and batch.status == "succeeded"
    assert response.redirect_chain[-1][0] == reverse("admin:warehouse_loadbatch_change", args=[batch.pk])
    assert Invoice.objects.count() == 3


def test_an_upload_that_only_adds_invoices_is_previewed_and_loads_by_itself(uploader_client, loaded):
    response = upload(uploader_client, *ONLY_NEW, name="march.csv")

    preview, load = LoadBatch.objects.exclude(pk=loaded.pk).order_by("pk")
    assert (preview.dry_run, preview.rows_inserted, preview.rows_updated) == (True, 1, 0)
    assert (load.dry_run, load.status, load.rows_inserted) == (False, "succeeded", 1)
    assert load.file_path == preview.file_path  # the same stored file, uploaded once
    assert load.note == PREVIEW_LOAD_NOTE.format(batch_id=preview.pk)
    assert response.redirect_chain[-1][0] == reverse("admin:warehouse_loadbatch_change", args=[load.pk])
    assert Invoice.objects.filter(invoice_id="INV-7").exists()


def test_an_upload_that_updates_invoices_writes_nothing_until_confirmed(uploader_client, loaded, uploader):
    before = facts()

    response = upload(uploader_client, *UPDATE)

    preview = LoadBatch.objects.exclude(pk=loaded.pk).get()
    assert preview.dry_run and preview.status == "succeeded"
    assert (preview.rows_inserted, preview.rows_updated, preview.rows_unchanged, preview.rows_rejected) == (
        1,
        2,
        1,
        1,
    )
    assert facts() == before  # nothing written
    sample = cache.get(f"preview:{preview.pk}:{PREVIEW_SAMPLE}:{data_version()}")
    assert [c["invoice_id"] for c in sample] == ["INV-1", "INV-2"]  # read when the preview ended
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:warehouse_loadbatch_change", args=[preview.pk])
    assert "it would update 2 existing invoices" in html
    assert "would add 1 new invoices, update 2, leave 1 unchanged and reject 1 rows" in html
    assert 'id="preview-changes"' in html and "<del>PENDING</del>" in html and "<ins>PAID</ins>" in html
    assert "Load this file (updates 2 invoices)" in html

    confirmed = uploader_client.post(
        reverse("admin:warehouse_loadbatch_load", args=[preview.pk]), follow=True
    )

    load = LoadBatch.objects.exclude(pk__in=[loaded.pk, preview.pk]).get()
    assert (load.dry_run, load.status, load.rows_updated, load.created_by) == (
        False,
        "succeeded",
        2,
        uploader,
    )
    assert facts()["INV-1"][1] == "PAID" and facts()["INV-2"] == (
        "2024-01-08",
        "PENDING",
        2,
        Decimal("1000.00"),
    )
    assert "INV-4" in facts()
    assert confirmed.redirect_chain[-1][0] == reverse("admin:warehouse_loadbatch_change", args=[load.pk])
    page = uploader_client.get(
        reverse("admin:warehouse_loadbatch_change", args=[preview.pk])
    ).content.decode()
    assert "It was loaded by" in page and 'id="load-file"' not in page
    assert "no change is left to list" in page
    again = uploader_client.post(reverse("admin:warehouse_loadbatch_load", args=[preview.pk]), follow=True)
    assert (
        PREVIEW_ALREADY_LOADED.format(batch_id=preview.pk, load_id=load.pk) in again.content.decode().lower()
    )
    assert LoadBatch.objects.filter(dry_run=False).count() == 2


def test_the_sample_lists_each_changed_field_old_to_new_in_file_order(loaded, tmp_path):
    preview = ingest(write_invoices(tmp_path, *UPDATE, name="update.csv"), dry_run=True)

    summary = batch_preview(preview)

    assert [c["invoice_id"] for c in summary["changes"]] == ["INV-1", "INV-2"]
    assert summary["changes"][0]["fields"] == [{"field": "status", "old": "PENDING", "new": "PAID"}]
    assert summary["changes"][1]["fields"] == [
        {"field": "issue date", "old": "2024-01-06", "new": "2024-01-08"},
        {"field": "qty", "old": "1", "new": "2"},
        {"field": "total", "old": "500.00", "new": "1,000.00"},
    ]
    assert summary["sample_title"] == "the first 2 of the 2 updated invoices, old \u2192 new"


def test_a_later_row_of_a_repeated_invoice_id_is_not_a_change_in_the_sample(loaded, tmp_path):
    preview = ingest(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100.00,200.00,Paid",  # status changes
            "INV-2,2024-01-06,C-101,Globex,API Access,1,500,500,Pending",  # unchanged
            "INV-2,2024-01-09,C-101,Globex,API Access,3,500,1500,Pending",  # repeated: rejected
            name="repeat.csv",
        ),
        dry_run=True,
    )

    summary = batch_preview(preview)

    assert (preview.rows_updated, preview.rows_unchanged, preview.rows_rejected) == (1, 1, 1)
    assert [c["invoice_id"] for c in summary["changes"]] == ["INV-1"]


def test_the_sample_is_bounded_whatever_the_number_of_changes(tmp_path):
    rows = [f"B-{n:04d},2024-01-05,C-100,Acme,Server Setup,1,10,10,Pending" for n in range(300)]
    ingest(write_invoices(tmp_path, *rows, name="many.csv"))
    paid = [row.replace("Pending", "Paid") for row in rows]
    preview = ingest(write_invoices(tmp_path, *paid, name="many-paid.csv"), dry_run=True)

    summary = batch_preview(preview)

    assert preview.rows_updated == 300
    assert len(summary["changes"]) == 20 and summary["changes"][0]["invoice_id"] == "B-0000"
    assert len(preview_changes(batch_id=preview.pk, limit=5)) == 5


def test_a_dry_run_whose_staging_was_pruned_still_shows_its_counts(loaded, tmp_path):
    preview = ingest(write_invoices(tmp_path, *UPDATE, name="update.csv"), dry_run=True)
    assert preview.finished_at is not None
    staging_prune(ended_before=preview.finished_at + dt.timedelta(seconds=1))

    summary = batch_preview(preview)

    assert (summary["updated"], summary["changes"], summary["sample_title"]) == (2, [], PREVIEW_SAMPLE_GONE)


def test_load_invoices_dry_run_prints_the_same_summary(loaded, tmp_path):
    path = write_invoices(tmp_path, *UPDATE, name="update.csv")
    out, as_json = StringIO(), StringIO()

    call_command("load_invoices", str(path), "--dry-run", stdout=out)
    call_command("load_invoices", str(path), "--dry-run", "--json", stdout=as_json)

    first, second = LoadBatch.objects.filter(dry_run=True).order_by("pk")
    text = out.getvalue()
    for line in preview_lines(batch_preview(first)):
        assert line in text
    assert "  INV-1 (row 2): status PENDING \u2192 PAID" in text
    line = json.loads(as_json.getvalue())
    assert line["preview"] == batch_preview(second)
    assert (line["preview"]["new"], line["preview"]["updated"]) == (1, 2)
    assert Invoice.objects.get(invoice_id="INV-1").status.status_name == "PENDING"


def test_a_plain_dry_run_upload_is_not_loaded_by_itself_but_can_be_confirmed(uploader_client, loaded):
    upload(uploader_client, *ONLY_NEW, name="march.csv", dry_run="on")

    dry = LoadBatch.objects.exclude(pk=loaded.pk).get()
    assert dry.dry_run and not Invoice.objects.filter(invoice_id="INV-7").exists()
    page = uploader_client.get(reverse("admin:warehouse_loadbatch_change", args=[dry.pk])).content.decode()
    assert "Load this file" in page

    uploader_client.post(reverse("admin:warehouse_loadbatch_load", args=[dry.pk]))

    assert Invoice.objects.filter(invoice_id="INV-7").exists()


def test_confirming_needs_the_upload_permission(staff_user, logged_in, loaded, tmp_path):
    preview = ingest(write_invoices(tmp_path, *UPDATE, name="update.csv"), dry_run=True)
    viewer = logged_in(staff_user("viewer", "view_loadbatch"))

    page = viewer.get(reverse("admin:warehouse_loadbatch_change", args=[preview.pk])).content.decode()
    response = viewer.post(reverse("admin:warehouse_loadbatch_load", args=[preview.pk]))

    assert 'id="preview-changes"' in page and "Load this file" not in page
    assert response.status_code == 403
    assert not LoadBatch.objects.filter(dry_run=False).exclude(pk=loaded.pk).exists()


def test_a_preview_whose_file_is_gone_is_refused_with_a_message(uploader_client, loaded):
    upload(uploader_client, *UPDATE)
    preview = LoadBatch.objects.exclude(pk=loaded.pk).get()
    Path(preview.file_path).unlink()

    response = uploader_client.post(reverse("admin:warehouse_loadbatch_load", args=[preview.pk]), follow=True)

    gone = PREVIEW_FILE_GONE.format(batch_id=preview.pk, path=preview.file_path)
    assert gone.lower() in response.content.decode().lower()
    assert not LoadBatch.objects.filter(dry_run=False).exclude(pk=loaded.pk).exists()
    assert 'id="load-file"' not in response.content.decode()  # nothing left to load
    load_url = reverse("admin:warehouse_loadbatch_load", args=[preview.pk])
    assert uploader_client.get(load_url).status_code == 405
