"""Admin upload: permission, CSRF, size and type limits; the file becomes a batch and is loaded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ingestion.batches.forms import FILE_BAD_EXTENSION, FILE_TOO_LARGE
from ingestion.tests.files import invoices_csv
from warehouse.models import Invoice, LoadBatch, RejectedInvoice

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data", "media"),
]

FIXTURES = Path(__file__).parent / "fixtures"
UPLOAD_URL = reverse("admin:warehouse_loadbatch_upload")
MESSY = invoices_csv(
    'INV-1,2024-01-05,C-100,acme corp,Server Setup,2,"$ 1,200.50",2401.00,paid',
    "INV-2,2024-13-05,C-101,Globex,API Access,1,500,500,Pending",
    "INV-3,05/02/2024,C-999,Nobody,API Access,1,USD 500,500.00,PAID",
    "INV-1,2024-01-05,C-100,acme corp,Server Setup,2,1200.50,2401.00,paid",
)


def csv_file(name: str = "messy.csv", content: str = MESSY) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_the_upload_page_needs_a_login(client):
    response = client.get(UPLOAD_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_without_the_upload_permission_is_refused(staff_user, logged_in):
    client = logged_in(staff_user("viewer", "view_loadbatch"))

    assert client.get(UPLOAD_URL).status_code == 403
    assert client.post(UPLOAD_URL, {"files": csv_file()}).status_code == 403
    assert not LoadBatch.objects.exists()


def test_an_upload_becomes_an_admin_batch_and_lands_on_its_page(uploader_client, uploader, media):
    page = uploader_client.get(UPLOAD_URL)
    assert page.status_code == 200 and b'type="file"' in page.content

    response = uploader_client.post(UPLOAD_URL, {"files": csv_file()})

    batch = LoadBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:warehouse_loadbatch_change", args=[batch.pk])
    assert (batch.source, batch.created_by, batch.file_name) == ("admin", uploader, "messy.csv")
    stored = Path(batch.file_path)
    assert stored.is_file() and (media / "uploads") in stored.parents
    assert batch.task_id
    # No broker in tests: Celery is eager, so the task ran right after the commit.
    assert batch.status == LoadBatch.Status.SUCCEEDED, batch.error
    assert (batch.rows_read, batch.rows_loaded, batch.rows_rejected) == (4, 1, 3)
    assert Invoice.objects.count() == 1
    assert RejectedInvoice.objects.filter(batch=batch).count() == 3


def test_force_and_dry_run_are_passed_to_the_batch(uploader_client):
    uploader_client.post(UPLOAD_URL, {"files": csv_file(), "dry_run": "on", "force": "on"})

    batch = LoadBatch.objects.get()
    assert (batch.force, batch.dry_run, batch.status) == (True, True, "succeeded")
    assert not Invoice.objects.exists()


def test_several_files_make_several_batches(uploader_client):
    response = uploader_client.post(
        UPLOAD_URL, {"files": [csv_file("a.csv"), csv_file("b.csv", MESSY.replace("INV-", "B-"))]}
    )

    assert sorted(LoadBatch.objects.values_list("file_name", flat=True)) == ["a.csv", "b.csv"]
    assert response.status_code == 302 and "id__in=" in response["Location"]
    assert uploader_client.get(response["Location"]).status_code == 200


def test_a_file_over_the_size_limit_is_refused(uploader_client, settings, media):
    settings.ADMIN_UPLOAD_MAX_BYTES = 100

    response = uploader_client.post(UPLOAD_URL, {"files": csv_file()})

    assert response.status_code == 200
    size = f"{len(MESSY.encode())}\xa0bytes"
    expected = FILE_TOO_LARGE.format(name="messy.csv", size=size, limit="100\xa0bytes")
    assert expected in response.context["form"].errors["files"]
    assert not LoadBatch.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoices.csv", (FIXTURES / "invoices-binary.bin").read_bytes(), "binary"),
        ("invoices.xlsx", (FIXTURES / "invoices-legacy.xls").read_bytes(), ".xls"),
        ("invoices.csv", b"", "empty"),
    ],
    ids=["binary-named-csv", "legacy-xls-named-xlsx", "empty"],
)
def test_the_type_is_checked_by_content_not_by_name(uploader_client, media, name, content, message):
    response = uploader_client.post(UPLOAD_URL, {"files": SimpleUploadedFile(name, content)})

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["files"])
    assert message.lower() in errors.lower()
    assert content == b"" or name in errors
    assert not LoadBatch.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_a_zip_that_is_not_a_workbook_is_refused(uploader_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")

    response = uploader_client.post(UPLOAD_URL, {"files": SimpleUploadedFile("x.xlsx", buffer.getvalue())})

    assert "not an Excel workbook" in " ".join(response.context["form"].errors["files"])
    assert not LoadBatch.objects.exists()


def test_other_extensions_are_refused(uploader_client):
    response = uploader_client.post(UPLOAD_URL, {"files": csv_file("invoices.exe")})

    assert FILE_BAD_EXTENSION.split(":")[0].format(name="invoices.exe") in str(
        response.context["form"].errors
    )
    assert not LoadBatch.objects.exists()


def test_an_xlsx_upload_loads(uploader_client, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for line in MESSY.strip().splitlines():
        sheet.append(line.replace('"$ 1,200.50"', "$ 1200.50").split(","))
    book.save(tmp_path / "book.xlsx")

    uploader_client.post(
        UPLOAD_URL, {"files": SimpleUploadedFile("book.xlsx", (tmp_path / "book.xlsx").read_bytes())}
    )

    batch = LoadBatch.objects.get()
    assert (batch.status, batch.rows_read, batch.rows_loaded) == ("succeeded", 4, 1), batch.error


def test_the_upload_needs_the_csrf_token(uploader, logged_in):
    client = logged_in(uploader, enforce_csrf_checks=True)

    assert client.post(UPLOAD_URL, {"files": csv_file()}).status_code == 403
    page = client.get(UPLOAD_URL)
    token = page.context["csrf_token"]
    assert (
        client.post(UPLOAD_URL, {"files": csv_file(), "csrfmiddlewaretoken": str(token)}).status_code == 302
    )
    assert LoadBatch.objects.count() == 1


def test_the_batch_list_offers_the_upload_to_uploaders_only(uploader_client, staff_user, logged_in):
    assert UPLOAD_URL.encode() in uploader_client.get(reverse("admin:warehouse_loadbatch_changelist")).content
    client = logged_in(staff_user("viewer", "view_loadbatch"))
    assert UPLOAD_URL.encode() not in client.get(reverse("admin:warehouse_loadbatch_changelist")).content
