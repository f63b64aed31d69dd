"""The data steward's workbench: branding, the outcome-first batch page and fixing in place."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from ingestion.admin.views import batch_outcome_message
from ingestion.admin.wording import detail_sentence
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, Item, LoadBatch, RejectedInvoice, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
    "INV-4,2024-02-06,c-999,,Quantum Widget,2,500,1000,Paid",
    "INV-5,2024-02-07,C-998,Other New,API Access,1,500,500,Shipped",
)
LIST_URL = reverse("admin:warehouse_rejectedinvoice_changelist")


@pytest.fixture
def batch(tmp_path) -> LoadBatch:
    return ingest(write_invoices(tmp_path, *ROWS, name="messy.csv"))


def row_url(invoice_id: str) -> str:
    row = RejectedInvoice.objects.get(invoice_id=invoice_id)
    return reverse("admin:warehouse_rejectedinvoice_change", args=[row.pk])


def listed(response) -> list[str]:
    return sorted(r.invoice_id for r in response.context["cl"].result_list)


def test_the_admin_is_branded_and_its_index_grouped_by_task(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "<title>Loads, rejected rows and reference data | Invoice warehouse</title>" in html
    assert "Django administration" not in html
    captions = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)
    assert captions[:4] == ["Loads", "Rejected rows", "Reference data", "Warehouse facts"]
    assert "Authentication and Authorization" in captions
    reference = html.split(">Reference data<")[1].split("</table>")[0]
    assert [m for m in ("Customers", "Items", "Statuses") if m in reference] == [
        "Customers",
        "Items",
        "Statuses",
    ]
    # Per-app pages and every URL name are Django's own.
    assert admin_client.get(reverse("admin:app_list", args=["warehouse"])).status_code == 200


def test_the_batch_page_puts_the_outcome_first_with_numbers_formatted_alike(admin_client):
    start = timezone.now() - dt.timedelta(seconds=10)
    batch = LoadBatch.objects.create(
        file_name="big.csv",
        status="succeeded",
        rows_read=12_345,
        rows_loaded=11_000,
        rows_inserted=10_000,
        rows_updated=600,
        rows_unchanged=400,
        rows_rejected=1_345,
        reason_counts={"UNKNOWN_CUSTOMER": 1_300, "INVALID_DATE": 45},
        started_at=start,
        finished_at=start + dt.timedelta(seconds=5),
        file_path="/gone/big.csv",
    )

    html = admin_client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk])).content.decode()

    summary = html.split('id="batch-summary"')[1].split("</section>")[0]
    assert html.index('id="batch-summary"') < html.index('class="module aligned')  # above the fields
    assert batch_outcome_message(batch)[1] in summary
    assert ">12,345<" in summary and ">11,000<" in summary and ">1,345<" in summary
    assert "10,000 new · 600 updated · 400 unchanged" in summary
    assert "10.9% of the rows read" in summary and "5.0 s" in summary and "2,469 rows/s" in summary
    assert f"batch__id__exact={batch.pk}&amp;reason=UNKNOWN_CUSTOMER" in summary
    assert "<strong>1,300</strong> UNKNOWN_CUSTOMER" in summary
    # The likely next step first, re-run last.
    assert summary.index("See the 1,345 rejected rows") < summary.index("Re-run (forced, as a new batch)")


def test_a_running_batch_says_when_its_worker_was_last_seen(admin_client):
    batch = LoadBatch.objects.create(
        file_name="slow.csv",
        status="running",
        stage="loading",
        rows_done=2_000,
        rows_total=8_000,
        heartbeat_at=timezone.now() - dt.timedelta(seconds=7),
    )
    html = admin_client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk])).content.decode()
    summary = html.split('id="batch-summary"')[1].split("</section>")[0]
    assert re.search(r"25% · 2,000 / 8,000 rows · running \(loading\) · last seen [78] s ago", summary)
    assert "Cancel this batch" in summary


def test_the_batch_list_shows_its_key_columns(admin_client, batch):
    html = admin_client.get(reverse("admin:warehouse_loadbatch_changelist")).content.decode()
    heads = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert heads == [
        "id",
        "file_name",
        "status_display",
        "read_display",
        "loaded_display",
        "rejected_display",
        "rejection_rate",
        "duration",
        "when",
    ]


def test_details_read_in_plain_words_and_the_stored_detail_is_kept(admin_client, batch):
    row = RejectedInvoice.objects.get(invoice_id="INV-3")
    assert row.detail == "UNKNOWN_CUSTOMER: customer_id 'C-999' is not in dim_customer"

    listing = admin_client.get(LIST_URL).content.decode()
    page = admin_client.get(row_url("INV-3")).content.decode()

    assert "Customer C-999 (Newcomer Ltd) is not in the customer list" in listing
    assert "Customer C-999 (Newcomer Ltd) is not in the customer list" in page
    assert (
        detail_sentence("TOTAL_MISMATCH: total 999 != qty 2 x unit_price 500 = 1000.00", {})
        == "Total 999 differs from quantity 2 x unit price 500 = 1000.00"
    )
    four = RejectedInvoice.objects.get(invoice_id="INV-4")
    assert detail_sentence(four.detail, four.raw_record) == (
        "Customer c-999 is not in the customer list; item \u201cQuantum Widget\u201d is not in the item list"
    )


def test_a_row_page_adds_its_missing_customer_prefilled_and_returns_to_the_row(admin_client, batch):
    page = admin_client.get(row_url("INV-3")).content.decode()
    button = re.search(r'<a class="button default ingestion-fix-add" href="([^"]+)">([^<]+)</a>', page)
    assert button is not None
    assert button.group(2) == "Add customer C-999 (Newcomer Ltd)"
    add_url = button.group(1).replace("&amp;", "&")

    form = admin_client.get(add_url).content.decode()
    assert 'value="C-999"' in form and 'value="Newcomer Ltd"' in form

    response = admin_client.post(add_url, {"customer_id": " c-999 ", "customer_name": "Newcomer Ltd"})

    assert response.status_code == 302 and response["Location"] == row_url("INV-3")
    assert Customer.objects.get(customer_id="C-999").customer_name == "Newcomer Ltd"  # normalised
    assert "Add customer" not in admin_client.get(row_url("INV-3")).content.decode()


def test_the_add_form_never_returns_to_another_site(admin_client):
    url = reverse("admin:warehouse_customer_add") + "?next=https://evil.example/"
    response = admin_client.post(url, {"customer_id": "C-1", "customer_name": "X"})
    assert response["Location"] == reverse("admin:warehouse_customer_changelist")


def test_a_row_page_offers_items_and_statuses_too(admin_client, batch):
    items = admin_client.get(row_url("INV-4")).content.decode()
    statuses = admin_client.get(row_url("INV-5")).content.decode()
    assert "Add item \u201cQuantum Widget\u201d" in items and "Add customer C-999" in items
    assert "Add status SHIPPED" in statuses and "status_name=SHIPPED" in statuses


def test_reprocess_this_row(admin_client, batch):
    Customer.objects.create(customer_id="C-999", customer_name="Newcomer Ltd")
    row = RejectedInvoice.objects.get(invoice_id="INV-3")
    url = reverse("admin:warehouse_rejectedinvoice_reprocess", args=[row.pk])
    assert 'id="reprocess-row"' in admin_client.get(row_url("INV-3")).content.decode()
    assert admin_client.get(url).status_code == 405

    response = admin_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == row_url("INV-3")
    assert (
        "Re-processed 1 rows" in response.content.decode()
        and "1 loaded, 0 still rejected" in response.content.decode()
    )
    assert Invoice.objects.filter(invoice_id="INV-3").exists()
    assert not RejectedInvoice.objects.filter(invoice_id="INV-4", resolution__isnull=False).exists()
    assert 'id="reprocess-row"' not in response.content.decode()  # resolved now


def test_reprocess_this_row_needs_the_reprocess_permission(staff_user, logged_in, batch):
    client = logged_in(staff_user("viewer", "view_rejectedinvoice"))
    row = RejectedInvoice.objects.get(invoice_id="INV-3")

    page = client.get(row_url("INV-3")).content.decode()
    response = client.post(reverse("admin:warehouse_rejectedinvoice_reprocess", args=[row.pk]))

    assert 'id="reprocess-row"' not in page and "Add customer" not in page  # no add_customer either
    assert response.status_code == 403
    assert RejectedInvoice.objects.get(pk=row.pk).resolved_at is None


def test_the_list_action_adds_the_unknown_customers_and_items_then_offers_to_reprocess(admin_client, batch):
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    response = admin_client.post(LIST_URL, {"action": "add_unknowns", "_selected_action": ids})

    html = response.content.decode()
    assert Customer.objects.get(customer_id="C-999").customer_name == "Newcomer Ltd"  # first name given
    assert Customer.objects.get(customer_id="C-998").customer_name == "Other New"
    assert Item.objects.filter(item_description="Quantum Widget").count() == 1
    assert not Status.objects.filter(status_name="SHIPPED").exists()  # statuses: per row only
    assert "customer C-999 (Newcomer Ltd)" in html and "item \u201cQuantum Widget\u201d" in html
    form = html.split('id="reprocess-selected"')[1].split("</form>")[0]
    posted = re.findall(r'name="_selected_action" value="(\d+)"', form)
    assert sorted(map(int, posted)) == sorted(ids)
    assert "Re-process the 4 selected rows" in form

    response = admin_client.post(
        LIST_URL, {"action": "reprocess_rows", "_selected_action": posted}, follow=True
    )

    assert "4 rows" in response.content.decode() and "2 loaded, 2 still rejected" in response.content.decode()
    assert set(Invoice.objects.values_list("invoice_id", flat=True)) == {"INV-1", "INV-3", "INV-4"}
    # Resolved rows leave the default list; the filter shows them.
    assert listed(response) == ["INV-2", "INV-5"]
    assert listed(admin_client.get(LIST_URL, {"resolved": "yes"})) == ["INV-3", "INV-4"]
    assert listed(admin_client.get(LIST_URL, {"resolved": "all"})) == ["INV-2", "INV-3", "INV-4", "INV-5"]


def test_the_add_action_needs_an_add_permission(staff_user, logged_in, batch):
    client = logged_in(staff_user("fixer", "view_rejectedinvoice", "add_item"))
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    client.post(LIST_URL, {"action": "add_unknowns", "_selected_action": ids})

    assert Item.objects.filter(item_description="Quantum Widget").exists()
    assert not Customer.objects.filter(customer_id__in=["C-998", "C-999"]).exists()  # no add_customer


def test_the_default_filter_is_unresolved(admin_client, batch):
    html = admin_client.get(LIST_URL).content.decode()
    sidebar = html.split('id="changelist-filter"')[1]
    assert re.search(r'<li class="selected">\s*<a href="\?resolved=no"', sidebar)


def test_admin_url_names_come_from_the_model_options():
    root = Path(__file__).resolve().parents[1]
    sources = [*(root / "admin").glob("*.py"), *(root / "templates").rglob("*.html")]  # views.py is in admin/
    typed = [
        str(p) for p in sources if re.search(r"admin:warehouse_(loadbatch|rejectedinvoice)_", p.read_text())
    ]
    assert typed == []


def test_the_add_action_over_all_rows_of_a_filter_reprocesses_that_filter(admin_client, batch):
    one = RejectedInvoice.objects.get(invoice_id="INV-3").pk
    query = f"?batch__id__exact={batch.pk}"

    response = admin_client.post(
        LIST_URL + query, {"action": "add_unknowns", "_selected_action": [one], "select_across": "1"}
    )

    form = response.content.decode().split('id="reprocess-selected"')[1].split("</form>")[0]
    assert 'name="select_across" value="1"' in form and form.count('name="_selected_action"') == 1
    assert "Re-process the 4 selected rows" in form and f"batch__id__exact={batch.pk}" in form
    assert Customer.objects.filter(customer_id__in=["C-998", "C-999"]).count() == 2

    response = admin_client.post(
        LIST_URL + query,
        {"action": "reprocess_rows", "select_across": "1", "_selected_action": [one]},
        follow=True,
    )
    assert "2 loaded, 2 still rejected" in response.content.decode()


def test_the_batch_page_formats_every_count_and_the_file_size(admin_client, batch):
    LoadBatch.objects.filter(pk=batch.pk).update(size_bytes=1_234_567)
    html = admin_client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk])).content.decode()
    assert "1.2\xa0MB (1,234,567 bytes)" in html
    assert "Rows read:" not in html  # the counts are in the summary, formatted
