"""Odd and hostile files through the whole load (service, command, admin upload) on the
configured database: what reaches the warehouse, the batch and its note."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.tests import hostile
from ingestion.tests.files import ingest, write_invoices, write_workbook
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROW = ["2023-05-01", "C-100", "Acme", "API Access", 1, 5.0, 5.0, "Paid"]


def test_a_nul_in_an_id_never_reaches_the_facts(tmp_path):
    rows = [hostile.GOOD_ROW.format(n=n) for n in range(2, 7000)]
    rows[5998] = rows[5998].replace("INV-6000", "N-59\x0099")  # line 6000
    path = write_invoices(tmp_path, *rows, name="nul.csv")

    batch = ingest(path)

    assert (batch.status, batch.rows_read, batch.rows_rejected) == ("succeeded", 6998, 1)
    rejected = RejectedInvoice.objects.get()
    assert (rejected.reason, rejected.source_row) == ("UNKNOWN_INVOICE_ID", 6000)
    assert "control character at position 5" in rejected.detail
    assert not [i for i in Invoice.objects.values_list("invoice_id", flat=True) if "\x00" in i]


def test_a_field_over_the_limit_is_rejected_and_staged_cut(tmp_path, settings):
    settings.INGEST_MAX_FIELD_BYTES = 10_000
    path = write_invoices(
        tmp_path,
        hostile.GOOD_ROW.format(n=1),
        f"INV-2,2023-05-01,C-100,{'x' * 50_000},API Access,1,5.00,5.00,Paid",
        name="long.csv",
    )
    batch = ingest(path)

    assert (batch.rows_loaded, batch.rows_rejected, batch.reason_counts) == (1, 1, {"FIELD_TOO_LONG": 1})
    staged = StagingInvoice.objects.get(batch=batch, source_row=3)
    assert len(staged.customer_name) < 300 and staged.customer_name.endswith("[cut: 50,000 bytes]")


def test_a_line_over_the_limit_fails_the_batch_with_nothing_loaded(tmp_path, settings):
    settings.INGEST_MAX_LINE_BYTES = 100_000
    path = hostile.csv_one_huge_row(tmp_path, size=1_000_000)
    batch = ingest(path)
    assert batch.status == "failed"
    assert batch.error == "line 2 is longer than the line limit (100,000 bytes): is this really a CSV file?"
    assert not Invoice.objects.exists() and not RejectedInvoice.objects.exists()


def test_the_batch_note_names_the_sheet_read_and_the_others(tmp_path):
    path = write_workbook(
        tmp_path / "book.xlsx",
        {
            "Cover": [],
            "May": [["May invoices"], list(RAW_COLUMNS), ["INV-1", *ROW]],
            "June": [list(RAW_COLUMNS), ["INV-2", *ROW]],
        },
    )
    batch = ingest(path)
    assert (batch.status, batch.rows_loaded) == ("succeeded", 1)
    assert batch.note == (
        "read sheet 'May'; other sheets with data, not read: 'June';"
        " header found on row 2; rows above it skipped: 1"
    )


def test_load_invoices_reads_the_sheet_it_is_told(tmp_path):
    path = write_workbook(
        tmp_path / "book.xlsx",
        {"May": [list(RAW_COLUMNS), ["INV-1", *ROW]], "June": [list(RAW_COLUMNS), ["INV-2", *ROW]]},
    )
    out = StringIO()
    call_command("load_invoices", str(path), "--sheet", "June", "--json", stdout=out)
    assert json.loads(out.getvalue())["rows_loaded"] == 1
    assert list(Invoice.objects.values_list("invoice_id", flat=True)) == ["INV-2"]
    assert LoadBatch.objects.get().sheet == "June"


def test_the_upload_form_passes_the_sheet(uploader_client, tmp_path):
    path = write_workbook(
        tmp_path / "book.xlsx",
        {"May": [list(RAW_COLUMNS), ["INV-1", *ROW]], "June": [list(RAW_COLUMNS), ["INV-2", *ROW]]},
    )
    upload = SimpleUploadedFile("book.xlsx", path.read_bytes())
    response = uploader_client.post(
        reverse("admin:warehouse_loadbatch_upload"), {"files": upload, "sheet": "June"}
    )
    assert response.status_code == 302
    batch = LoadBatch.objects.get()
    assert (batch.sheet, batch.status, batch.rows_loaded) == ("June", "succeeded", 1)


def test_the_upload_refuses_a_workbook_that_inflates_too_far(uploader_client, tmp_path):
    path = hostile.xlsx_one_huge_cell(tmp_path, size=20_000_000)
    upload = SimpleUploadedFile("invoices.xlsx", path.read_bytes())
    response = uploader_client.post(reverse("admin:warehouse_loadbatch_upload"), {"files": upload})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["files"])
    assert "invoices.xlsx: workbook part xl/worksheets/sheet1.xml inflates" in errors
    assert not LoadBatch.objects.exists()
