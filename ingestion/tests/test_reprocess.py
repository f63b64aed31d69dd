"""Re-processing rejected rows with the load's rules, after the cause is fixed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.utils import timezone

from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.generate import invoice_file_generate
from ingestion.rejected.reprocess import NOTHING_TO_REPROCESS, reprocess_batches_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, Item, LoadBatch, RejectedInvoice, RejectedResolution
from warehouse.tests.checks import assert_aggregates_match_facts, warehouse_clear, warehouse_snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def rejected_reprocess(*, rejected_ids) -> LoadBatch:
    """Re-process rows of one load (the batch runs in-process: no broker in these tests)."""
    [batch] = reprocess_batches_create(rejected_ids=rejected_ids)
    return batch


def load(path: Path) -> LoadBatch:
    batch = ingest(path)
    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    return batch


def test_a_row_of_an_unknown_customer_loads_once_the_customer_exists(tmp_path):
    load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,2,1200.50,2401.00,Paid", name="a.csv"
        )
    )
    rejected = RejectedInvoice.objects.get()
    assert rejected.reason == "UNKNOWN_CUSTOMER"
    Customer.objects.create(customer_id="C-999", customer_name="New Co")

    batch = rejected_reprocess(rejected_ids=[rejected.pk])

    rejected = RejectedInvoice.objects.get(pk=rejected.pk)  # with its resolution
    invoice = Invoice.objects.get(invoice_id="INV-1")
    assert (invoice.customer.customer_id, invoice.total, invoice.batch_id) == (
        "C-999",
        Decimal("2401.00"),
        batch.pk,
    )
    assert (rejected.resolved_at is not None, rejected.resolved_by_batch_id) == (True, batch.pk)
    assert (batch.source, batch.file_name, batch.status) == ("admin", "reprocess of 1 rows", "succeeded")
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (1, 1, 0, 1)
    assert_aggregates_match_facts()


def test_an_id_that_differs_from_a_loaded_one_only_in_case_is_another_invoice(tmp_path):
    load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-100,Acme,Server Setup,1,100.00,100.00,Paid",
            "inv-1,2024-01-06,C-999,New Co,Server Setup,2,100.00,200.00,Paid",
            name="a.csv",
        )
    )
    rejected = RejectedInvoice.objects.get()
    Customer.objects.create(customer_id="C-999", customer_name="New Co")

    batch = rejected_reprocess(rejected_ids=[rejected.pk])

    invoices = dict(Invoice.objects.values_list("invoice_id", "total"))
    assert invoices == {"INV-1": Decimal("100.00"), "inv-1": Decimal("200.00")}
    assert (batch.rows_loaded, batch.rows_inserted, batch.rows_updated) == (1, 1, 0)
    assert_aggregates_match_facts()


def test_rows_that_still_fail_keep_an_updated_reason(tmp_path):
    load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-999,New Co,Server Setup,2,1200.50,99.00,Paid",
            "INV-2,2024-01-05,C-100,Acme,Quantum Thing,1,10.00,10.00,Paid",
            name="a.csv",
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    batch = rejected_reprocess(rejected_ids=ids)

    assert dict(RejectedInvoice.objects.values_list("invoice_id", "reason")) == {
        "INV-1": "TOTAL_MISMATCH",
        "INV-2": "UNKNOWN_ITEM",
    }
    assert RejectedInvoice.objects.get(invoice_id="INV-1").detail.startswith("TOTAL_MISMATCH: total 99.00")
    assert (batch.rows_loaded, batch.rows_rejected) == (0, 2)
    assert batch.reason_counts == {"TOTAL_MISMATCH": 1, "UNKNOWN_ITEM": 1}
    Item.objects.create(item_description="Quantum Thing")
    rejected_reprocess(rejected_ids=ids)
    assert Invoice.objects.filter(invoice_id="INV-2").exists()


def test_a_duplicate_row_never_overwrites_the_invoice_of_the_first_occurrence(tmp_path):
    first = load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-100,Acme,Server Setup,1,100.00,100.00,Paid",
            "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100.00,200.00,Paid",
            name="a.csv",
        )
    )
    duplicate = RejectedInvoice.objects.get()
    assert duplicate.reason == "DUPLICATE_INVOICE_ID"

    batch = rejected_reprocess(rejected_ids=[duplicate.pk])

    duplicate = RejectedInvoice.objects.get(pk=duplicate.pk)
    assert (duplicate.reason, duplicate.resolved_at) == ("DUPLICATE_INVOICE_ID", None)
    assert "already loaded from row 2 (the rows differ)" in duplicate.detail
    assert Invoice.objects.get().qty == 1 and Invoice.objects.get().batch_id == first.pk
    assert (batch.rows_loaded, batch.rows_rejected) == (0, 1)


def test_the_first_row_per_invoice_id_wins_within_one_reprocessing(tmp_path):
    load(
        write_invoices(
            tmp_path,
            "INV-7,2024-01-05,C-999,X,Server Setup,1,100.00,100.00,Paid",
            "INV-7,2024-01-06,C-999,X,Server Setup,2,100.00,200.00,Paid",
            name="a.csv",
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="X")

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))

    assert Invoice.objects.get().qty == 1
    assert RejectedInvoice.objects.get(resolution__isnull=True).reason == "DUPLICATE_INVOICE_ID"
    assert (batch.rows_loaded, batch.rows_rejected) == (1, 1)


def test_resolved_rows_are_not_reprocessed_again(tmp_path):
    load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid", name="a.csv"
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))
    rejected_reprocess(rejected_ids=ids)

    with pytest.raises(ValueError, match=NOTHING_TO_REPROCESS):
        rejected_reprocess(rejected_ids=ids)


def test_a_query_of_rows_is_stored_by_the_database_its_unresolved_rows_only(tmp_path):
    load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid",
            "INV-2,2024-01-05,C-998,Other Co,Server Setup,1,10.00,10.00,Paid",
            "INV-3,2024-01-05,C-997,Third Co,Server Setup,1,10.00,10.00,Paid",
            "INV-4,2024-01-05,C-100,Acme,Server Setup,x,10.00,10.00,Paid",
            name="a.csv",
        )
    )
    unknown = RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").order_by("pk")
    first, second, third = unknown
    RejectedResolution.objects.create(rejected=first, batch=None, resolved_at=first.created_at)
    Customer.objects.create(customer_id="C-998", customer_name="Other Co")

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER"))

    assert sorted(batch.reprocess.rejected_ids) == [second.pk, third.pk]  # not the resolved row
    assert (batch.file_name, batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (
        "reprocess of 2 rows",
        2,
        1,
        1,
    )
    assert list(unknown.filter(resolution__isnull=True)) == [third]
    with pytest.raises(ValueError, match=NOTHING_TO_REPROCESS):
        reprocess_batches_create(rejected_ids=RejectedInvoice.objects.filter(pk=second.pk))
    assert LoadBatch.objects.count() == 2  # the load and the re-processing: none left empty


def test_an_updated_invoice_counts_as_updated(tmp_path):
    load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Pending", name="a.csv"
        )
    )
    load(
        write_invoices(tmp_path, "INV-1,2024-01-05,C-999,Acme,Server Setup,1,10.00,10.00,Paid", name="b.csv")
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))

    assert (batch.rows_inserted, batch.rows_updated, batch.rows_unchanged) == (0, 1, 0)
    assert Invoice.objects.get().status.status_name == "PAID"
    assert_aggregates_match_facts()  # the invoice moved from PENDING to PAID


def _fix_loop_file(tmp_path: Path) -> Path:
    """A generated file whose C-105 rows name an unknown customer, plus repeats on both sides.

    ``R-A``: unknown first, then a valid repeat; ``R-B``: valid first, then unknown;
    ``R-C``: valid, unknown, valid; ``R-D``: unknown twice; ``R-E``: unknown, then two valid.
    """
    path = invoice_file_generate(path=tmp_path / "fix.csv", rows=3_000, seed=31)
    text = path.read_text().replace(",C-105,", ",C-120,")
    unknown = "{id},2024-02-0{d},C-120,Tyrell Corp,Audit Service,1,2000.00,2000.00,Paid\n"
    valid = "{id},2024-03-0{d},C-101,Globex,API Access,{q},500.00,{t}.00,Pending\n"
    rows = {
        "R-A": [unknown, valid],
        "R-B": [valid, unknown],
        "R-C": [valid, unknown, valid],
        "R-D": [unknown, unknown],
        "R-E": [unknown, valid, valid],
    }
    lines = text.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    for invoice_id, kinds in rows.items():
        for n, kind in enumerate(kinds):
            line = kind.format(id=invoice_id, d=n + 1, q=n + 1, t=500 * (n + 1))
            body.insert((n + 1) * len(body) // (len(kinds) + 1), line)  # spread over the file
    path.write_text(header + "".join(body))
    return path


@pytest.mark.slow  # a file of three chunks loaded twice and re-processed
def test_reprocessing_after_adding_a_customer_equals_the_clean_load(tmp_path, settings):
    settings.INGEST_CHUNK_ROWS = 1_000  # the repeats fall in different chunks of the load
    fixed = _fix_loop_file(tmp_path)
    later = invoice_file_generate(path=tmp_path / "later.csv", rows=750, seed=32)  # overlaps INV-00001..

    load(fixed)
    load(later)
    Customer.objects.create(customer_id="C-120", customer_name="Tyrell Corp")
    unknown = RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER", resolution__isnull=True)
    assert unknown.count() > 100
    rejected_reprocess(rejected_ids=list(unknown.values_list("pk", flat=True)))
    assert_aggregates_match_facts()
    fixed_loop = warehouse_snapshot()
    duplicates = {
        r.invoice_id: r.source_row
        for r in RejectedInvoice.objects.filter(invoice_id__startswith="R-", resolution__isnull=True)
    }

    warehouse_clear()
    load(fixed)  # the customer exists from the start
    load(later)
    assert_aggregates_match_facts()

    assert fixed_loop == warehouse_snapshot()
    assert duplicates == {
        r.invoice_id: r.source_row for r in RejectedInvoice.objects.filter(invoice_id__startswith="R-")
    }
    assert Invoice.objects.get(invoice_id="R-A").customer.customer_id == "C-120"  # the earlier row won
    assert Invoice.objects.get(invoice_id="R-B").customer.customer_id == "C-101"


def test_a_row_displaced_by_an_earlier_one_stays_the_duplicate_when_reprocessed_again(tmp_path):
    first = load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-999,New Co,Server Setup,1,100.00,100.00,Paid",
            "INV-1,2024-01-05,C-100,Acme,Server Setup,2,100.00,200.00,Paid",
            name="a.csv",
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))
    displaced = RejectedInvoice.objects.get(resolution__isnull=True)
    assert (displaced.batch_id, displaced.source_row, displaced.reason) == (
        first.pk,
        3,
        "DUPLICATE_INVOICE_ID",
    )

    again = rejected_reprocess(rejected_ids=[displaced.pk])

    displaced.refresh_from_db()
    assert (displaced.reason, displaced.resolved_at) == ("DUPLICATE_INVOICE_ID", None)
    assert "already loaded from row 2" in displaced.detail
    assert (again.rows_loaded, again.rows_rejected) == (0, 1)
    assert Invoice.objects.get().customer.customer_id == "C-999"  # the first row's invoice


def test_a_later_load_keeps_its_invoice_and_the_rows_settle_as_in_their_file(tmp_path):
    fixed = write_invoices(
        tmp_path,
        "INV-5,2024-01-05,C-999,New Co,Server Setup,1,100.00,100.00,Paid",
        "INV-5,2024-01-06,C-999,New Co,Server Setup,2,100.00,200.00,Paid",
        "INV-6,2024-01-07,C-999,New Co,Server Setup,3,100.00,300.00,Paid",
        name="fixed.csv",
    )
    later = write_invoices(
        tmp_path, "INV-5,2024-02-01,C-100,Acme,API Access,4,500.00,2000.00,Pending", name="b.csv"
    )
    load(fixed)
    load(later)
    Customer.objects.create(customer_id="C-999", customer_name="New Co")

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))

    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (3, 2, 1, 1)
    assert RejectedInvoice.objects.get(resolution__isnull=True).source_row == 3  # INV-5's second row
    assert Invoice.objects.get(invoice_id="INV-5").total == Decimal("2000.00")  # the later load's
    assert Invoice.objects.get(invoice_id="INV-5").batch_id != batch.pk
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    load(fixed)  # the customer exists from the start
    load(later)
    assert warehouse_snapshot() == snapshot


def test_a_dry_run_counts_and_writes_nothing(tmp_path):
    load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid", name="a.csv"
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    before = warehouse_snapshot()

    [batch] = reprocess_batches_create(
        rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True), dry_run=True
    )

    assert (batch.status, batch.dry_run, batch.rows_read, batch.rows_loaded, batch.rows_inserted) == (
        "succeeded",
        True,
        1,
        1,
        1,
    )
    assert warehouse_snapshot() == before
    assert RejectedInvoice.objects.get().resolved_at is None


def test_a_cancelled_reprocessing_never_runs_and_leaves_the_rows(tmp_path):
    from ingestion.batches.dispatch import batch_cancel
    from ingestion.batches.services import invoice_file_ingest

    load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid", name="a.csv"
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    ids = RejectedInvoice.objects.values_list("pk", flat=True)
    with pytest.MonkeyPatch.context() as patch:  # queued, and no worker has it yet
        patch.setattr("ingestion.rejected.reprocess.batch_enqueue", lambda *, batch: "")
        [batch] = reprocess_batches_create(rejected_ids=ids)
    assert batch.status == "queued"

    batch_cancel(batch=batch)
    ran = invoice_file_ingest(batch_id=batch.pk)  # a late delivery of its message

    assert ran.status == "cancelled"
    assert RejectedInvoice.objects.get().resolved_at is None and not Invoice.objects.exists()


def test_a_reprocessing_whose_load_is_gone_fails_with_a_message(tmp_path):
    from django.db import connection

    from ingestion.batches.services import invoice_file_ingest
    from ingestion.rejected.reprocess_run import SOURCE_GONE

    first = load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid", name="a.csv"
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ingestion.rejected.reprocess.batch_enqueue", lambda *, batch: "")
        [batch] = reprocess_batches_create(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))
    with connection.cursor() as cursor:  # deleted behind the application's back
        cursor.execute("DELETE FROM load_batch WHERE id = %s", [first.pk])

    failed = invoice_file_ingest(batch_id=batch.pk)

    assert (failed.status, failed.error) == ("failed", SOURCE_GONE.format(batch_id=first.pk))
    assert (failed.rows_read, failed.rows_loaded) == (0, 0)
    assert RejectedInvoice.objects.get().resolved_at is None and not Invoice.objects.exists()


def test_rows_of_two_loads_are_reprocessed_by_one_batch_each(tmp_path):
    first = load(
        write_invoices(
            tmp_path, "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid", name="a.csv"
        )
    )
    second = load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-09,C-999,New Co,Server Setup,2,10.00,20.00,Paid",
            "INV-2,2024-01-09,C-998,Other,Server Setup,1,10.00,10.00,Paid",
            name="b.csv",
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")

    batches = reprocess_batches_create(
        rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True), source=LoadBatch.Source.API
    )

    assert [(b.status, b.file_name, b.rows_read, b.rows_loaded, b.source) for b in batches] == [
        ("succeeded", "reprocess of 1 rows", 1, 1, "api"),  # the batch split off keeps the source
        ("succeeded", "reprocess of 2 rows", 2, 1, "api"),
    ]
    assert [b.note.split(" (")[0] for b in batches] == [
        f"re-processing rejected rows of batch #{first.pk}",
        f"re-processing rejected rows of batch #{second.pk}",
    ]
    assert Invoice.objects.get(invoice_id="INV-1").qty == 2  # the later load's row
    assert RejectedInvoice.objects.get(resolution__isnull=True).reason == "UNKNOWN_CUSTOMER"
    assert_aggregates_match_facts()


def test_the_load_s_staging_is_searched_only_for_ids_the_warehouse_holds(tmp_path):
    """A load loaded a row for an invoice id only if the id is in the warehouse (facts are
    never deleted): with none of the ids there, no staging is searched for their lineage;
    with one there, staging is searched for it, and the earlier row still comes first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    load(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-100,Acme,Server Setup,1,10.00,10.00,Paid",
            "INV-2,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid",
            "INV-1,2024-01-06,C-999,New Co,Server Setup,5,10.00,50.00,Paid",
            name="a.csv",
        )
    )
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    [new] = RejectedInvoice.objects.filter(invoice_id="INV-2").values_list("pk", flat=True)

    def lineage_reads(ids) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            batch = rejected_reprocess(rejected_ids=ids)
        assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
        return [q["sql"] for q in captured if "stg_invoices s JOIN tmp_reprocess_invoices" in q["sql"]]

    assert lineage_reads([new]) == []
    assert Invoice.objects.get(invoice_id="INV-2").customer.customer_id == "C-999"
    repeat = RejectedInvoice.objects.unresolved().values_list("pk", flat=True)
    assert len(lineage_reads(repeat)) == 2  # the load's staging, then the first re-processing's
    assert Invoice.objects.get(invoice_id="INV-1").qty == 1  # the first row's, not the repeat's
    assert RejectedInvoice.objects.unresolved().get().reason == "DUPLICATE_INVOICE_ID"
    assert_aggregates_match_facts()


