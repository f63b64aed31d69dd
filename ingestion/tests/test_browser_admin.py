"""One walk through the admin in the real Chromium: log in, upload a messy file, watch the
progress reach 100%, open its rejected rows and filter them by a reason.

Saves admin-upload.png (to docs/ under `make screenshots`). Skipped when /usr/bin/chromium or
Playwright is missing.
"""

from __future__ import annotations

import pytest

from ingestion.pipeline.generate import invoice_file_generate
from warehouse.models import LoadBatch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def test_upload_progress_and_rejected_rows_in_chromium(
    live_server, page, django_user_model, tmp_path, settings, screenshot
):
    settings.MEDIA_ROOT = tmp_path / "media"
    django_user_model.objects.create_superuser("admin", "admin@example.com", "a-long-test-password")
    messy = invoice_file_generate(path=tmp_path / "messy-invoices.csv", rows=3_000, seed=3)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/warehouse/loadbatch/")
    page.click("text=Upload a file")
    page.set_input_files("input[type=file]", str(messy))
    page.click("input[name=_upload]")

    page.wait_for_url("**/admin/warehouse/loadbatch/*/change/")
    progress = page.locator(".ingestion-progress-text")
    progress.filter(has_text="100%").wait_for(timeout=60_000)
    assert "succeeded" in progress.inner_text()
    assert page.locator(".ingestion-progress-bar").evaluate("e => e.style.width") == "100%"
    batch = LoadBatch.objects.get()
    assert (batch.source, batch.rows_read) == ("admin", 3_000)
    screenshot(page, "admin-upload.png")

    page.click("#content .object-tools >> text=Rejected rows")
    page.wait_for_selector("#reason-counts")
    assert page.locator("#result_list tbody tr").count() == min(100, batch.rows_rejected)  # 100 a page
    chips = page.locator("#reason-counts strong").all_inner_texts()
    assert sum(int(n.replace(",", "")) for n in chips) == batch.rows_rejected
    page.click("#changelist-filter >> text=INVALID_DATE")
    page.wait_for_url("**reason=INVALID_DATE**")
    reasons = page.locator("#result_list tbody td.field-reason").all_inner_texts()
    assert reasons and set(reasons) == {"INVALID_DATE"}
    assert len(reasons) == min(100, batch.reason_counts["INVALID_DATE"])


def test_the_progress_bar_follows_a_running_batch_without_reloading(
    live_server, page, django_user_model, tmp_path
):
    from ingestion.batches.services import batch_create

    django_user_model.objects.create_superuser("admin", "admin@example.com", "a-long-test-password")
    path = tmp_path / "x.csv"
    path.write_text("invoice_id\n")
    batch = batch_create(path=path)
    LoadBatch.objects.filter(pk=batch.pk).update(
        status="running", stage="loading", rows_done=0, rows_total=1000
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/warehouse/loadbatch/{batch.pk}/change/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    text = page.locator(".ingestion-progress-text")
    assert text.inner_text().startswith("0%")
    page.evaluate("window.notReloaded = true")

    LoadBatch.objects.filter(pk=batch.pk).update(rows_done=420)
    text.filter(has_text="42%").wait_for(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True  # updated in place
    assert page.locator(".ingestion-progress-bar").evaluate("e => e.style.width") == "42%"

    LoadBatch.objects.filter(pk=batch.pk).update(status="succeeded", stage="done", rows_done=1000)
    page.wait_for_function("() => window.notReloaded === undefined", timeout=10_000)  # reloaded once
    assert page.locator(".ingestion-progress-text").inner_text().startswith("100%")
