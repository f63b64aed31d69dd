"""Comparisons on the page, in the chart, its CSV and the API, each figure checked against SQL
over fact_invoices (both databases); the presets anchored to the data."""

import csv
import datetime as dt
import io
import itertools
import json
import random
import re
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from django.db import connection

from dashboard.periods import CALENDAR, LAST_YEAR, PREVIOUS, comparison_range
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer, Invoice, Item, Status
from warehouse.tests.factories import batch_make

pytestmark = pytest.mark.django_db
URL = "/visualization/dashboard/"
D = dt.date.fromisoformat
COUNTED = ("PAID", "PENDING", "PROCESSING")
FIRST, LAST = D("2022-12-03"), D("2024-12-30")


@pytest.fixture
def spread():
    """600 invoices on random days from 3 Dec 2022 to 30 Dec 2024 (both days sold)."""
    rng = random.Random(20)
    batch = batch_make()
    customers = list(Customer.objects.order_by("pk")[:4])
    items = list(Item.objects.order_by("pk")[:3])
    statuses = {s.status_name: s for s in Status.objects.all()}
    span = (LAST - FIRST).days
    days = [
        FIRST,
        LAST,
        D("2024-02-29"),
        *(FIRST + dt.timedelta(rng.randrange(span + 1)) for _ in range(597)),
    ]
    invoices = []
    for n, day in enumerate(days):
        qty, price = rng.randrange(1, 5), Decimal(rng.randrange(1, 99999)) / 100
        invoices.append(
            Invoice(
                invoice_id=f"S{n}",
                issue_date=day,
                customer=rng.choice(customers),
                item=rng.choice(items),
                status=statuses[rng.choice(["PAID", "PAID", "PENDING", "PROCESSING", "CANCELLED"])],
                qty=qty,
                unit_price=price,
                total=price * qty,
                batch=batch,
            )
        )
    Invoice.objects.bulk_create(invoices)
    daily_sales_refresh()
    return customers[1].customer_id


def sql(start, end, statuses=COUNTED, customer=None) -> tuple[Decimal, int]:
    marks = ", ".join(["%s"] * len(statuses))
    where, params = "", [str(start), str(end), *statuses]
    if customer:
        where, params = " AND c.customer_id = %s", [*params, customer]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(f.total), 0), COUNT(*) FROM fact_invoices f"
            " JOIN dim_status s ON s.status_key = f.status_key"
            " JOIN dim_customer c ON c.customer_key = f.customer_key"
            f" WHERE f.issue_date BETWEEN %s AND %s AND s.status_name IN ({marks}){where}",
            params,
        )
        total, count = cursor.fetchone()
    return Decimal(total).quantize(Decimal("0.01")), count


def _changes(html: str) -> dict:
    return {
        key: Decimal(delta)
        for key, delta in re.findall(
            r'id="kpi-(\w+)".*?class="change \w+" data-delta="([-\d.]+)"', html, re.S
        )
    }


N = "\N{EN DASH}"
# range, compare (blank: the default), the mode used, the range compared with, what the cards say
CASES = [
    ("2024-03-01", "2024-03-31", "", CALENDAR, ("2024-02-01", "2024-02-29"), f"Feb 2024 (1{N}29 Feb)"),
    ("2024-01-01", "2024-03-31", "", CALENDAR, ("2023-10-01", "2023-12-31"), f"Q4 2023 (1 Oct{N}31 Dec)"),
    ("2024-01-01", "2024-12-31", "", CALENDAR, ("2023-01-01", "2023-12-31"), f"2023 (1 Jan{N}31 Dec)"),
    (
        "2024-03-10",
        "2024-03-20",
        "",
        PREVIOUS,
        ("2024-02-28", "2024-03-09"),
        f"previous 11 days (28 Feb{N}9 Mar",
    ),
    ("2024-03-01", "2024-03-31", PREVIOUS, PREVIOUS, ("2024-01-30", "2024-02-29"), "previous 31 days"),
    (
        "2024-03-10",
        "2024-03-20",
        CALENDAR,
        CALENDAR,
        ("2024-02-10", "2024-02-20"),
        "same days 1 month earlier",
    ),
    (
        "2024-02-01",
        "2024-02-29",
        LAST_YEAR,
        LAST_YEAR,
        ("2023-02-01", "2023-02-28"),
        f"Feb 2023 (1{N}28 Feb)",
    ),
    ("2024-01-01", "2024-12-30", LAST_YEAR, LAST_YEAR, ("2023-01-01", "2023-12-30"), "same days last year"),
]
COLUMNS = ("start", "end", "compare", "mode", "before", "label")