@pytest.mark.parametrize("chunk_rows", [1, 2, 4_000])
def test_rows_written_a_chunk_at_a_time_settle_as_the_whole_selection(tmp_path, settings, chunk_rows):
    """The selected rows go to the merge a chunk at a time while none names an invoice the
    warehouse has: an id repeated in a later chunk is still the later row. When a later chunk
    names a loaded invoice (here INV-2, loaded from row 4), the run starts over with the whole
    selection (the loaded row comes first in the file): nothing of the first try is left."""
    fixed = write_invoices(
        tmp_path,
        "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid",
        "INV-1,2024-01-06,C-999,New Co,Server Setup,2,10.00,20.00,Paid",
        "INV-2,2024-01-07,C-100,Acme,Server Setup,3,10.00,30.00,Paid",
        "INV-3,2024-01-08,C-999,New Co,Server Setup,4,10.00,40.00,Paid",
        "INV-2,2024-01-09,C-999,New Co,Server Setup,5,10.00,50.00,Paid",
        name="fixed.csv",
    )
    first = load(fixed)
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    settings.INGEST_CHUNK_ROWS = chunk_rows

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (4, 2, 2, 2)
    assert batch.reason_counts == {"DUPLICATE_INVOICE_ID": 2}
    left = RejectedInvoice.objects.unresolved().order_by("source_row")
    assert [(r.batch_id, r.source_row, r.reason) for r in left] == [
        (first.pk, 3, "DUPLICATE_INVOICE_ID"),
        (first.pk, 6, "DUPLICATE_INVOICE_ID"),
    ]
    assert "already loaded from row 4" in left[1].detail
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    load(fixed)  # the customer exists from the start
    assert warehouse_snapshot() == snapshot


