"""The series at a day, week or month grain: chosen from the range or by hand, equal to SQL
over the facts, ticks that never repeat, drills that narrow; chart CSVs named after what
they hold, with a title row and an optional BOM; the answer cache keyed on the new parameters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal

import plotly.graph_objects as go
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import series
from dashboard.comparisons import SERIES_FIELDS as COMPARE_COLUMNS
from dashboard.grain import grain_auto
from warehouse.tests.factories import batch_make

pytestmark = pytest.mark.django_db
PAGE = "/visualization/dashboard/"
D = Decimal


def figures(response) -> dict:
    html = response.content.decode()
    start = html.index(">", html.index('<script id="dashboard-figures"')) + 1
    return json.loads(html[start : html.index("</script>", start)])


def sql_series(grain: str, start: str, end: str) -> dict[str, Decimal]:
    """Revenue per period (its first day, ISO) of the counted statuses, by SQL over the facts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.issue_date, SUM(f.total) FROM fact_invoices f"
            " JOIN dim_status s ON s.status_key = f.status_key"
            " WHERE s.status_name IN ('PAID', 'PENDING', 'PROCESSING') AND f.issue_date BETWEEN %s AND %s"
            " GROUP BY f.issue_date",
            [start, end],
        )
        rows = cursor.fetchall()
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for day, total in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        first = {"day": day, "week": day - dt.timedelta(day.weekday()), "month": day.replace(day=1)}[grain]
        totals[first.isoformat()] += Decimal(total)
    return {k: v.quantize(D("0.01")) for k, v in totals.items() if v}


@pytest.mark.parametrize(
    ("query", "grain"),
    [
        ({}, "month"),
        ({"start": "2024-02-01", "end": "2024-02-29"}, "day"),
        ({"start": "2024-01-01", "end": "2024-03-31"}, "week"),
        ({"start": "2024-01-01", "end": "2024-04-30", "grain": "day"}, "day"),
        ({"start": "2024-02-01", "end": "2024-02-29", "grain": "month"}, "month"),
        ({"start": "2024-03-01", "end": "2024-04-30", "grain": "week"}, "week"),
    ],
)
def test_the_series_at_each_grain_equals_sql_over_the_facts(facts, user_client, query, grain):
    response = user_client.get(PAGE, query)
    html = response.content.decode()
    assert series.TITLES[grain] in html
    figure = figures(response)["monthly"]
    go.Figure(figure)
    bars, line = figure["data"][0], figure["data"][-1]  # a comparison may sit between
    drawn = {x: D(str(y)).quantize(D("0.01")) for x, y in zip(bars["x"], bars["y"], strict=True) if y}
    assert drawn == sql_series(grain, query.get("start", "2024-01-01"), query.get("end", "2024-12-31"))
    assert D(str(line["y"][-1])).quantize(D("0.01")) == sum(drawn.values())
    assert len(set(bars["x"])) == len(bars["x"])


def test_drilling_a_month_then_a_week_narrows_to_days(facts, user_client):
    months = figures(user_client.get(PAGE))["monthly"]["data"][0]
    assert months["customdata"][1] == "start=2024-02-01&end=2024-02-29"
    days = figures(user_client.get(PAGE + "?" + months["customdata"][1]))["monthly"]["data"][0]
    assert days["x"][0] == "2024-02-01" and days["x"][-1] == "2024-02-29" and len(days["x"]) == 29
    assert days["customdata"][0] == "start=2024-02-01&end=2024-02-01"
    weeks = figures(user_client.get(PAGE, {"start": "2024-01-10", "end": "2024-03-31"}))["monthly"]["data"][0]
    assert weeks["x"][0] == "2024-01-08" and weeks["customdata"][0] == "start=2024-01-10&end=2024-01-14"
    assert 'data-drill="Show its days"' in user_client.get(PAGE).content.decode()
    assert (
        'id="chart-monthly" data-drill=""'
        in user_client.get(PAGE, {"start": "2024-02-01", "end": "2024-02-29"}).content.decode()
    )


