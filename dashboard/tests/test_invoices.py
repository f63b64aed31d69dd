"""The invoices behind a figure: every page of every sort, both ways, and the files, against
SQL over fact_invoices; the batch columns by permission; bad parameters; the XLSX cap."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from openpyxl import load_workbook

from dashboard import invoices as invoice_views

pytestmark = pytest.mark.django_db
PAGE = "/visualization/dashboard/invoices/"
CSV = "/visualization/dashboard/invoices.csv"
XLSX = "/visualization/dashboard/invoices.xlsx"
COUNTED = ("PAID", "PENDING", "PROCESSING")


@pytest.fixture
def steward(staff_user, logged_in):
    return logged_in(staff_user("steward", "view_sales", "view_loadbatch"))


@pytest.fixture
def analyst(staff_user, logged_in):
    return logged_in(staff_user("analyst", "view_sales"))


_ORDER = {
    "date": "f.issue_date",
    "invoice": None,
    "customer": "c.customer_name, c.customer_id",
    "item": "i.item_description",
    "status": "s.status_name",
    "total": "f.total",
}


def sql_invoices(order: str = "-date", start=None, end=None, statuses=COUNTED, customer=None) -> list[tuple]:
    """(invoice_id, total) of the filter in the order, by SQL over the facts and dimensions."""
    sort, way = order.lstrip("-"), "DESC" if order.startswith("-") else "ASC"
    where, params = [f"s.status_name IN ({', '.join(['%s'] * len(statuses))})"], list(statuses)
    for clause, value in (
        ("f.issue_date >= %s", start),
        ("f.issue_date <= %s", end),
        ("c.customer_id = %s", customer),
    ):
        if value:
            where.append(clause)
            params.append(value)
    keys = [f"{k.strip()} {way}" for k in (_ORDER[sort] or "").split(",") if k] + [f"f.invoice_id {way}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.invoice_id, f.total FROM fact_invoices f"
            " JOIN dim_customer c ON c.customer_key = f.customer_key"
            " JOIN dim_item i ON i.item_key = f.item_key"
            " JOIN dim_status s ON s.status_key = f.status_key"
            f" WHERE {' AND '.join(where)} ORDER BY {', '.join(keys)}",
            params,
        )
        return [(i, Decimal(t).quantize(Decimal("0.01"))) for i, t in cursor.fetchall()]


def table(html: str) -> list[list[str]]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [
        [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def link(html: str, name: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="page-{name}"', html)
    return unescape(found.group(1)) if found else None


def walk(client, query: str) -> tuple[list[list[str]], list[str]]:
    """Every row by following "Next" from the first page, and the pages' HTML."""
    rows: list[list[str]] = []
    pages: list[str] = []
    url: str | None = f"{PAGE}?{query}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content.decode()[:500]
        html = response.content.decode()
        pages.append(html)
        rows += table(html)
        following = link(html, "next")
        url = PAGE + following if following else None
    return rows, pages