@pytest.mark.parametrize(COLUMNS, CASES)
@pytest.mark.parametrize("customer", [False, True])
def test_cards_compare_with_the_chosen_period_as_sql_does(
    user_client, spread, start, end, compare, mode, before: tuple[str, str], label, customer
):
    who = spread if customer else None
    params = {"start": start, "end": end, "compare": compare, **({"customer": who} if who else {})}
    html = user_client.get(URL, params).content.decode()
    (now, now_n), (was, was_n) = sql(start, end, customer=who), sql(*before, customer=who)
    (pending, _), (was_pending, _) = sql(start, end, ("PENDING",), who), sql(*before, ("PENDING",), who)
    changes = _changes(html)
    assert changes["revenue"] == now - was and changes["invoices"] == now_n - was_n
    assert changes["pending"] == pending - was_pending
    assert html.count(f"vs {label}") == 4, label
    assert f'<option value="{compare}" selected>' in html


def _api(client, path, **params):
    response = client.get(path, params)
    return response.status_code, json.loads(response.content)


@pytest.mark.parametrize(COLUMNS, CASES)
def test_the_kpis_endpoint_answers_the_comparison(
    user_client, spread, start, end, compare, mode, before: tuple[str, str], label
):
    _, body = _api(user_client, "/api/sells/kpis/", start=start, end=end, compare=compare)
    compared = body["results"]["comparison"]
    revenue, count = sql(*before)
    assert (compared["start"], compared["end"]) == before
    assert (Decimal(compared["revenue"]), compared["invoice_count"]) == (revenue, count)
    assert compared["pending_amount"] == f"{sql(*before, ('PENDING',))[0]:.2f}"
    assert compared["compare"] == mode
    assert compared["label"].startswith(label)


@pytest.mark.parametrize(
    ("period", "compare"), [("monthly", CALENDAR), ("monthly", PREVIOUS), ("weekly", LAST_YEAR)]
)
@pytest.mark.parametrize(("start", "end"), [("2024-01-01", "2024-06-30"), ("2023-11-17", "2024-03-30")])
def test_each_bar_of_the_series_is_compared_with_its_own_days(
    user_client, spread, period, compare, start, end
):
    _, body = _api(user_client, "/api/sells/time/", start=start, end=end, period=period, compare=compare)
    rows = body["results"]
    before = comparison_range(D(start), D(end), compare)
    assert before is not None
    days = [(D(r["compare_start"]), D(r["compare_end"])) for r in rows if r["compare_start"]]
    assert days[0][0] == before[0] and days[-1][1] == before[1]  # the bars tile the comparison
    assert all(b + dt.timedelta(1) == a for (_, b), (a, _) in itertools.pairwise(days))
    for row in rows:
        if row["compare_start"]:
            revenue, count = sql(row["compare_start"], row["compare_end"])
            assert (Decimal(row["compare_revenue"]), row["compare_invoice_count"]) == (revenue, count), row
    assert sum(Decimal(r["compare_revenue"]) for r in rows) == sql(*before)[0]
    _, plain = _api(user_client, "/api/sells/time/", start=start, end=end, period=period)
    assert [{k: v for k, v in r.items() if not k.startswith("compare_")} for r in rows] == plain["results"]
    assert "compare_start" not in plain["results"][0]  # the seed's shape without compare


def test_the_monthly_chart_draws_the_comparison_and_its_csv_holds_it(user_client, spread):
    params = {"start": "2024-01-01", "end": "2024-03-31", "grain": "month"}
    html = user_client.get(URL, params).content.decode()
    start = html.index(">", html.index('id="dashboard-figures"')) + 1
    figure = json.loads(html[start : html.index("</script>", start)])["monthly"]
    bars, compared, _line = figure["data"]
    assert compared["name"] == f"vs Q4 2023 (1 Oct{N}31 Dec)" and figure["layout"]["barmode"] == "group"
    assert compared["x"] == bars["x"] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    expected = [sql(a, b)[0] for a, b in (("2023-10-01", "2023-10-31"), ("2023-11-01", "2023-11-30"))]
    expected.append(sql("2023-12-01", "2023-12-31")[0])
    assert [Decimal(str(y)).quantize(Decimal("0.01")) for y in compared["y"]] == expected
    assert compared["text"] == [f"Oct 2023 (1{N}31 Oct)", f"Nov 2023 (1{N}30 Nov)", f"Dec 2023 (1{N}31 Dec)"]
    assert compared["customdata"][0] == "start=2023-10-01&end=2023-10-31"
    response = user_client.get("/visualization/dashboard/csv/monthly.csv", params)
    rows = list(csv.DictReader(io.StringIO(response.content.decode().split("\n", 1)[1])))  # after the title
    assert [(r["compare_start"], r["compare_end"], Decimal(r["compare_revenue"])) for r in rows] == [
        ("2023-10-01", "2023-10-31", expected[0]),
        ("2023-11-01", "2023-11-30", expected[1]),
        ("2023-12-01", "2023-12-31", expected[2]),
    ]
    all_time = user_client.get("/visualization/dashboard/csv/monthly.csv").content.decode()
    assert all_time.splitlines()[1] == "period,revenue,cumulative,invoice_count"  # nothing to compare


