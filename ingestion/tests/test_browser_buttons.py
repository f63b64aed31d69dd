"""Every action button on the batch pages (a load, a queued batch, a preview waiting for its
confirmation), a rejected row's page and the customer, item and status pages and lists,
clicked in the real Chromium by each role (viewer, finance analyst, data steward) and by a
superuser: none answers 4xx or 5xx. A role opens only the pages its permissions offer it
(the index links no other), and the buttons it is shown must all work.

The admin's change page is one form; a button there that posts somewhere else (cancel,
re-run, re-process) must carry its own form, or the browser posts the change form instead.
"""

from __future__ import annotations

import pytest

from api.permissions import ROLES
from ingestion.batches.services import batch_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Customer, Invoice, Item, LoadBatch, RejectedInvoice, Status

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
        "#content-main .submit-row button",
    )
)
LABELS = "els => els.map(e => (e.value || e.textContent).trim())"
UPDATE = "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Pending"  # was Paid
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
)


@pytest.fixture(params=[*ROLES, "superuser"])
def user(request, staff_user, django_user_model):
    """A user with the role's permissions (or a superuser)."""
    if request.param == "superuser":
        return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    return staff_user("someone", *(perm.split(".", 1)[1] for perm in ROLES[request.param]))


@pytest.fixture
def session(user, logged_in, live_server):
    """The user's session cookie for the live server."""
    client = logged_in(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def click_every_button(context, url: str) -> list[str]:
    """Click each button of the page at ``url`` (the page opened afresh for each); return
    what was clicked and every answer of the server that was not a success or redirect."""
    page = context.new_page()
    failures: list[str] = []

    def answered(r) -> None:
        if r.status >= 400:
            failures.append(f"{r.request.method} {r.url} -> {r.status}")

    page.on("response", answered)
    page.goto(url)
    labels = page.locator(BUTTONS).evaluate_all(LABELS)
    clicked = []
    for turn, label in enumerate(labels):
        if turn:  # the first click is on the page just opened
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
    chromium, user, session, live_server, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    loaded = ingest(write_invoices(tmp_path, *ROWS, name="messy.csv"))
    queued = batch_create(path=write_invoices(tmp_path, ROWS[0], name="queued.csv"))
    preview = ingest(write_invoices(tmp_path, UPDATE, name="update.csv"), dry_run=True)
    row = RejectedInvoice.objects.get(batch=loaded, invoice_id="INV-3")
    dimensions = {
        "customer": Customer.objects.get(customer_id="C-100").pk,
        "item": Item.objects.get(item_description="Server Setup").pk,
        "status": Status.objects.get(status_name="PAID").pk,
    }
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([session])
    admin = f"{live_server.url}/admin/warehouse"
    pages = {  # the row first: the re-run replaces the file's unresolved rejected rows
        "rejected row": ("view_rejectedinvoice", f"{admin}/rejectedinvoice/{row.pk}/change/"),
        "rejected rows": ("view_rejectedinvoice", f"{admin}/rejectedinvoice/"),
        **{name: (f"view_{name}", f"{admin}/{name}/{pk}/change/") for name, pk in dimensions.items()},
        **{f"{name} list": (f"view_{name}", f"{admin}/{name}/") for name in dimensions},
        "preview": ("view_loadbatch", f"{admin}/loadbatch/{preview.pk}/change/"),
        "batch": ("view_loadbatch", f"{admin}/loadbatch/{loaded.pk}/change/"),
        "queued batch": ("view_loadbatch", f"{admin}/loadbatch/{queued.pk}/change/"),
        "batches": ("view_loadbatch", f"{admin}/loadbatch/"),
    }
    offered = {name: url for name, (perm, url) in pages.items() if user.has_perm(f"warehouse.{perm}")}
    index = context.new_page()
    index.goto(f"{live_server.url}/admin/")
    links = set(index.locator("#content-main a").evaluate_all("els => els.map(e => e.href)"))
    index.close()

    results = {name: click_every_button(context, url) for name, url in offered.items()}
    context.close()
    print(results)

    assert [f for clicks in results.values() for f in clicks if f.startswith("FAILED")] == []
    for name, (_perm, url) in pages.items():  # what is not offered is not linked either
        if name.endswith(("list", "rows", "batches")):
            assert (url in links) == (name in offered), name
    clicked = {page: " | ".join(clicks) for page, clicks in results.items()}
    steward = user.has_perm("warehouse.add_loadbatch")
    fixer = user.has_perm("warehouse.change_rejectedinvoice")
    if "batch" in clicked:
        assert "See the 2 rejected rows" in clicked["batch"] and "INVALID_DATE" in clicked["batch"]
        assert (
            "Re-run (forced, as a new batch) -> /admin/warehouse/loadbatch/" in clicked["batch"]
        ) == steward
        assert ("Cancel this batch" in clicked["queued batch"]) == steward
        assert ("Load this file (updates 1 invoices)" in clicked["preview"]) == steward
    if "rejected row" in clicked:
        assert ("Re-process this row -> /admin/" in clicked["rejected row"]) == fixer
        assert ("Add customer C-999" in clicked["rejected row"]) == user.has_perm("warehouse.add_customer")
    assert ("Save" in clicked["customer"]) == user.has_perm("warehouse.change_customer")
    assert "Export" in clicked["customer list"]
    # The posts did what their buttons say.
    assert LoadBatch.objects.filter(note__startswith=f"re-run of batch #{loaded.pk}").exists() == steward
    assert (LoadBatch.objects.get(pk=queued.pk).status == LoadBatch.Status.CANCELLED) == steward
    assert LoadBatch.objects.filter(note=f"load of dry run #{preview.pk}").exists() == steward
    assert LoadBatch.objects.filter(file_name="reprocess of 1 rows").exists() == fixer
    assert Invoice.objects.filter(invoice_id="INV-1").exists()