@pytest.mark.parametrize("chunk_rows", [1, 3, 10, 4_000])
def test_the_outcome_written_a_chunk_at_a_time_equals_the_clean_load(tmp_path, settings, chunk_rows):
    """Streamed chunks (growing from a fifth of the chunk size), each one's outcome written
    as it goes (on MySQL, while the merger waits for it): rows that load are resolved, rows
    that now fail a later rule keep their record with that reason and its detail, an id
    repeated in a later chunk is the later row's duplicate. The warehouse equals a load of
    the file with the customer known from the start."""
    fixed = write_invoices(
        tmp_path,
        "INV-1,2024-01-05,C-999,New Co,Server Setup,1,10.00,10.00,Paid",
        "INV-2,2024-01-06,C-999,New Co,Server Setup,2,10.00,25.00,Paid",  # total mismatch
        "INV-3,2024-01-07,C-999,New Co,Server Setup,3,10.00,30.00,Paid",
        "INV-4,2024-01-08,C-100,Acme,Server Setup,4,10.00,40.00,Paid",  # loads the first time
        "INV-1,2024-01-09,C-999,New Co,Server Setup,5,10.00,50.00,Paid",  # a repeat of row 2
        "INV-5,2024-02-10,C-999,New Co,Server Setup,6,10.00,60.00,Pending",
        "INV-6,2024-02-11,C-999,New Co,Server Setup,7,10.00,71.00,Paid",  # total mismatch
        "INV-7,2024-02-12,C-999,New Co,Server Setup,8,10.00,80.00,Paid",
        name="fixed.csv",
    )
    first = load(fixed)
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    settings.INGEST_CHUNK_ROWS = chunk_rows
    selected = list(RejectedInvoice.objects.values_list("pk", flat=True))

    batch = rejected_reprocess(rejected_ids=selected)

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected, batch.rows_inserted) == (7, 4, 3, 4)
    assert batch.reason_counts == {"TOTAL_MISMATCH": 2, "DUPLICATE_INVOICE_ID": 1}
    resolved = RejectedResolution.objects.filter(batch=batch)
    assert sorted(resolved.values_list("rejected__source_row", flat=True)) == [2, 4, 7, 9]
    left = RejectedInvoice.objects.unresolved().order_by("source_row")
    assert [(r.pk in selected, r.batch_id, r.source_row, r.reason) for r in left] == [
        (True, first.pk, 3, "TOTAL_MISMATCH"),
        (True, first.pk, 6, "DUPLICATE_INVOICE_ID"),
        (True, first.pk, 8, "TOTAL_MISMATCH"),
    ]
    assert [r.detail.split(":")[0] for r in left] == [
        "TOTAL_MISMATCH",
        "DUPLICATE_INVOICE_ID",
        "TOTAL_MISMATCH",
    ]
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    load(fixed)  # the customer exists from the start
    assert warehouse_snapshot() == snapshot


