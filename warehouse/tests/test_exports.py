"""One rule for every exported cell: nothing a spreadsheet would run leaves as is."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.forms import BooleanField
from django.urls import reverse

from warehouse.exports import CONTROLS_REMOVED, cell_neutralise, cell_restore, csv_cell
from warehouse.models import Customer
from warehouse.tests.factories import known_warehouse_create

# value -> what the exported cell holds
CELLS = [
    ("=1+1", "'=1+1"),
    ("+1", "'+1"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ('   =HYPERLINK("x")', '\'   =HYPERLINK("x")'),  # blanks before the sign
    ("\u3000=1", "'\u3000=1"),  # an ideographic space first
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width =
    ("\uff0b1", "'\uff0b1"),  # full-width +
    ("\uff0d1", "'\uff0d1"),  # full-width -
    ("\uff20SUM(A1)", "'\uff20SUM(A1)"),  # full-width @
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("\n=1", "'\n=1"),  # a leading line feed
    ("\nplain", "'\nplain"),
    ("Acme = fine", "Acme = fine"),
    ("a-b", "a-b"),
    ("   ", "   "),
    ("", ""),
    (None, None),
    (5, 5),
    (-5, -5),
    (Decimal("-1.50"), Decimal("-1.50")),
]


@pytest.mark.parametrize(("value", "expected"), CELLS)
def test_cell_neutralise(value, expected):
    assert cell_neutralise(value) == expected
    assert cell_restore(cell_neutralise(value)) == value  # our own exports import back


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-12.5"), "-12.50"),
        (-3, "-3"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (None, ""),
        (" \uff1dcmd", "' \uff1dcmd"),
    ],
)
def test_csv_cell_keeps_numbers_and_neutralises_text(value, expected):
    assert csv_cell(value) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("name", ['  =HYPERLINK("x")', "\uff1dcmd|'/c calc'!A0", "\n=1+1"])
def test_admin_export_and_dashboard_csv_neutralise_the_same_names(admin_client, name):
    known_warehouse_create()
    Customer.objects.filter(customer_id="C-100").update(customer_name=name)

    url = reverse("admin:warehouse_customer_export")
    form = admin_client.get(url).context["form"]
    data = {k: "on" for k, f in form.fields.items() if isinstance(f, BooleanField)} | {"format": "0"}
    exported = csv.DictReader(io.StringIO(admin_client.post(url, data).content.decode("utf-8-sig")))
    assert {r["customer_id"]: r["customer_name"] for r in exported}["C-100"] == "'" + name

    response = admin_client.get(reverse("dashboard:chart_csv", args=["customers"]))
    text = io.StringIO(response.content.decode())
    next(csv.reader(text))  # the title row: chart, currency, filters
    rows = {r["customer_id"]: r["customer_name"] for r in csv.DictReader(text)}
    assert rows["C-100"] == "'" + name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\u200b=cmd", "'\u200b=cmd"),  # zero-width space
        ("\ufeff=cmd", "'\ufeff=cmd"),  # byte-order mark
        ("\u200b\u00a0\u2060+1", "'\u200b\u00a0\u2060+1"),  # format characters and blanks
        ("\ufe66cmd", "'\ufe66cmd"),  # small equals sign
        ("\u200b plain", "\u200b plain"),
        ("a\x0bb\x00c\x7f", "abc"),  # control characters removed
        ("\x0b=cmd", "'=cmd"),
        ("tab\tand\nline", "tab\tand\nline"),
    ],
)
def test_invisible_starts_are_skipped_and_control_characters_removed(value, expected):
    assert cell_neutralise(value) == expected
    assert csv_cell(value) == expected


@pytest.mark.django_db
def test_an_xlsx_export_with_control_characters_succeeds_and_says_how_many_were_removed(admin_client):
    known_warehouse_create()
    Customer.objects.filter(customer_id="C-100").update(customer_name="Ac\x0bme\x01 \u200b=cmd")
    url = reverse("admin:warehouse_customer_export")
    form = admin_client.get(url).context["form"]
    data = {k: "on" for k, f in form.fields.items() if isinstance(f, BooleanField)} | {"format": "1"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.active is not None
    names = {row[0]: row[1] for row in book.active.iter_rows(min_row=2, values_only=True)}
    assert names["C-100"] == "Acme \u200b=cmd"
    page = admin_client.get(reverse("admin:warehouse_customer_changelist"))
    assert CONTROLS_REMOVED.format(count=2) in [str(m) for m in page.context["messages"]]
