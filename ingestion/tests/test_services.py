"""The load end to end, through the real service, on the configured database (SQLite or MariaDB)."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.db import connection, connections

from ingestion.batches.run_stops import BATCH_CANCELLED_ERROR
from ingestion.batches.services import batch_create, invoice_file_ingest
from ingestion.pipeline import errors
from ingestion.pipeline.clean import dimensions_from_rows, invoices_clean
from ingestion.pipeline.generate import invoice_file_generate, invoices_generate
from ingestion.pipeline.invoice_id_filter import InvoiceIdFilter
from ingestion.tests.files import ingest, invoices_csv, write_invoices
from warehouse.models import (
    Customer,
    Invoice,
    Item,
    LoadBatch,
    RejectedInvoice,
    StagingInvoice,
    StagingMark,
    Status,
)
from warehouse.tests.checks import assert_aggregates_match_facts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def facts() -> dict[str, tuple]:
    return {
        f.invoice_id: (
            f.issue_date.isoformat(),
            f.customer.customer_id,
            f.item.item_description,
            f.status.status_name,
            f.qty,
            f.unit_price,
            f.total,
            f.batch_id,
        )
        for f in Invoice.objects.select_related("customer", "item", "status")
    }


def test_seed_export_loads_exactly(seed_file):
    batch = ingest(seed_file)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (10_000, 9_011, 989)
    assert batch.reason_counts == {
        "INVALID_DATE": 500,
        "TOTAL_MISMATCH": 179,
        "INVALID_TOTAL": 179,
        "DUPLICATE_INVOICE_ID": 81,
        "UNKNOWN_INVOICE_ID": 50,
    }
    assert (batch.rows_inserted, batch.rows_updated, batch.rows_unchanged) == (9_011, 0, 0)
    assert Invoice.objects.count() == 9_011
    assert RejectedInvoice.objects.filter(batch=batch).count() == 989
    assert StagingInvoice.objects.filter(batch=batch).count() == 10_000
    first = Invoice.objects.get(invoice_id="INV-00001")
    assert (first.issue_date.isoformat(), first.customer.customer_id, first.status.status_name) == (
        "2023-08-26",
        "C-105",
        "PROCESSING",
    )
    assert (first.qty, first.unit_price, first.total) == (14, Decimal("1200.50"), Decimal("16807.00"))


def test_rejected_rows_keep_the_raw_record_and_every_failure(tmp_path):
    path = write_invoices(
        tmp_path, 'INV-1,2023-13-40,C-100,Acme,Server Setup,2,"$ 1,200.50",NULL,Paid', name="bad.csv"
    )
    batch = ingest(path)

    row = RejectedInvoice.objects.get(batch=batch)
    assert (row.invoice_id, row.reason, row.source_row) == ("INV-1", "INVALID_DATE", 2)
    assert "INVALID_DATE" in row.detail and "INVALID_TOTAL" in row.detail
    assert row.raw_record["unit_price"] == "$ 1,200.50"
    assert row.raw_record["total"] == "NULL"
    assert row.file_name == "bad.csv"


def test_same_file_again_is_skipped_and_changes_nothing(seed_file):
    first = ingest(seed_file)
    again = ingest(seed_file)

    assert again.status == LoadBatch.Status.SKIPPED
    assert f"#{first.pk}" in again.note
    assert RejectedInvoice.objects.count() == 989
    assert Invoice.objects.filter(batch=again).count() == 0


def test_forced_reload_leaves_facts_and_rejected_rows_as_they_were(seed_file):
    first = ingest(seed_file)
    before = facts()
    forced = ingest(seed_file, force=True)

    assert forced.status == LoadBatch.Status.SUCCEEDED
    assert (forced.rows_inserted, forced.rows_updated, forced.rows_unchanged) == (0, 0, 9_011)
    assert facts() == before  # batch ids included: an unchanged invoice keeps its last writer
    assert all(v[-1] == first.pk for v in before.values())
    assert RejectedInvoice.objects.count() == 989
    assert set(RejectedInvoice.objects.values_list("batch_id", flat=True)) == {forced.pk}


def test_later_batch_updates_an_invoice_and_counts_it(tmp_path):
    a = ingest(
        write_invoices(
            tmp_path,
            "INV-1,2023-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Pending",
            "INV-2,2023-01-06,C-101,Globex,API Access,1,500,500,Paid",
            name="a.csv",
        )
    )
    b = ingest(
        write_invoices(
            tmp_path,
            "INV-1,2023-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
            "INV-2,2023-01-06,C-101,Globex,API Access,1,500,500,Paid",
            "INV-3,2023-01-07,C-102,Soylent,Cloud Storage,3,20,60,Pending",
            name="b.csv",
        )
    )

    assert (b.rows_inserted, b.rows_updated, b.rows_unchanged) == (1, 1, 1)
    rows = facts()
    assert rows["INV-1"][3] == "PAID" and rows["INV-1"][-1] == b.pk
    assert rows["INV-2"][-1] == a.pk
    assert rows["INV-3"][-1] == b.pk


def test_invoice_ids_are_case_sensitive(tmp_path):
    batch = ingest(
        write_invoices(
            tmp_path,
            "INV-1,2023-01-05,C-100,Acme,Server Setup,1,10,10,Paid",
            "inv-1,2023-01-05,C-100,Acme,Server Setup,2,10,20,Paid",
            name="case.csv",
        )
    )

    assert (batch.rows_loaded, batch.rows_rejected) == (2, 0)
    assert sorted(Invoice.objects.values_list("invoice_id", flat=True)) == ["INV-1", "inv-1"]


@pytest.mark.parametrize("filter_flags", ["repeats", "every row"])
def test_first_valid_occurrence_wins(tmp_path, monkeypatch, filter_flags):
    if filter_flags == "every row":  # a saturated filter: even an id's first valid row is flagged
        monkeypatch.setattr(InvoiceIdFilter, "maybe_seen", lambda self, ids: np.ones(len(ids), dtype=bool))
    batch = ingest(
        write_invoices(
            tmp_path,
            "INV-7,2023-13-01,C-100,Acme,Server Setup,1,10,10,Paid",  # row 2: invalid
            "INV-7,2023-02-01,C-100,Acme,Server Setup,1,10,10,Paid",  # row 3: first valid
            "INV-7,2023-02-01,C-100,Acme,Server Setup,1,10,10,Paid",  # row 4: identical copy
            "INV-7,2023-03-01,C-101,Globex,API Access,2,5,10,Pending",  # row 5: differs
            "INV-7,2023-02-01,C-100,Acme ,Server Setup,1,10,10,Paid",  # row 6: differs by a space
            name="dups.csv",
        )
    )

    assert batch.reason_counts == {"DUPLICATE_INVOICE_ID": 3, "INVALID_DATE": 1}
    assert facts()["INV-7"][:2] == ("2023-02-01", "C-100")
    details = dict(
        RejectedInvoice.objects.filter(reason="DUPLICATE_INVOICE_ID").values_list("source_row", "detail")
    )
    assert "row 3 (identical row)" in details[4]
    assert "row 3 (the rows differ)" in details[5]
    assert "row 3 (the rows differ)" in details[6]  # raw text compared byte for byte
    # Staging's lineage says the same: the later rows' settled reason is their mark.
    marks = dict(StagingMark.objects.filter(batch=batch).values_list("source_row", "detail"))
    assert marks == details


def test_duplicates_are_found_across_chunks(tmp_path, settings):
    settings.INGEST_CHUNK_ROWS = 1_000
    path = invoice_file_generate(path=tmp_path / "gen.csv", rows=5_000, seed=3)
    batch = ingest(path)

    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    dims = dimensions_from_rows(
        customers=Customer.objects.values_list("customer_id", "customer_key"),
        items=Item.objects.values_list("item_description", "item_key"),
        statuses=Status.objects.values_list("status_name", "status_key"),
    )
    cleaned = invoices_clean(raw, dims=dims)
    valid = cleaned[cleaned["reason"].isna()]
    expected_duplicates = int(valid["clean_invoice_id"].duplicated().sum())

    assert expected_duplicates > 20
    assert batch.reason_counts["DUPLICATE_INVOICE_ID"] == expected_duplicates
    assert batch.rows_loaded == valid["clean_invoice_id"].nunique() == Invoice.objects.count()
    assert batch.rows_read == batch.rows_loaded + batch.rows_rejected == 5_000


def test_dry_run_reports_and_writes_nothing(seed_file):
    batch = ingest(seed_file, dry_run=True)

    assert batch.status == LoadBatch.Status.SUCCEEDED
    assert (batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (9_011, 989, 9_011)
    assert Invoice.objects.count() == 0
    assert RejectedInvoice.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", errors.FILE_EMPTY),
        (b"\x00\x01\x02binary\x00" * 50, errors.FILE_BINARY),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "looks like a .xls workbook but cannot be read"),
        (b"invoice_id,issue_date,total\nINV-1,2023-01-01,10\n", "missing required columns: customer_id"),
        (
            invoices_csv("INV-1,2023-01-01,C-100,Acme,API Access,1,5,5,Paid,extra").encode(),
            "line 2 has more fields than the header",
        ),
    ],
    ids=["empty", "binary", "legacy-xls", "missing-columns", "ragged-row"],
)
def test_file_level_faults_fail_the_batch_with_a_message(tmp_path, content, message):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    batch = ingest(path)

    assert batch.status == LoadBatch.Status.FAILED
    assert message in batch.error
    assert Invoice.objects.count() == 0
    assert RejectedInvoice.objects.count() == 0


def test_header_only_file_is_an_empty_successful_batch(tmp_path):
    batch = ingest(write_invoices(tmp_path, name="none-today.csv"))

    assert (batch.status, batch.rows_read, batch.rows_loaded) == (LoadBatch.Status.SUCCEEDED, 0, 0)


def test_a_failure_part_way_leaves_no_partial_facts_and_a_rerun_converges(tmp_path, settings, seed_file):
    settings.INGEST_CHUNK_ROWS = 2_000
    good = seed_file.read_text().splitlines()
    path = tmp_path / "broken.csv"
    path.write_text(
        "\n".join([*good[:7000], "INV-X,2023-01-01,C-100,Acme,API Access,1,5,5,Paid,oops", *good[7000:]])
        + "\n"
    )

    batch = ingest(path)
    assert batch.status == LoadBatch.Status.FAILED
    assert "line 7001 has 10 fields" in batch.error
    assert Invoice.objects.count() == 0 and RejectedInvoice.objects.count() == 0

    path.write_text("\n".join(good) + "\n")  # the sender fixes the file; the batch is run again
    batch.status = LoadBatch.Status.QUEUED
    batch.save()
    rerun = invoice_file_ingest(batch_id=batch.pk)
    assert rerun.status == LoadBatch.Status.SUCCEEDED
    assert (rerun.rows_read, rerun.rows_loaded, rerun.rows_rejected) == (10_000, 9_011, 989)
    assert Invoice.objects.count() == 9_011 and RejectedInvoice.objects.count() == 989
    assert StagingInvoice.objects.filter(batch=batch).count() == 10_000


def test_cancelling_a_running_batch_leaves_no_facts(seed_file, settings):
    settings.INGEST_CHUNK_ROWS = 2_000
    batch = batch_create(path=seed_file)

    def cancel_after_first_chunk(current):
        if current.rows_done:
            LoadBatch.objects.filter(pk=current.pk).update(status=LoadBatch.Status.CANCELLED)

    result = invoice_file_ingest(batch_id=batch.pk, on_progress=cancel_after_first_chunk)
    assert result.status == LoadBatch.Status.CANCELLED
    assert result.error == BATCH_CANCELLED_ERROR
    assert Invoice.objects.count() == 0 and RejectedInvoice.objects.count() == 0


def test_xlsx_loads_like_csv(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(
        [
            "Invoice_ID",
            "Issue_Date",
            "Customer_ID",
            "Customer_Name",
            "Item_Description",
            "Qty",
            "Unit_Price",
            "Total",
            "Status",
            "Notes",
        ]
    )
    sheet.append(
        [
            "INV-1",
            pd.Timestamp("2023-04-05").to_pydatetime(),
            "c-100",
            "Acme",
            "server setup",
            2,
            1200.5,
            2401,
            "paid",
            "ok",
        ]
    )
    sheet.append([None] * 10)
    sheet.append(["INV-2", "05/04/2023", "C-101", "Globex", "API Access", 1.5, 500, 750, "Paid", "half"])
    path = tmp_path / "invoices.xlsx"
    workbook.save(path)

    batch = ingest(path)
    assert (batch.status, batch.rows_read, batch.rows_loaded) == (LoadBatch.Status.SUCCEEDED, 2, 1)
    assert facts()["INV-1"][:4] == ("2023-04-05", "C-100", "Server Setup", "PAID")
    rejected = RejectedInvoice.objects.get()
    assert (rejected.reason, rejected.source_row, rejected.raw_record["Notes"]) == (
        "INVALID_QUANTITY",
        4,
        "half",
    )


def test_load_data_refused_falls_back_to_inserts(seed_file, monkeypatch):
    if connection.vendor != "mysql":
        pytest.skip("LOAD DATA is MySQL/MariaDB only")
    monkeypatch.setitem(connections.settings["default"]["OPTIONS"], "local_infile", 0)
    batch = ingest(seed_file)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_loaded, batch.rows_rejected) == (9_011, 989)
    assert Invoice.objects.count() == 9_011
    assert_aggregates_match_facts()


def test_facts_load_data_refused_part_way_goes_through_staging_and_counts_once(seed_file, monkeypatch):
    """The first ``LOAD DATA`` into the facts is refused (as a server that turned it off
    would): that chunk, and those whose facts file the reading thread had already made, go
    through staging instead; the aggregates count each row once."""
    if connection.vendor != "mysql":
        pytest.skip("LOAD DATA is MySQL/MariaDB only")
    from ingestion.pipeline import bulk

    real = bulk.BulkWriter.file_load
    refused: list[str] = []

    def file_load(self, path, rows, *, table, load_sql, constants=(), exact=True):
        if table == "fact_invoices" and not refused:
            refused.append(path.name)
            path.unlink(missing_ok=True)
            self.local_infile = False
            return False
        return real(self, path, rows, table=table, load_sql=load_sql, constants=constants, exact=exact)

    monkeypatch.setattr(bulk.BulkWriter, "file_load", file_load)
    batch = ingest(seed_file)

    assert refused
    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (9_011, 989, 9_011)
    assert Invoice.objects.count() == 9_011
    assert_aggregates_match_facts()


def test_generated_sample_has_the_seed_kinds_of_mess():
    frame = invoices_generate(rows=20_000, seed=5)
    assert len(frame) == 20_000
    assert frame["total"].eq("NULL").mean() == pytest.approx(0.019, abs=0.004)
    assert frame["issue_date"].str.contains("-13-").mean() == pytest.approx(0.05, abs=0.006)
    assert frame["unit_price"].str.startswith("USD ").mean() == pytest.approx(0.05, abs=0.006)
    assert frame["invoice_id"].eq("").mean() == pytest.approx(0.005, abs=0.002)
    assert frame["invoice_id"].duplicated().sum() > 100


def test_awkward_raw_text_survives_staging_and_rejected_rows_exactly(tmp_path):
    awkward = 'He said "hi", then\nleft \\N \\\\ NULL é€ 😀'
    quoted = '"' + awkward.replace('"', '""') + '"'
    batch = ingest(
        write_invoices(
            tmp_path,
            f"INV-1,2023-01-05,C-100,{quoted},Server Setup,1,10,10,Paid",
            f"INV-2,2023-01-05,C-100,{quoted},Server Setup,1,10,NULL,Paid",
            name="awkward.csv",
        )
    )

    assert (batch.rows_loaded, batch.rows_rejected) == (1, 1)
    staged = StagingInvoice.objects.filter(batch=batch).order_by("source_row")
    assert [s.customer_name for s in staged] == [awkward, awkward]
    assert [s.total for s in staged] == ["10", "NULL"]
    rejected = RejectedInvoice.objects.get()
    assert rejected.raw_record["customer_name"] == awkward
    assert rejected.raw_record["total"] == "NULL"


def test_aggregates_follow_every_load(tmp_path, seed_file):
    ingest(seed_file)
    assert_aggregates_match_facts()

    moved = write_invoices(
        tmp_path,
        "INV-00001,2024-02-29,C-101,Globex,API Access,3,500,1500,Paid",  # every field changes
        "INV-00002,2023-09-16,C-104,Umbrella Corp,Audit Service,2,2000.00,4000.00,REFUNDED",  # same
        "INV-99999,2024-02-29,C-101,Globex,API Access,1,500,500,Pending",  # new
        "INV-99999,2024-02-29,C-101,Globex,API Access,1,500,500,Pending",  # duplicate
        name="moves.csv",
    )
    batch = ingest(moved)
    assert (batch.rows_inserted, batch.rows_updated, batch.rows_unchanged) == (1, 1, 1)
    assert_aggregates_match_facts()

    ingest(seed_file, force=True)  # puts INV-00001 back
    assert_aggregates_match_facts()


def test_two_loads_at_the_same_time_both_finish(tmp_path, seed_file):
    import threading

    if connection.vendor != "mysql":
        pytest.skip("SQLite takes one writer at a time: concurrent loads are a MySQL matter")

    from django.core.management import call_command

    other = tmp_path / "other.csv"
    other.write_text(seed_file.read_text().replace("INV-", "ALT-"))
    outputs: dict = {}

    def run(path):
        out = StringIO()
        try:
            call_command("load_invoices", str(path), "--json", stdout=out)
            outputs[path.name] = json.loads(out.getvalue())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(p,)) for p in (seed_file, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outputs) == ["other.csv", "seed_input.csv"]
    for summary in outputs.values():
        assert (summary["status"], summary["rows_loaded"], summary["rows_rejected"]) == (
            "succeeded",
            9_011,
            989,
        )
    assert Invoice.objects.count() == 18_022
    assert RejectedInvoice.objects.count() == 2 * 989
    assert_aggregates_match_facts()
