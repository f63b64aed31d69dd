"""Any file name a browser sends is stored safely: cut to a safe length, its extension kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.batches.uploads import STORED_NAME_MAX_BYTES, stored_name
from ingestion.tests.files import invoices_csv
from warehouse.models import LoadBatch

ROW = "N-1,2024-01-05,C-100,Acme Corp,Server Setup,2,10.00,20.00,PAID"


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("a" * 300 + ".csv", ".csv"),
        ("é" * 300 + ".xlsx", ".xlsx"),  # two bytes a letter
        ("\U0001f4c8" * 200 + ".csv", ".csv"),  # four bytes a letter
        ("x" * 400, ""),
        ("invoices.csv", ".csv"),
        ("../../etc/passwd.csv", ".csv"),
    ],
)
def test_stored_name_fits_and_keeps_the_extension(name, suffix):
    stored = stored_name(name)
    assert len(stored.encode()) <= STORED_NAME_MAX_BYTES
    assert stored.endswith(suffix) and "/" not in stored
    assert stored_name("invoices.csv") == "invoices.csv"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_an_upload_named_with_300_characters_is_loaded(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    name = "q" * 296 + ".csv"

    response = admin_client.post(
        reverse("admin:warehouse_loadbatch_upload"),
        {"files": SimpleUploadedFile(name, invoices_csv(ROW).encode(), content_type="text/csv")},
    )

    assert response.status_code == 302
    batch = LoadBatch.objects.get()
    assert (batch.status, batch.rows_loaded) == ("succeeded", 1)
    assert batch.file_name == "q" * 251 + ".csv"  # the original name, cut, its extension kept
    stored = Path(batch.file_path)
    assert stored.is_file() and stored.suffix == ".csv" and len(stored.name.encode()) < 255