@pytest.mark.parametrize(
    "order",
    [
        "-date",
        "date",
        "invoice",
        "-invoice",
        "customer",
        "-customer",
        "item",
        "-item",
        "status",
        "-status",
        "total",
        "-total",
    ],
)
def test_every_page_of_every_sort_equals_sql_and_previous_pages_retrace_them(
    facts, analyst, monkeypatch, order
):
    monkeypatch.setattr(invoice_views, "PAGE_SIZE", 37)
    query = f"start=2024-01-10&end=2024-04-20&sort={order}"
    rows, pages = walk(analyst, query)
    expected = sql_invoices(order, "2024-01-10", "2024-04-20")
    assert [(r[0], Decimal(r[7].replace(",", ""))) for r in rows] == expected
    assert len(pages) == -(-len(expected) // 37) > 3
    # Back from the last page by "Previous": the same pages, in reverse.
    html, seen = pages[-1], []
    while previous := link(html, "previous"):
        html = analyst.get(PAGE + previous).content.decode()
        seen.append(table(html))
    assert seen == [table(p) for p in reversed(pages[:-1])]
    summary = re.search(
        r'id="invoice-summary"><strong>([\d,]+) invoices</strong>, total <strong>\$([\d,.]+)', pages[0]
    )
    assert summary is not None
    assert (int(summary.group(1).replace(",", "")), Decimal(summary.group(2).replace(",", ""))) == (
        len(expected),
        sum(t for _, t in expected),
    )


def test_filters_and_the_pending_card_link_select_what_sql_selects(facts, analyst):
    rows, _ = walk(analyst, "customer=C-103&status=PENDING&status=PAID&sort=total")
    assert [r[0] for r in rows] == [
        i for i, _ in sql_invoices("total", statuses=("PENDING", "PAID"), customer="C-103")
    ]
    assert all(r[2] == "Initech (C-103)" and r[4] in ("PENDING", "PAID") for r in rows)
    dashboard = analyst.get("/visualization/dashboard/?start=2024-02-01&end=2024-02-29").content.decode()
    card = re.search(r'id="kpi-pending".*?<a class="invoices" href="([^"]+)"', dashboard, re.S)
    assert card is not None
    pending = unescape(card.group(1))
    rows, _ = walk(analyst, pending.split("?", 1)[1])
    assert [r[0] for r in rows] == [
        i for i, _ in sql_invoices(start="2024-02-01", end="2024-02-29", statuses=("PENDING",))
    ]


def test_batch_file_and_line_only_with_view_loadbatch(facts, analyst, steward):
    assert "facts-source.csv" not in analyst.get(PAGE).content.decode()
    assert all(len(r) == 8 for r in table(analyst.get(PAGE).content.decode()))
    rows = table(steward.get(PAGE).content.decode())
    assert {(r[8], r[9]) for r in rows} == {(f"#{facts.pk}", "facts-source.csv")}
    assert all(r[10] == "" for r in rows)  # no staging for these facts: no line
    assert b"facts-source.csv" not in b"".join(analyst.get(CSV).streaming_content)
    assert b"facts-source.csv" in b"".join(steward.get(CSV).streaming_content)


def _csv(response) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_streams_every_row_in_the_table_order_with_a_title_row_and_a_bom_on_request(facts, steward):
    response = steward.get(
        CSV, {"start": "2024-03-01", "end": "2024-03-31", "customer": "C-101", "sort": "-total"}
    )
    assert response.streaming and response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="invoices_2024-03-01_2024-03-31_customer-C-101.csv"'
    )
    raw, rows = _csv(response)
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "Invoices \u00b7 amounts in USD \u00b7 2024-03-01 to 2024-03-31"
        " \u00b7 statuses PAID, PENDING, PROCESSING \u00b7 customer C-101"
    ]
    assert rows[1] == [
        "invoice_id",
        "issue_date",
        "customer_id",
        "customer_name",
        "item",
        "status",
        "qty",
        "unit_price",
        "total",
        "batch_id",
        "file_name",
        "source_row",
    ]
    expected = sql_invoices("-total", "2024-03-01", "2024-03-31", customer="C-101")
    assert [(r[0], Decimal(r[8])) for r in rows[2:]] == expected and expected
    assert {(r[2], r[3]) for r in rows[2:]} == {("C-101", "Globex Inc")}
    assert all(re.fullmatch(r"2024-03-\d\d", r[1]) for r in rows[2:])
    raw, again = _csv(
        steward.get(
            CSV,
            {"start": "2024-03-01", "end": "2024-03-31", "customer": "C-101", "sort": "-total", "bom": "1"},
        )
    )
    assert raw.startswith(b"\xef\xbb\xbf") and again == rows


def test_the_csv_reads_in_chunks(facts, steward, monkeypatch):
    from dashboard import invoice_files

    monkeypatch.setattr(invoice_files, "CHUNK", 50)
    _, rows = _csv(steward.get(CSV, {"sort": "customer"}))
    assert [r[0] for r in rows[2:]] == [i for i, _ in sql_invoices("customer")]


