"""axe-core on the steward's pages in Chromium, as the data steward and as a superuser: the
upload page (empty and with an error), the batch list, a finished, a dry-run and a queued
batch, the rejected rows (all, one reason, a search) and a rejected row with its fixes; no
violation on any, minor ones included."""

from __future__ import annotations

import pytest

from api.permissions import ROLES
from dashboard.tests.axe import EVERY_IMPACT, axe_violations
from ingestion.batches.services import batch_create
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import RejectedInvoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]
ROWS = (
    "INV-1,2024-01-05,C-100,Acme,Server Setup,2,1200.50,2401.00,Paid",
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,2024-02-05,C-999,Newcomer Ltd,API Access,1,500,500,Paid",
    "INV-4,2024-02-05,C-100,Acme,API Access,1,500,501,Paid",
)


@pytest.mark.parametrize("role", ["Data steward", "superuser"])
def test_no_violation_on_the_upload_batch_and_rejected_row_pages(
    role, chromium, staff_user, django_user_model, logged_in, live_server, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    if role == "superuser":
        user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    else:
        user = staff_user("steward", *(perm.split(".", 1)[1] for perm in ROLES[role]))
    cookie = logged_in(user).cookies["sessionid"].value
    loaded = ingest(write_invoices(tmp_path, *ROWS, name="messy.csv"))
    dry = ingest(write_invoices(tmp_path, *ROWS[1:], name="dry.csv"), dry_run=True)
    queued = batch_create(path=write_invoices(tmp_path, ROWS[0], name="queued.csv"))
    row = RejectedInvoice.objects.get(batch=loaded, invoice_id="INV-3")
    admin = "/admin/warehouse"
    pages = {
        "upload": f"{admin}/loadbatch/upload/",
        "batches": f"{admin}/loadbatch/",
        "batch": f"{admin}/loadbatch/{loaded.pk}/change/",
        "dry run": f"{admin}/loadbatch/{dry.pk}/change/",
        "queued batch": f"{admin}/loadbatch/{queued.pk}/change/",
        "rejected rows": f"{admin}/rejectedinvoice/",
        "one reason": f"{admin}/rejectedinvoice/?reason=UNKNOWN_CUSTOMER",
        "search": f"{admin}/rejectedinvoice/?q=INV",
        "rejected row": f"{admin}/rejectedinvoice/{row.pk}/change/",
    }
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    found, status = {}, {}
    for name, url in pages.items():
        response = page.goto(live_server.url + url)
        status[name] = response.status
        found[name] = axe_violations(page, EVERY_IMPACT)
    page.goto(live_server.url + pages["upload"])
    page.locator("#upload-form input[type=submit]").click()  # no file: the form's error
    page.wait_for_load_state()
    assert page.locator(".errorlist").count() > 0
    found["upload with an error"] = axe_violations(page, EVERY_IMPACT)
    context.close()
    assert status == dict.fromkeys(pages, 200)
    assert found == {name: [] for name in found}
