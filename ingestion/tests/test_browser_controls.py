"""Every control the admin manual's table names (docs/admin.md, "Every control") is on its
page in Chromium, found by its label or accessible name, for a data steward: the upload page,
the batch list, a preview, a finished and a queued batch, the rejected list, a rejected row,
the form that fixes its customer, and the page after the add action."""

from __future__ import annotations

import pytest

from api.permissions import ROLES
from dashboard.tests.controls import controls_missing, controls_table
from ingestion.batches.services import batch_create
from ingestion.tests.files import ingest, write_invoices
from ingestion.tests.test_previews import LOADED, UPDATE
from warehouse.models import RejectedInvoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]
MESSY = (
    "M-1,2024-03-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "M-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "M-3,2024-03-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
    "M-4,2024-03-05,C-100,Acme,API Access,1,500,501,Paid",
)
ADMIN = "/admin/warehouse"


def test_every_control_in_the_manual_is_on_its_page(
    chromium, staff_user, logged_in, live_server, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    controls = controls_table("admin.md")
    steward = staff_user("steward", *(perm.split(".", 1)[1] for perm in ROLES["Data steward"]))
    ingest(write_invoices(tmp_path, *LOADED, name="january.csv"))
    loaded = ingest(write_invoices(tmp_path, *MESSY, name="messy.csv"))
    preview = ingest(write_invoices(tmp_path / "update", *UPDATE, name="january-corrected.csv"), dry_run=True)
    queued = batch_create(path=write_invoices(tmp_path / "queued", MESSY[0], name="queued.csv"))
    row = RejectedInvoice.objects.get(batch=loaded, invoice_id="M-3")
    pages = {
        "upload": f"{ADMIN}/loadbatch/upload/",
        "batch list": f"{ADMIN}/loadbatch/",
        "preview": f"{ADMIN}/loadbatch/{preview.pk}/change/",
        "batch": f"{ADMIN}/loadbatch/{loaded.pk}/change/",
        "queued batch": f"{ADMIN}/loadbatch/{queued.pk}/change/",
        "rejected list": f"{ADMIN}/rejectedinvoice/",
        "rejected row": f"{ADMIN}/rejectedinvoice/{row.pk}/change/",
    }
    assert {c.page for c in controls} == {*pages, "fix form", "unknowns added"}
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    cookie = logged_in(steward).cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    missing = []
    for name, url in pages.items():
        assert page.goto(live_server.url + url).status == 200, name
        missing += controls_missing(page, controls, name)

    with page.expect_navigation():  # the rejected row's fix: its customer's add form
        page.click(".ingestion-fix-add")
    missing += controls_missing(page, controls, "fix form")

    page.goto(f"{live_server.url}{ADMIN}/rejectedinvoice/?batch__id__exact={loaded.pk}")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "add_unknowns")
    with page.expect_navigation():
        page.click("button[name=index]")
    missing += controls_missing(page, controls, "unknowns added")
    context.close()
    assert missing == [], "\n".join(missing)