@pytest.mark.parametrize(
    ("rows", "size", "sizes"),
    [(100_000, 50_000, [10_000, 20_000, 40_000, 30_000]), (7, 10, [2, 4, 1]), (3, 1, [1, 1, 1]), (0, 5, [])],
)
def test_the_chunks_grow_from_a_fifth_of_the_chunk_size(rows, size, sizes):
    from ingestion.rejected.reprocess_rows import chunks_growing

    chunks = chunks_growing(pd.Series(range(rows)), size)

    assert [len(c) for c in chunks] == sizes
    assert [v for c in chunks for v in c] == list(range(rows))


@pytest.mark.parametrize("chunk_rows", [1, 4_000])
def test_rows_whose_staging_was_pruned_are_read_from_their_rejected_records(tmp_path, settings, chunk_rows):
    """Retention removed the load's staging: the rows come from each rejected row's
    ``raw_record`` (the file's extra columns with them), chunk by chunk or whole, and settle
    as a load of the file with the fix in place would have: the rows that load, and those
    still failing with their raw record unchanged."""
    from ingestion.batches.services import staging_prune
    from warehouse.models import StagingInvoice

    columns = (*RAW_COLUMNS, "region")
    fixed = write_invoices(
        tmp_path,
        ("INV-1", "2024-01-05", "C-999", "New Co", "Server Setup", "1", "10.00", "10.00", "Paid", "North"),
        ("INV-2", "2024-01-06", "C-999", "New Co", "Server Setup", "2", "10.00", "25.00", "Paid", "South"),
        ("INV-3", "2024-01-07", "C-100", "Acme", "Server Setup", "3", "10.00", "30.00", "Paid", ""),
        ("INV-4", "2024-01-08", "C-999", "New Co", "Server Setup", "4", "10.00", "40.00", "Paid", "East"),
        name="fixed.csv",
        columns=columns,
    )
    load(fixed)
    assert staging_prune(ended_before=timezone.now() + dt.timedelta(days=1))[1] > 0
    assert not StagingInvoice.objects.exists()
    Customer.objects.create(customer_id="C-999", customer_name="New Co")
    settings.INGEST_CHUNK_ROWS = chunk_rows

    batch = rejected_reprocess(rejected_ids=RejectedInvoice.objects.values_list("pk", flat=True))

    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (3, 2, 1)
    assert RejectedInvoice.objects.unresolved().get().raw_record["region"] == "South"
    assert_aggregates_match_facts()
    snapshot = warehouse_snapshot()
    warehouse_clear()
    load(fixed)  # the customer exists from the start
    assert warehouse_snapshot() == snapshot