def test_the_xlsx_holds_the_same_rows_and_is_refused_above_the_cap(facts, steward, settings):
    response = steward.get(XLSX, {"end": "2024-02-15", "sort": "date"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('_first_2024-02-15.xlsx"')
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    title = rows[0][0]
    assert isinstance(title, str) and title.startswith(
        "Invoices \u00b7 amounts in USD \u00b7 first sale to 2024-02-15"
    )
    expected = sql_invoices("date", end="2024-02-15")
    assert [(r[0], Decimal(str(r[8])).quantize(Decimal("0.01"))) for r in rows[2:]] == expected
    assert all(isinstance(r[1], dt.datetime) for r in rows[2:])  # real dates

    settings.EXPORT_XLSX_MAX_ROWS = len(expected) - 1
    refused = steward.get(XLSX, {"end": "2024-02-15"})
    assert refused.status_code == 400 and "download them as CSV" in refused.content.decode()
    page = steward.get(PAGE, {"end": "2024-02-15"}).content.decode()
    assert 'id="invoices-xlsx-refused"' in page and 'id="invoices-xlsx"' not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "price"}, "sort: must be one of"),
        ({"after": "bm90LWEtY3Vyc29y"}, "after: not a cursor this page gave"),
        ({"before": "!!"}, "before: not a cursor this page gave"),
        ({"start": "2024-13-01"}, "start: Enter a valid date."),
    ],
)
def test_bad_parameters_answer_400_with_the_message(facts, analyst, params, message):
    page = analyst.get(PAGE, params)
    assert page.status_code == 400 and message in unescape(page.content.decode())
    for url in (CSV, XLSX):
        response = analyst.get(url, params)
        assert response.status_code == 400 and response.content.decode().startswith(message)


def test_a_cursor_of_another_sort_is_refused(facts, analyst):
    html = analyst.get(PAGE, {"sort": "total"}).content.decode()
    following = link(html, "next")
    assert following is not None
    cursor = re.search(r"after=([^&\"]+)", following)
    assert cursor is not None
    after = cursor.group(1)
    assert analyst.get(PAGE, {"sort": "customer", "after": after}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_line_is_the_file_line_of_the_batch_that_last_wrote_the_invoice(
    reference_data, tmp_path, steward
):
    from ingestion.tests.files import ingest, write_invoices

    first = ingest(
        write_invoices(
            tmp_path,
            "L-1,2024-05-02,C-100,Acme,API Access,1,10,10,Paid",  # line 2
            "L-2,2024-05-03,C-101,Globex,API Access,1,20,20,Pending",  # line 3
            "L-2,2024-05-03,C-101,Globex,API Access,1,20,20,Pending",  # line 4: a duplicate, rejected
            "L-3,2024-05-04,C-102,Soylent,API Access,1,30,30,Paid",  # line 5
            name="first.csv",
        )
    )
    second = ingest(
        write_invoices(
            tmp_path,
            "L-3,2024-05-04,C-102,Soylent,API Access,1,30,30,Paid",  # line 2: unchanged, first.csv keeps it
            "L-1,2024-05-02,C-100,Acme,API Access,1,10,10,Paid",  # line 3: unchanged
            "L-2,2024-05-03,C-101,Globex,API Access,1,20,20,Paid",  # line 4: now paid
            name="second.csv",
        )
    )
    assert (first.status, second.status) == ("succeeded", "succeeded")
    rows = table(steward.get(PAGE, {"sort": "invoice"}).content.decode())
    assert [(r[0], r[8], r[9], r[10]) for r in rows] == [
        ("L-1", f"#{first.pk}", "first.csv", "2"),
        ("L-2", f"#{second.pk}", "second.csv", "4"),
        ("L-3", f"#{first.pk}", "first.csv", "5"),
    ]
    _, lines = _csv(steward.get(CSV, {"sort": "invoice"}))
    assert [(r[0], r[9], r[10], r[11]) for r in lines[2:]] == [
        ("L-1", str(first.pk), "first.csv", "2"),
        ("L-2", str(second.pk), "second.csv", "4"),
        ("L-3", str(first.pk), "first.csv", "5"),
    ]


def test_sorts_no_index_serves_are_offered_up_to_a_limit(facts, analyst, monkeypatch):
    count = len(sql_invoices())
    monkeypatch.setattr(invoice_views, "SORT_MAX_ROWS", count - 1)
    page = analyst.get(PAGE).content.decode()
    assert 'id="sort-limit"' in page and ">Total</a>" not in page and ">Date</a>" in page
    for sort in ("total", "-customer", "item", "status"):
        refused = analyst.get(PAGE, {"sort": sort})
        assert refused.status_code == 200 and 'id="sort-refused"' in refused.content.decode()
        assert "narrow the dates or filters" in refused.content.decode()
        assert analyst.get(CSV, {"sort": sort}).content.decode().startswith(f"sort: {count:,} invoices")
    narrowed = analyst.get(PAGE, {"sort": "total", "customer": "C-101"})
    assert narrowed.status_code == 200 and ">Total</a>" in narrowed.content.decode()
    assert analyst.get(PAGE, {"sort": "invoice"}).status_code == 200
