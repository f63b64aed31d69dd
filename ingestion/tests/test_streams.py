"""The admin's CSV export of rejected rows streams; XLSX keeps a row cap that points to CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.forms import BooleanField
from django.urls import reverse
from django.utils import timezone

from ingestion.rejected.streams import XLSX_TOO_MANY_ROWS
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import RejectedInvoice, RejectedResolution

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

CSV_FORMAT, XLSX_FORMAT = "0", "1"


def form_data(client, url: str, file_format: str) -> dict:
    """The export form as a user sends it: every column ticked."""
    form = client.get(url).context["form"]
    data = {name: "on" for name, field in form.fields.items() if isinstance(field, BooleanField)}
    return {**data, "format": file_format}


@pytest.fixture
def rejected(tmp_path):
    ingest(
        write_invoices(
            tmp_path,
            *(f"INV-{i},2024-13-05,C-100,=A{i},Server Setup,1,1,1,Paid" for i in range(7)),
            name="bad.csv",
        )
    )


def test_the_admin_csv_export_streams_every_filtered_row(admin_client, rejected):
    url = reverse("admin:warehouse_rejectedinvoice_export") + "?reason=INVALID_DATE"
    response = admin_client.post(url, form_data(admin_client, url, CSV_FORMAT))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="RejectedInvoice-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["customer_name"] for r in rows] == [f"'=A{i}" for i in range(7)]


def test_xlsx_above_the_cap_is_refused_with_a_message_pointing_to_csv(admin_client, rejected, settings):
    url = reverse("admin:warehouse_rejectedinvoice_export")
    data = form_data(admin_client, url, XLSX_FORMAT)
    settings.EXPORT_XLSX_MAX_ROWS = 7
    assert admin_client.post(url, data)["Content-Type"].startswith("application/vnd")

    settings.EXPORT_XLSX_MAX_ROWS = 6
    response = admin_client.post(url, data)
    assert (response.status_code, response["Location"]) == (302, url)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        XLSX_TOO_MANY_ROWS.format(rows=7, limit=6)
    ]
    assert "export them as CSV" in XLSX_TOO_MANY_ROWS


def test_columns_unticked_in_the_export_form_are_left_out(admin_client, rejected):
    url = reverse("admin:warehouse_rejectedinvoice_export")
    data = {k: v for k, v in form_data(admin_client, url, CSV_FORMAT).items() if not k.endswith("raw_qty")}
    response = admin_client.post(url, data)
    header = next(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert "qty" not in header
    assert {"unit_price", "customer_name", "reason"} <= set(header)


def test_both_exports_give_a_resolved_row_its_resolution_time(admin_client, rejected):
    first, second = RejectedInvoice.objects.order_by("pk")[:2]
    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    RejectedResolution.objects.create(rejected=first, batch=first.batch, resolved_at=when)
    url = reverse("admin:warehouse_rejectedinvoice_export") + "?resolved=all"

    response = admin_client.post(url, form_data(admin_client, url, CSV_FORMAT))
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))}
    local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S")
    assert (rows[str(first.pk)]["resolved_at"], rows[str(second.pk)]["resolved_at"]) == (local, "")

    response = admin_client.post(url, form_data(admin_client, url, XLSX_FORMAT))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *cells = list(sheet.values)
    by_id = {row[header.index("id")]: row[header.index("resolved_at")] for row in cells}
    assert by_id[first.pk] and not by_id[second.pk]
