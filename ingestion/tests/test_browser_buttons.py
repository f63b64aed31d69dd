"""Every action button on the batch page, a rejected row's page and a customer's page, clicked
in the real Chromium by the data steward and by a superuser: none answers 4xx or 5xx.

The admin's change page is one form; a button there that posts somewhere else (cancel,
re-run, re-process) must carry its own form, or the browser posts the change form instead.
"""

from __future__ import annotations

import pytest

from api.permissions import ROLES
from ingestion.services import batch_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, LoadBatch, RejectedInvoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]

# What a user clicks on a change page: the object tools, the page's own buttons and links,
# and the admin's submit row (save, export, delete).
BUTTONS = ", ".join(
    (
        "#content .object-tools a",
        "#content-main .ingestion-batch-actions a",
        "#content-main .ingestion-batch-actions input[type=submit]",
        "#content-main a.ingestion-reason-chip",
        "#content-main .submit-row input[type=submit]",
        "#content-main .submit-row a",
    )
)
LABELS = "els => els.map(e => (e.value || e.textContent).trim())"
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
)


@pytest.fixture(params=["Data steward", "superuser"])
def session(request, staff_user, django_user_model, logged_in, live_server):
    """The session cookie of a user with the role's permissions (or of a superuser)."""
    if request.param == "superuser":
        user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    else:
        user = staff_user("steward", *(perm.split(".", 1)[1] for perm in ROLES[request.param]))
    client = logged_in(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def click_every_button(context, url: str) -> list[str]:
    """Click each button of the page at ``url`` (the page opened afresh for each); return
    what was clicked and every answer of the server that was not a success or redirect."""
    page = context.new_page()
    failures: list[str] = []
    page.on(
        "response",
        lambda r: r.status >= 400 and failures.append(f"{r.request.method} {r.url} -> {r.status}"),
    )
    page.goto(url)
    labels = page.locator(BUTTONS).evaluate_all(LABELS)
    clicked = []
    for label in labels:
        page.goto(url)
        index = page.locator(BUTTONS).evaluate_all(f"els => ({LABELS})(els).indexOf({label!r})")
        if index < 0:  # gone: an earlier click changed the object
            continue
        with page.expect_navigation():
            page.locator(BUTTONS).nth(index).click()
        page.wait_for_load_state()
        clicked.append(f"{label} -> {page.url.removeprefix(url.split('/admin/')[0])}")
    page.close()
    return clicked + [f"FAILED {f}" for f in failures]


def test_every_action_button_answers_without_a_client_or_server_error(
    chromium, session, live_server, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    loaded = ingest(write_invoices(tmp_path, *ROWS, name="messy.csv"))
    queued = batch_create(path=write_invoices(tmp_path, ROWS[0], name="queued.csv"))
    row = RejectedInvoice.objects.get(batch=loaded, invoice_id="INV-3")
    customer = Customer.objects.get(customer_id="C-100")
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([session])
    admin = f"{live_server.url}/admin/warehouse"

    results = {  # the row first: the re-run replaces the file's unresolved rejected rows
        "rejected row": click_every_button(context, f"{admin}/rejectedinvoice/{row.pk}/change/"),
        "customer": click_every_button(context, f"{admin}/customer/{customer.pk}/change/"),
        "batch": click_every_button(context, f"{admin}/loadbatch/{loaded.pk}/change/"),
        "queued batch": click_every_button(context, f"{admin}/loadbatch/{queued.pk}/change/"),
    }
    context.close()
    print(results)

    assert [f for clicks in results.values() for f in clicks if f.startswith("FAILED")] == []
    clicked = {page: " | ".join(clicks) for page, clicks in results.items()}
    assert "Re-run (forced, as a new batch) -> /admin/warehouse/loadbatch/" in clicked["batch"]
    assert "See the 2 rejected rows" in clicked["batch"] and "INVALID_DATE" in clicked["batch"]
    assert "Cancel this batch" in clicked["queued batch"]
    assert "Re-process this row -> /admin/" in clicked["rejected row"]
    assert "Add customer C-999" in clicked["rejected row"]
    assert "Save" in clicked["customer"] and "Export" in clicked["customer"]
    # The posts did what their buttons say.
    assert LoadBatch.objects.filter(note__startswith=f"re-run of batch #{loaded.pk}").exists()
    assert LoadBatch.objects.get(pk=queued.pk).status == LoadBatch.Status.CANCELLED
    assert LoadBatch.objects.filter(file_name="reprocess of 1 rows").exists()
    assert Invoice.objects.filter(invoice_id="INV-1").exists()
