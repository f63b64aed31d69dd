"""CSV/XLSX exports are inert in a spreadsheet; dimensions import with a preview."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BooleanField
from django.urls import reverse

from ingestion.tests.files import ingest, write_invoices
from warehouse.exports import cell_neutralise, cell_restore
from warehouse.models import Customer, Invoice, RejectedInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]

EVIL = '=HYPERLINK("x")'
CSV_FORMAT, XLSX_FORMAT = "0", "1"


def export(client, model: str, file_format: str, *, params: dict | None = None, items=None):
    """Go through the admin's export form like a user: every field ticked."""
    url = reverse(f"admin:warehouse_{model}_export")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    form = client.get(url).context["form"]
    data: dict[str, str | list[str]] = {
        name: "on" for name, field in form.fields.items() if isinstance(field, BooleanField)
    }
    data["format"] = file_format
    if items is not None:
        data["export_items"] = [str(i) for i in items]
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return response


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_sheet(response):
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVIL, "'" + EVIL),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Acme", "Acme"),
        ("", ""),
        (None, None),
        (5, 5),
    ],
)
def test_cell_neutralise(value, expected):
    assert cell_neutralise(value) == expected
    assert cell_restore(cell_neutralise(value)) == value


def test_a_formula_customer_name_is_inert_in_csv_and_xlsx(admin_client):
    evil = Customer.objects.create(customer_id="C-666", customer_name=EVIL)

    rows = {r["customer_id"]: r for r in csv_rows(export(admin_client, "customer", CSV_FORMAT))}
    assert rows["C-666"]["customer_name"] == "'" + EVIL
    assert rows["C-100"]["customer_name"] == "Acme Corp"

    sheet = xlsx_sheet(export(admin_client, "customer", XLSX_FORMAT, items=[evil.pk]))
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("customer_name") + 1)
    assert (cell.value, cell.data_type) == ("'" + EVIL, "s")
    assert sheet.max_row == 2  # only the selected row


def test_numbers_stay_numbers_in_xlsx(admin_client, tmp_path):
    batch = ingest(
        write_invoices(
            tmp_path,
            "INV-1,2024-01-05,C-100,=cmd|' /C calc'!A0,Server Setup,-2,1200.50,-2401.00,Paid",
            name="neg.csv",
        )
    )

    sheet = xlsx_sheet(export(admin_client, "rejectedinvoice", XLSX_FORMAT))
    header = [c.value for c in sheet[1]]
    values = {h: sheet.cell(row=2, column=i + 1).value for i, h in enumerate(header)}
    assert values["customer_name"] == "'=cmd|' /C calc'!A0"
    assert values["qty"] == "'-2" and values["total"] == "'-2401.00"  # raw text, neutralised
    assert values["batch_id"] == batch.pk and isinstance(values["batch_id"], int)
    assert isinstance(values["source_row"], int)

    batches = xlsx_sheet(export(admin_client, "loadbatch", XLSX_FORMAT))
    header = [c.value for c in batches[1]]
    assert isinstance(batches.cell(row=2, column=header.index("rows_read") + 1).value, int)


def test_rejected_rows_export_the_filtered_list_with_raw_columns(admin_client, tmp_path):
    ingest(
        write_invoices(
            tmp_path,
            "INV-1,2024-13-05,C-100,Acme,Server Setup,1,1,1,Paid",
            "INV-2,2024-01-05,C-999,@evil,Server Setup,1,1,1,Paid",
            name="two.csv",
        )
    )

    rows = csv_rows(
        export(admin_client, "rejectedinvoice", CSV_FORMAT, params={"reason": "UNKNOWN_CUSTOMER"})
    )

    assert [(r["invoice_id"], r["reason"], r["customer_name"]) for r in rows] == [
        ("INV-2", "UNKNOWN_CUSTOMER", "'@evil")
    ]
    assert rows[0]["detail"].startswith("UNKNOWN_CUSTOMER: customer_id 'C-999'")


def test_export_selected_is_an_action_on_the_rejected_rows(admin_client, tmp_path):
    ingest(write_invoices(tmp_path, "INV-1,2024-13-05,C-100,Acme,Server Setup,1,1,1,Paid", name="bad.csv"))
    ids = list(RejectedInvoice.objects.values_list("pk", flat=True))

    response = admin_client.post(
        reverse("admin:warehouse_rejectedinvoice_changelist"),
        {"action": "export_admin_action", "_selected_action": ids},
    )

    assert response.status_code == 200
    assert "export_items" in response.context["form"].fields


def test_customers_import_with_a_preview_then_confirm(admin_client):
    url = reverse("admin:warehouse_customer_import")
    content = "customer_id,customer_name\nc-500,New Customer\nC-100,Acme Corporation\n'=X,Formula Inc\n"
    form = admin_client.get(url).context["form"]
    fmt = next(v for v, label in form.fields["format"].choices if str(label).lower() == "csv")

    preview = admin_client.post(
        url, {"format": fmt, "import_file": SimpleUploadedFile("c.csv", content.encode())}
    )

    assert preview.status_code == 200 and "confirm_form" in preview.context
    assert not Customer.objects.filter(customer_id="C-500").exists()  # preview writes nothing
    confirm = preview.context["confirm_form"]
    response = admin_client.post(reverse("admin:warehouse_customer_process_import"), confirm.initial)
    assert response.status_code == 302
    assert Customer.objects.get(customer_id="C-500").customer_name == "New Customer"
    assert Customer.objects.get(customer_id="C-100").customer_name == "Acme Corporation"
    assert Customer.objects.filter(customer_id="=X").exists()  # our own escaping is undone


def test_dimension_keys_are_unique_ignoring_case(admin_client):
    response = admin_client.post(reverse("admin:warehouse_item_add"), {"item_description": "server  setup"})
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)


def test_a_customer_with_invoices_cannot_be_deleted(admin_client, tmp_path):
    ingest(write_invoices(tmp_path, "INV-1,2024-01-05,C-100,Acme,Server Setup,1,1,1,Paid", name="ok.csv"))
    customer = Customer.objects.get(customer_id="C-100")

    response = admin_client.post(
        reverse("admin:warehouse_customer_delete", args=[customer.pk]), {"post": "yes"}
    )

    assert Customer.objects.filter(pk=customer.pk).exists()
    assert "cannot delete customer" in response.content.decode().lower()
    assert Invoice.objects.get().unit_price == Decimal("1.00")


def test_customers_are_searchable(admin_client):
    response = admin_client.get(reverse("admin:warehouse_customer_changelist"), {"q": "globex"})
    assert [c.customer_id for c in response.context["cl"].result_list] == ["C-101"]
