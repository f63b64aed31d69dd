"""The data steward in the real Chromium: an upload that would update invoices previewed and
loaded once confirmed; the rejected list at 1440 px (every column in sight, one line per row,
what to do next for its largest groups first); a single rejected row fixed from its page in at
most 3 actions (the 25-row fix is counted in test_browser_workbench).

Saves admin-preview.png and admin-rejected-list.png (to docs/ under `make screenshots`).
"""

from __future__ import annotations

import pytest

from ingestion.tests.files import ingest, write_invoices
from ingestion.tests.test_previews import LOADED, UPDATE
from warehouse.models import Customer, Invoice, LoadBatch, RejectedInvoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]

MAX_SINGLE_ROW_ACTIONS = 3
LONG_NAME = "Weyland-Yutani Corporation Interstellar Logistics and Terraforming Division"


@pytest.fixture
def context(chromium, browser_login):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([browser_login])
    yield context
    context.close()


def test_the_rejected_list_fits_1440_px_one_line_per_row(
    context, live_server, seed_file, tmp_path, screenshot
):
    ingest(seed_file)
    ingest(
        write_invoices(
            tmp_path,
            f"WY-1,2024-02-30,C-777,{LONG_NAME},API Access,3,19.99,61.00,Pending",
            name="a-very-long-export-name-from-the-regional-finance-system-2024-q1-final.csv",
        )
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/warehouse/rejectedinvoice/")

    table = page.eval_on_selector(
        ".results",
        "e => ({scroll: e.scrollWidth, client: e.clientWidth, heights: [...e.querySelectorAll('tbody tr')]"
        ".map(r => r.getBoundingClientRect().height), right: Math.max(...[...e.querySelectorAll('th')]"
        ".map(th => th.getBoundingClientRect().right))})",
    )
    screenshot(page, "admin-rejected-list.png")
    heads = [h.strip().upper() for h in page.locator("#result_list thead th").all_inner_texts()]
    steps = page.locator("#reason-next-steps dt").all_inner_texts()
    chips = page.locator("#reason-counts a").all_inner_texts()

    assert table["scroll"] <= table["client"], table
    assert table["right"] <= 1440, table
    assert "RESOLVED" in heads and "DETAIL" in heads
    assert max(table["heights"]) <= 1.5 * min(table["heights"]), sorted(set(table["heights"]))
    assert steps == [chip.split(" ", 1)[1] for chip in chips]  # the largest group first
    assert steps[0] == "INVALID_DATE" and "TOTAL_MISMATCH" in steps[:3]  # the reference export's largest


def test_a_single_rejected_row_is_fixed_in_at_most_3_actions(context, live_server, tmp_path):
    batch = ingest(
        write_invoices(
            tmp_path, "TYR-900,2024-03-05,C-130,Tyrell Corp,API Access,2,50,100,Paid", name="one.csv"
        )
    )
    row = RejectedInvoice.objects.get(batch=batch)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/warehouse/rejectedinvoice/{row.pk}/change/")
    assert "UNKNOWN_CUSTOMER" in page.inner_text("#row-next-steps")

    actions = []

    def act(what: str, step) -> None:
        actions.append(what)
        step()

    act("add the customer", lambda: page.click("text=Add customer C-130 (Tyrell Corp)"))
    page.wait_for_selector("input[name=customer_id]")
    act("save it", lambda: page.click("input[name=_save]"))
    page.wait_for_url(f"**/rejectedinvoice/{row.pk}/change/")
    act("re-process the row", lambda: page.click("input[value='Re-process this row']"))
    page.wait_for_selector(".messagelist")

    print(f"single-row fix: {len(actions)} actions: {', '.join(actions)}")
    assert len(actions) <= MAX_SINGLE_ROW_ACTIONS
    assert "1 loaded, 0 still rejected" in page.inner_text(".messagelist")
    assert "Resolved" in page.inner_text("#row-fix")
    assert Customer.objects.get(customer_id="C-130").customer_name == "Tyrell Corp"
    assert Invoice.objects.get(invoice_id="TYR-900").total == 100
    assert RejectedInvoice.objects.get(pk=row.pk).resolved_at is not None


def test_an_upload_that_updates_invoices_is_previewed_and_loaded_once_confirmed(
    context, live_server, tmp_path, settings, screenshot
):
    settings.MEDIA_ROOT = tmp_path / "media"
    ingest(write_invoices(tmp_path, *LOADED, name="january.csv"))
    update = write_invoices(tmp_path / "upload", *UPDATE, name="january-corrected.csv")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.click("text=Upload a file")
    page.set_input_files("input[name=files]", str(update))
    page.click("input[name=_upload]")
    page.wait_for_selector("#preview")

    assert "would update 2 existing invoices" in page.inner_text(".messagelist")
    assert page.inner_text("#preview-summary").startswith("It would add 1 new invoices, update 2")
    changes = page.inner_text("#preview-changes")
    assert "INV-1" in changes and "PENDING" in changes and "PAID" in changes
    assert Invoice.objects.get(invoice_id="INV-1").status.status_name == "PENDING"  # nothing written yet
    screenshot(page, "admin-preview.png")

    page.click("#load-file")
    page.wait_for_selector("#batch-summary")

    load = LoadBatch.objects.get(file_name="january-corrected.csv", dry_run=False)
    assert page.url.endswith(f"/loadbatch/{load.pk}/change/")
    assert (load.status, load.rows_updated, load.rows_inserted) == ("succeeded", 2, 1)
    assert Invoice.objects.get(invoice_id="INV-1").status.status_name == "PAID"
