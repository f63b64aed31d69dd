"""The rejected-rows workbench: filters, search, readable raw record, counts, re-process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

COLUMNS = (*RAW_COLUMNS, "note")
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid,ok",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending,bad date",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid,new customer",
    "INV-4,2024-02-06,C-998,Other New,API Access,2,500,999,Paid,new customer and bad total",
)
LIST_URL = reverse("admin:warehouse_rejectedinvoice_changelist")


@pytest.fixture
def batch(tmp_path) -> LoadBatch:
    return ingest(write_invoices(tmp_path, *ROWS, name="messy.csv", columns=COLUMNS))


def listed(response) -> list[str]:
    return sorted(r.invoice_id for r in response.context["cl"].result_list)


def test_counts_per_reason_are_shown_for_the_current_filter(admin_client, batch):
    response = admin_client.get(LIST_URL)

    assert [(r, n) for r, n, _ in response.context["reason_counts"]] == [
        ("UNKNOWN_CUSTOMER", 2),
        ("INVALID_DATE", 1),
    ]
    assert 'id="reason-counts"' in response.content.decode()
    filtered = admin_client.get(LIST_URL, {"reason": "INVALID_DATE"})
    assert [(r, n) for r, n, _ in filtered.context["reason_counts"]] == [("INVALID_DATE", 1)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reason": "UNKNOWN_CUSTOMER"}, ["INV-3", "INV-4"]),
        ({"file_name": "messy.csv"}, ["INV-2", "INV-3", "INV-4"]),
        ({"resolved": "no"}, ["INV-2", "INV-3", "INV-4"]),
        ({"resolved": "yes"}, []),
        ({"q": "INV-2"}, ["INV-2"]),
        ({"q": "newcomer"}, ["INV-3"]),
        ({"q": "C-998"}, ["INV-4"]),
        ({"q": "new", "reason": "UNKNOWN_CUSTOMER"}, ["INV-3", "INV-4"]),
    ],
)
def test_filters_and_search(admin_client, batch, params, expected):
    response = admin_client.get(LIST_URL, params)
    assert response.status_code == 200
    assert listed(response) == expected


def test_filter_by_batch_and_date(admin_client, batch, tmp_path):
    ingest(
        write_invoices(
            tmp_path, "X-1,2024-13-01,C-100,Acme,Server Setup,1,1,1,Paid,", name="other.csv", columns=COLUMNS
        )
    )

    assert listed(admin_client.get(LIST_URL, {"batch__id__exact": batch.pk})) == ["INV-2", "INV-3", "INV-4"]
    today = batch.created_at.date().isoformat()
    assert len(listed(admin_client.get(LIST_URL, {"created_at__gte": today}))) == 4


def test_the_file_filter_offers_each_file_with_rejected_rows_once_and_reads_no_list_of_them(
    admin_client, batch, tmp_path
):
    bad_date = "{},2024-13-01,C-100,Acme,Server Setup,1,1,1,Paid"
    ingest(write_invoices(tmp_path, bad_date.format("X-1"), name="other.csv"))
    ingest(write_invoices(tmp_path / "again", bad_date.format("X-2"), name="other.csv"))
    ingest(
        write_invoices(tmp_path, "OK-1,2024-01-05,C-100,Acme,Server Setup,1,1.00,1.00,Paid", name="ok.csv")
    )

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LIST_URL)

    [facet] = [f for f in response.context["cl"].filter_specs if f.title == "file name"]
    assert [c[0] for c in facet.lookup_choices] == ["messy.csv", "other.csv"]  # ok.csv rejected nothing
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert listed(admin_client.get(LIST_URL, {"file_name": "other.csv"})) == ["X-1", "X-2"]


def test_the_raw_record_is_a_table_with_the_failing_fields_highlighted(admin_client, batch):
    row = RejectedInvoice.objects.get(invoice_id="INV-4")
    html = admin_client.get(reverse("admin:warehouse_rejectedinvoice_change", args=[row.pk])).content.decode()

    assert 'class="ingestion-raw"' in html
    # UNKNOWN_CUSTOMER first, TOTAL_MISMATCH also in the detail: all four fields are marked.
    for field in ("customer_id", "qty", "unit_price", "total"):
        assert f'<tr class="ingestion-failing"><th scope="row">{field}</th>' in html
    assert '<tr><th scope="row">issue_date</th>' in html
    assert (
        '<tr><th scope="row">note</th><td><code>new customer and bad total</code></td>'
        "<td>extra column</td></tr>" in html
    )
    assert '<th scope="col">value as read</th><th scope="col">finding</th>' in html  # no empty header


def test_reprocess_loads_a_row_once_its_customer_is_added_in_the_admin(admin_client, batch):
    response = admin_client.post(
        reverse("admin:warehouse_customer_add"), {"customer_id": "c-999", "customer_name": "Newcomer Ltd"}
    )
    assert response.status_code == 302
    assert Customer.objects.filter(customer_id="C-999").exists()  # normalised like the load's lookup
    ids = list(RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").values_list("pk", flat=True))

    response = admin_client.post(LIST_URL, {"action": "reprocess_rows", "_selected_action": ids}, follow=True)

    assert "1 loaded, 1 still rejected" in response.content.decode()
    invoice = Invoice.objects.get(invoice_id="INV-3")
    reprocess = LoadBatch.objects.get(pk=invoice.batch_id)
    assert (reprocess.source, reprocess.file_name) == ("admin", "reprocess of 2 rows")
    assert RejectedInvoice.objects.get(invoice_id="INV-3").resolved_by_batch_id == reprocess.pk
    assert RejectedInvoice.objects.get(invoice_id="INV-4").reason == "UNKNOWN_CUSTOMER"  # C-998 still unknown
    assert listed(admin_client.get(LIST_URL, {"resolved": "yes"})) == ["INV-3"]


def test_reprocess_needs_the_change_permission(staff_user, logged_in, batch):
    client = logged_in(staff_user("viewer", "view_rejectedinvoice"))

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert "reprocess_rows" not in response.content.decode()
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))
    client.post(LIST_URL, {"action": "reprocess_rows", "_selected_action": ids})
    assert not RejectedInvoice.objects.filter(resolution__isnull=False).exists()


def test_rejected_rows_are_read_only(admin_client, batch):
    row = RejectedInvoice.objects.first()
    assert row is not None
    url = reverse("admin:warehouse_rejectedinvoice_change", args=[row.pk])
    admin_client.post(url, {"reason": "X"})
    row.refresh_from_db()
    assert row.reason != "X"
    assert admin_client.get(reverse("admin:warehouse_rejectedinvoice_add")).status_code == 403