@pytest.mark.parametrize("url", [URL, "/api/sells/kpis/", "/api/sells/time/"])
def test_a_bad_comparison_is_a_clear_error(user_client, spread, url):
    response = user_client.get(url, {"start": "2024-01-01", "compare": "lastyear"})
    if url == URL:
        assert response.status_code == 200
        assert "compare: Select a valid choice. lastyear is not one of the available choices." in (
            response.content.decode()
        )
    else:
        assert response.status_code == 400
        assert response.json() == {
            "error": "compare: Select a valid choice. lastyear is not one of the available choices."
        }


def test_each_comparison_is_its_own_cached_answer(user_client, spread):
    answers = {
        compare: _api(user_client, "/api/sells/kpis/", start="2024-03-01", end="2024-03-31", compare=compare)[
            1
        ]
        for compare in ("", PREVIOUS, CALENDAR, LAST_YEAR)
    }
    assert answers[""] == answers[CALENDAR]
    starts = {c: a["results"]["comparison"]["start"] for c, a in answers.items()}
    assert starts == {
        "": "2024-02-01",
        PREVIOUS: "2024-01-30",
        CALENDAR: "2024-02-01",
        LAST_YEAR: "2023-03-01",
    }


def test_presets_follow_the_data_and_an_empty_result_offers_its_range(user_client, spread):
    html = user_client.get(URL, {"customer": spread}).content.decode()
    links = dict(re.findall(r'<a class="preset[^"]*" href="\?([^"]*)"[^>]*>([^<]+)</a>', html))
    presets = {label: query.replace("&amp;", "&") for query, label in links.items()}
    customer = f"customer={spread}"
    assert presets["Latest month"] == f"{customer}&start=2024-12-01&end=2024-12-31"
    assert presets["Last full quarter"] == f"{customer}&start=2024-07-01&end=2024-09-30"
    assert presets["Year to date"] == f"{customer}&start=2024-01-01&end=2024-12-30"
    assert presets["All time"] == customer
    assert f"sales from 3 Dec 2022{N}30 Dec 2024" in html
    for query in presets.values():  # every preset leads to figures
        assert "No invoices match" not in user_client.get(f"{URL}?{query}").content.decode()

    empty = user_client.get(
        URL, {"start": "2026-11-01", "end": "2026-11-30", "customer": spread}
    ).content.decode()
    assert "No invoices match these filters" in empty
    assert f"The data covers 3 Dec 2022{N}30 Dec 2024" in empty
    found = re.search(r'id="data-range-link" href="\?([^"]*)"', empty)
    assert found is not None
    link = found.group(1).replace("&amp;", "&")
    assert parse_qs(link) == {"customer": [spread], "start": ["2022-12-03"], "end": ["2024-12-30"]}
    assert "No invoices match" not in user_client.get(f"{URL}?{link}").content.decode()


def test_the_openapi_schema_documents_compare_where_it_is_read(user_client):
    schema = json.loads(user_client.get("/api/schema/").content)
    for path, reads in (("kpis", True), ("time", True), ("status", False), ("customers", False)):
        parameters = {p["name"]: p for p in schema["paths"][f"/api/sells/{path}/"]["get"]["parameters"]}
        assert ("compare" in parameters) is reads, path
        if reads:
            assert parameters["compare"]["schema"] == {
                "type": "string",
                "enum": [PREVIOUS, CALENDAR, LAST_YEAR],
            }
            assert "previous calendar month, quarter or year" in parameters["compare"]["description"]


def test_day_bars_moved_by_a_month_share_the_short_month_s_last_day(spread):
    from dashboard.comparisons import comparison_for, series_compared
    from warehouse.selectors.sales import DimensionNames, SalesFilter

    comparison = comparison_for(SalesFilter(start=D("2024-03-29"), end=D("2024-04-01")), CALENDAR)
    assert comparison is not None
    assert (comparison.start, comparison.end) == (D("2024-02-29"), D("2024-03-01"))
    rows = [{"period": day} for day in ("2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01")]
    compared = series_compared(rows, comparison, DimensionNames.load())
    days = [(r["compare_start"], r["compare_end"]) for r in compared]
    assert days == [
        (D("2024-02-29"), D("2024-02-29")),
        (None, None),
        (None, None),
        (D("2024-03-01"), D("2024-03-01")),
    ]
    assert [r["compare_revenue"] for r in compared] == [
        sql("2024-02-29", "2024-02-29")[0],
        0,
        0,
        sql("2024-03-01", "2024-03-01")[0],
    ]
    assert sql("2024-02-29", "2024-02-29")[1] > 0  # the fixture sold that day
