"""Previews through a real broker (Redis) and real worker processes: the preview's dry run and
the load that follows it run on the workers, never inside the request. Needs MariaDB/MySQL and
Redis (skipped otherwise, like ``test_worker``)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.tests.files import ingest, invoices_csv, write_invoices
from ingestion.tests.test_previews import LOADED, ONLY_NEW, UPDATE
from ingestion.tests.test_worker import finished, wait_for
from warehouse.models import Invoice, LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def test_a_preview_runs_on_the_workers_and_its_load_follows_by_itself_or_once_confirmed(
    admin_client, settings, tmp_path, workers, broker
):
    settings.MEDIA_ROOT = tmp_path / "media"
    ingest(write_invoices(tmp_path, *LOADED, name="january.csv"))
    workers(1)

    def upload(name, *rows):
        files = SimpleUploadedFile(name, invoices_csv(*rows).encode(), content_type="text/csv")
        response = admin_client.post(reverse("admin:warehouse_loadbatch_upload"), {"files": files})
        assert response.status_code == 302
        return LoadBatch.objects.get(file_name=name, dry_run=True)

    only_new = upload("march.csv", *ONLY_NEW)
    wait_for(only_new, finished, every=0.2)
    load = LoadBatch.objects.filter(file_name="march.csv", dry_run=False)
    wait_for(only_new, lambda _: load.filter(status="succeeded").exists(), every=0.2)
    assert Invoice.objects.filter(invoice_id="INV-7").exists()

    update = upload("update.csv", *UPDATE)
    wait_for(update, finished, every=0.2)
    assert update.rows_updated == 2
    assert not LoadBatch.objects.filter(file_name="update.csv", dry_run=False).exists()  # waits for a yes
    assert Invoice.objects.get(invoice_id="INV-1").status.status_name == "PENDING"

    admin_client.post(reverse("admin:warehouse_loadbatch_load", args=[update.pk]))

    confirmed = LoadBatch.objects.get(file_name="update.csv", dry_run=False)
    wait_for(confirmed, finished, every=0.2)
    assert (confirmed.status, confirmed.rows_updated) == ("succeeded", 2)
    assert Invoice.objects.get(invoice_id="INV-1").status.status_name == "PAID"
