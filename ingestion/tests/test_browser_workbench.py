"""The data steward's workbench in the real Chromium: the batch list fits 1400 px, and the
25 rows of an unknown customer are fixed from the rejected list in at most 6 actions.

Saves admin-batches.png, admin-batch.png, admin-rejected-row.png and admin-fix.png (to docs/
under `make screenshots`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, LoadBatch, RejectedInvoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]

MAX_ACTIONS = 6


@pytest.fixture
def context(chromium, browser_login):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([browser_login])
    yield context
    context.close()


def tyrell_file(tmp_path):
    """25 valid rows of customer C-120 (Tyrell Corp), who is not in the customer list."""
    prices = {n: Decimal(f"100.{n:02d}") for n in range(1, 26)}
    lines = [
        f"TYR-{n:03d},2024-03-{n:02d},C-120,Tyrell Corp,API Access,{n},{price},{n * price:.2f},Paid"
        for n, price in prices.items()
    ]
    path = write_invoices(tmp_path, *lines, name="tyrell-march.csv")
    return path, sum(n * price for n, price in prices.items())


def dashboard_totals(page, url) -> tuple[Decimal, int]:
    page.goto(f"{url}/visualization/dashboard/")
    revenue = page.inner_text("#kpi-revenue .value")
    invoices = page.inner_text("#kpi-invoices .value")
    return Decimal(revenue.replace("$", "").replace(",", "")), int(invoices.replace(",", ""))


def test_the_batch_list_fits_1400_px(context, live_server, seed_file, tmp_path, screenshot):
    ingest(seed_file)
    LoadBatch.objects.create(
        file_name="finance-export-full-year-2024-all-regions-final-v2.csv",
        status="succeeded",
        rows_read=10_000_000,
        rows_loaded=9_876_543,
        rows_inserted=9_000_000,
        rows_updated=876_543,
        rows_rejected=123_457,
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/warehouse/loadbatch/")

    table = page.eval_on_selector(
        ".results",
        "e => ({scroll: e.scrollWidth, client: e.clientWidth,"
        " right: Math.max(...[...e.querySelectorAll('th')].map(th => th.getBoundingClientRect().right))})",
    )
    heads = page.locator("#result_list thead th").all_inner_texts()
    screenshot(page, "admin-batches.png")

    assert table["scroll"] <= table["client"], table
    assert table["right"] <= 1400, table
    for column in ("FILE NAME", "STATUS", "READ", "LOADED", "REJECTED", "REJECTED %", "DURATION", "WHEN"):
        assert column in [h.strip().upper() for h in heads]
    assert page.locator("#result_list").inner_text().count("10,000,000") == 1


def test_25_rows_of_an_unknown_customer_are_fixed_in_at_most_6_actions(
    context, live_server, seed_file, tmp_path, screenshot
):
    ingest(seed_file)
    path, tyrell_sum = tyrell_file(tmp_path)
    batch = ingest(path)
    assert (batch.rows_rejected, batch.reason_counts) == (25, {"UNKNOWN_CUSTOMER": 25})
    page = context.new_page()
    revenue_before, invoices_before = dashboard_totals(page, live_server.url)
    page.goto(f"{live_server.url}/admin/warehouse/loadbatch/{batch.pk}/change/")
    assert page.inner_text("#summary-rejected") == "25"
    screenshot(page, "admin-batch.png")
    row = RejectedInvoice.objects.filter(batch=batch).first()
    assert row is not None
    page.goto(f"{live_server.url}/admin/warehouse/rejectedinvoice/{row.pk}/change/")
    assert page.inner_text(".ingestion-fix-add") == "Add customer C-120 (Tyrell Corp)"
    screenshot(page, "admin-rejected-row.png")
    page.goto(f"{live_server.url}/admin/warehouse/rejectedinvoice/")
    assert "Customer C-120 (Tyrell Corp) is not in the customer list" in page.inner_text("#result_list")

    actions = []

    def act(what: str, step) -> None:
        actions.append(what)
        step()

    act("filter by the batch", lambda: page.click(f"#changelist-filter >> text=#{batch.pk} tyrell-march.csv"))
    page.wait_for_url(f"**batch__id__exact={batch.pk}**")
    assert page.locator("#result_list tbody tr").count() == 25
    act("select all rows", lambda: page.check("#action-toggle"))
    act("choose the add action", lambda: page.select_option("select[name=action]", "add_unknowns"))
    act("run it", lambda: page.click("button[name=index]"))
    page.wait_for_selector("#added-unknowns")
    assert page.inner_text("#added-unknowns") == "customer C-120 (Tyrell Corp)"
    screenshot(page, "admin-fix.png")
    act("re-process the rows", lambda: page.click("#reprocess-selected input[type=submit]"))
    page.wait_for_selector(".messagelist")

    print(f"fix loop: {len(actions)} actions: {', '.join(actions)}")
    assert len(actions) <= MAX_ACTIONS
    assert "25 loaded, 0 still rejected" in page.inner_text(".messagelist")
    assert page.locator("#result_list tbody tr").count() == 0  # resolved rows left the default list
    assert Customer.objects.get(customer_id="C-120").customer_name == "Tyrell Corp"
    assert Invoice.objects.filter(invoice_id__startswith="TYR-").count() == 25
    assert not RejectedInvoice.objects.filter(batch=batch, resolution__isnull=True).exists()
    revenue_after, invoices_after = dashboard_totals(page, live_server.url)
    assert revenue_after - revenue_before == tyrell_sum
    assert invoices_after - invoices_before == 25