def test_the_automatic_grain_follows_the_range_and_the_data(facts):
    assert grain_auto(None, None) == "month"
    assert grain_auto(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == "day"
    assert grain_auto(dt.date(2024, 1, 1), dt.date(2024, 3, 31)) == "week"
    assert grain_auto(dt.date(2023, 1, 1), dt.date(2024, 3, 31)) == "month"
    assert grain_auto(dt.date(2024, 4, 1), None) == "day"  # the data ends 2024-04-30 at the latest
    assert grain_auto(None, dt.date(2024, 1, 20)) == "day"


def _rows(labels: list[str]) -> list[dict]:
    return [{"period": label, "revenue": D("1"), "cumulative": D(n + 1)} for n, label in enumerate(labels)]


@pytest.mark.parametrize(
    ("grain", "labels", "dtick"),
    [
        ("month", ["2024-01", "2024-02", "2024-03"], "M1"),
        ("week", ["2024-W01", "2024-W02", "2024-W03", "2024-W04"], 7 * series.DAY_MS),
        ("day", [f"2024-03-{d:02d}" for d in range(1, 11)], series.DAY_MS),
    ],
)
def test_few_periods_get_one_tick_each_centred_under_its_bar(grain, labels, dtick):
    figure = series.sales_series(_rows(labels), grain)
    go.Figure(figure)
    axis = figure["layout"]["xaxis"]
    assert (axis["dtick"], axis["ticklabelmode"], axis["tick0"]) == (
        dtick,
        "period",
        figure["data"][0]["x"][0],
    )


def test_many_periods_get_every_kth_tick_and_long_monthly_ranges_plotlys_own():
    days = series.sales_series(
        _rows([(dt.date(2024, 1, 1) + dt.timedelta(n)).isoformat() for n in range(45)]), "day"
    )
    assert (
        days["layout"]["xaxis"]["dtick"] == 4 * series.DAY_MS
        and "ticklabelmode" not in days["layout"]["xaxis"]
    )
    months = series.sales_series(_rows([f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]), "month")
    assert "dtick" not in months["layout"]["xaxis"] and months["layout"]["xaxis"]["tickformat"] == "%b '%y"
    # Plotly's own spacing from five months: a tick more often than monthly names its day.
    five = series.sales_series(_rows([f"2024-{m:02d}" for m in range(1, 6)]), "month")
    assert "dtick" not in five["layout"]["xaxis"]
    assert five["layout"]["xaxis"]["tickformatstops"] == [
        {"dtickrange": [None, 15 * series.DAY_MS], "value": "%-d %b"}
    ]


def chart_csv(client, name: str, **params):
    response = client.get(f"/visualization/dashboard/csv/{name}.csv", params)
    assert response.status_code == 200
    return response, list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_chart_csvs_are_named_after_chart_filters_and_dates_with_a_title_row(facts, user_client):
    response, rows = chart_csv(user_client, "monthly", start="2024-02-01", end="2024-02-29", customer="C-101")
    assert response["Content-Disposition"] == (
        'attachment; filename="daily-sales-and-cumulative-revenue_2024-02-01_2024-02-29_customer-C-101.csv"'
    )
    assert rows[0] == [
        "Daily sales and cumulative revenue \u00b7 amounts in USD \u00b7 2024-02-01 to 2024-02-29"
        " \u00b7 statuses PAID, PENDING, PROCESSING \u00b7 customer C-101"
    ]
    # A whole month is compared with the month before (the comparison's columns, docs/dashboard-and-api.md)
    assert rows[1] == ["period", "revenue", "cumulative", "invoice_count", *COMPARE_COLUMNS]
    assert rows[2][0] == "2024-02-01" and len(rows) == 2 + 29
    assert not response.content.startswith(b"\xef\xbb\xbf")
    excel, again = chart_csv(
        user_client, "monthly", start="2024-02-01", end="2024-02-29", customer="C-101", bom="1"
    )
    assert excel.content.startswith(b"\xef\xbb\xbf") and again == rows
    response, rows = chart_csv(user_client, "items", status="PAID", item="API Access")
    assert response["Content-Disposition"].endswith(
        '"revenue-by-item_first_last_statuses-PAID_item-API-Access.csv"'
    )
    assert rows[0][0].endswith("all dates \u00b7 statuses PAID \u00b7 item API Access")
    _, rows = chart_csv(user_client, "monthly", grain="week", start="2024-01-01", end="2024-01-31")
    assert [r[0] for r in rows[2:]] == ["2024-W01", "2024-W02", "2024-W03", "2024-W04", "2024-W05"]


def test_the_loads_chart_files_are_named_after_the_days_its_loads_finished_not_today(facts, user_client):
    """The loads chart shows recent loads, not invoices: its CSV and PNG are named after the
    first and last day those loads finished, so a cached page and a cached CSV (kept until the
    data changes) keep names that are true after midnight."""
    noon = dt.time(12, tzinfo=timezone.get_current_timezone())
    for day, counts in (("2024-03-05", {"INVALID_DATE": 2}), ("2024-03-09", {"UNKNOWN_CUSTOMER": 1})):
        batch_make(
            file_name=f"loaded-{day}.csv",
            sha256=day.replace("-", "") * 8,
            reason_counts=counts,
            finished_at=dt.datetime.combine(dt.date.fromisoformat(day), noon),
        )
    name = "rejected-rows-per-reason-last-10-loads_2024-03-05_2024-03-09"
    response, rows = chart_csv(user_client, "quality", start="2024-01-01", customer="C-101")
    assert response["Content-Disposition"] == f'attachment; filename="{name}.csv"'
    assert [row[2:] for row in rows[2:]] == [["INVALID_DATE", "2"], ["UNKNOWN_CUSTOMER", "1"]]
    page = user_client.get(PAGE).content.decode()
    assert f'id="chart-quality" data-file="{name}"' in page


def _reads(client, url: str) -> bool:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return any("agg_" in q["sql"] or "fact_invoices" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(
    ("url", "other"),
    [
        (PAGE + "?start=2024-01-01&end=2024-03-31", "&grain=month"),
        ("/visualization/dashboard/csv/monthly.csv?start=2024-01-01", "&grain=day"),
        ("/visualization/dashboard/csv/items.csv", "?bom=1"),
        ("/visualization/dashboard/invoices/?customer=C-101", "&sort=total"),
        ("/visualization/dashboard/invoices/?sort=total", "&status=PAID"),
    ],
)
def test_the_answer_cache_keys_on_the_new_parameters(facts, user_client, url, other):
    assert _reads(user_client, url) and not _reads(user_client, url)  # cached
    assert _reads(user_client, url + other)  # another answer
    assert user_client.get(url).content != user_client.get(url + other).content
    assert not _reads(user_client, url + other)
