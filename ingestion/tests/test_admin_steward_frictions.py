"""The data steward's small frictions: what to do next per reason, the rows still rejected
after a fix, a search that finds resolved rows, one date format, the upload link's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from ingestion.admin.filters import ResolvedFilter
from ingestion.pipeline.rules import Reason, reason_next_steps_markdown
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, LoadBatch, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
    "INV-4,2024-02-06,C-999,Newcomer Ltd,API Access,2,500,999,Paid",
    "INV-5,2024-02-07,C-101,Globex,API Access,2,500,999,Paid",
    "INV-6,2024-02-31,C-101,Globex,API Access,1,10,10,Paid",
    "INV-7,2024-02-08,C-102,Soylent,API Access,3,10,31,Paid",
    "INV-8,,C-102,Soylent,API Access,1,10,10,Paid",
)
STILL = ["INV-2", "INV-4", "INV-5", "INV-6", "INV-7", "INV-8"]
LIST_URL = reverse("admin:warehouse_rejectedinvoice_changelist")


@pytest.fixture
def batch(tmp_path) -> LoadBatch:
    return ingest(write_invoices(tmp_path, *ROWS, name="messy.csv"))


def listed(response) -> list[str]:
    return sorted(r.invoice_id for r in response.context["cl"].result_list)


def test_every_reason_says_what_to_do_next_and_the_manual_holds_the_table():
    assert all(len(reason.next_step) > 40 for reason in Reason)
    assert reason_next_steps_markdown() in Path("docs/admin.md").read_text(encoding="utf-8")


def test_the_list_says_what_to_do_next_for_its_reasons_largest_group_first(admin_client, batch):
    response = admin_client.get(LIST_URL)

    steps = response.context["next_steps"]
    assert [reason for reason, _ in steps] == ["INVALID_DATE", "TOTAL_MISMATCH", "UNKNOWN_CUSTOMER"]
    html = response.content.decode()
    assert 'id="reason-next-steps"' in html and Reason.INVALID_DATE.next_step.split("(")[0] in html
    only_dates = admin_client.get(LIST_URL, {"reason": "INVALID_DATE"})
    assert [reason for reason, _ in only_dates.context["next_steps"]] == ["INVALID_DATE"]


def test_a_row_page_says_what_to_do_next_for_each_of_its_reasons(admin_client, batch):
    row = RejectedInvoice.objects.get(invoice_id="INV-4")  # unknown customer, and a wrong total

    response = admin_client.get(reverse("admin:warehouse_rejectedinvoice_change", args=[row.pk]))

    assert [r for r, _ in response.context["next_steps"]] == ["UNKNOWN_CUSTOMER", "TOTAL_MISMATCH"]
    assert 'id="row-next-steps"' in response.content.decode()


def test_the_rows_still_rejected_after_a_fix_are_linked_from_its_message(admin_client, batch):
    Customer.objects.create(customer_id="C-999", customer_name="Newcomer Ltd")
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    response = admin_client.post(LIST_URL, {"action": "reprocess_rows", "_selected_action": ids}, follow=True)

    html = response.content.decode()
    assert "1 loaded, 6 still rejected" in html
    link = html.split('id="still-rejected"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert listed(admin_client.get(link)) == STILL
    fixed = RejectedInvoice.objects.filter(invoice_id="INV-3").values_list("pk", flat=True)
    Customer.objects.create(customer_id="C-998", customer_name="Nobody")
    again = admin_client.post(
        reverse("admin:warehouse_rejectedinvoice_reprocess", args=[fixed[0]]), follow=True
    )
    assert 'id="still-rejected"' not in again.content.decode()  # nothing still rejected: no link


@pytest.mark.parametrize(
    ("params", "expected", "selected"),
    [
        ({"q": "INV-3"}, ["INV-3"], "All"),  # resolved: found by a search, with no filter chosen
        ({"q": "Newcomer"}, ["INV-3", "INV-4"], "All"),
        ({"q": "Newcomer", "resolved": "no"}, ["INV-4"], "Unresolved"),
        ({"q": "Newcomer", "resolved": "yes"}, ["INV-3"], "Resolved"),
        ({}, STILL, "Unresolved"),  # no search: the work left
    ],
)
def test_a_search_looks_through_resolved_rows_unless_the_resolved_filter_is_chosen(
    admin_client, batch, params, expected, selected
):
    Customer.objects.create(customer_id="C-999", customer_name="Newcomer Ltd")
    admin_client.post(
        LIST_URL,
        {
            "action": "reprocess_rows",
            "_selected_action": [RejectedInvoice.objects.get(invoice_id="INV-3").pk],
        },
    )

    response = admin_client.get(LIST_URL, params)

    assert listed(response) == expected
    chosen = next(f for f in response.context["cl"].filter_specs if isinstance(f, ResolvedFilter))
    assert [c["display"] for c in chosen.choices(response.context["cl"]) if c["selected"]] == [selected]


def test_dates_read_the_same_on_the_batch_and_rejected_pages(admin_client, batch):
    batch.refresh_from_db()
    expected = date_format(timezone.localtime(batch.started_at), "DATETIME_FORMAT")
    row = RejectedInvoice.objects.filter(batch=batch).first()
    assert row is not None

    pages = {
        "batch list": admin_client.get(reverse("admin:warehouse_loadbatch_changelist")),
        "batch page": admin_client.get(reverse("admin:warehouse_loadbatch_change", args=[batch.pk])),
    }
    row_page = admin_client.get(reverse("admin:warehouse_rejectedinvoice_change", args=[row.pk]))

    for name, response in pages.items():
        assert expected in response.content.decode(), name
    assert date_format(timezone.localtime(row.created_at), "DATETIME_FORMAT") in row_page.content.decode()
    assert batch.started_at.strftime("%Y-%m-%d %H:%M") not in pages["batch list"].content.decode()


def test_the_upload_link_says_upload_a_file(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    batches = admin_client.get(reverse("admin:warehouse_loadbatch_changelist")).content.decode()

    row = index.split('class="model-loadbatch')[1].split("</tr>")[0]
    assert ">Upload a file</a>" in row and ">Add</a>" not in row
    assert ">Upload a file</a>" in batches
    customers = index.split('class="model-customer')[1].split("</tr>")[0]
    assert ">Add</a>" in customers  # other models keep Django's word
