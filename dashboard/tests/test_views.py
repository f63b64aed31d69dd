import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from html import unescape

import plotly.graph_objects as go
import pytest
from django.db import connection

from dashboard.charts import CHARTS
from dashboard.periods import dates_text
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer
from warehouse.tests.factories import batch_make, invoice_create

pytestmark = pytest.mark.django_db
URL = "/visualization/dashboard/"


def figures(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="dashboard-figures" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def csv_rows(client, name, **params) -> list[list[str]]:
    response = client.get(f"/visualization/dashboard/csv/{name}.csv", params)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_root_redirects_to_dashboard(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, URL)


def test_page_shows_kpis_and_counted_statuses(user_client, known):
    response = user_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "$381.55" in html and "$76.31" in html and "$151.50" in html
    assert "PAID, PENDING, PROCESSING" in html
    assert "22.22%" in html and f"batch #{known.pk}" in html


def test_figures_hold_the_known_numbers(user_client, known):
    figs = figures(user_client.get(URL))
    assert set(figs) == set(CHARTS)
    for figure in figs.values():
        go.Figure(figure)  # valid Plotly
    bars, line = figs["monthly"]["data"]
    assert bars["x"] == ["2024-01-01", "2024-02-01", "2024-03-01"] and bars["y"] == [250.5, 30.0, 101.05]
    assert line["yaxis"] == "y2" and line["y"] == [250.5, 280.5, 381.55]
    layout = figs["monthly"]["layout"]
    assert layout["hovermode"] == "x unified" and layout["xaxis"]["type"] == "date"
    assert layout["yaxis"]["tickprefix"] == "$" and "$,.2f" in bars["hovertemplate"]
    assert figs["pending"]["data"][0]["y"] == ["Globex Inc (C-101)"]
    assert figs["status"]["data"][0]["x"] == ["PAID", "PENDING", "PROCESSING"]
    assert figs["quality"]["layout"]["barmode"] == "stack"
    assert [t["name"] for t in figs["quality"]["data"]] == ["INVALID_DATE", "TOTAL_MISMATCH"]


def test_pending_chart_is_top_15_sorted(user_client):
    batch = batch_make()
    for n in range(18):
        Customer.objects.create(customer_id=f"X-{n:02d}", customer_name=f"Extra {n}")
        invoice_create(batch, f"P{n}", "2024-05-01", f"X-{n:02d}", "API Access", "PENDING", 1, f"{n + 1}.00")
    daily_sales_refresh()
    pending = figures(user_client.get(URL))["pending"]["data"][0]
    assert pending["x"] == [float(n) for n in range(18, 3, -1)]


def test_filters_narrow_every_chart(user_client, known):
    response = user_client.get(URL, {"customer": "C-100"})
    figs = figures(response)
    assert "$230.00" in response.content.decode()
    assert figs["monthly"]["data"][0]["x"] == ["2024-01-01", "2024-02-01"]
    assert figs["customers"]["data"][0]["y"] == ["Acme Corp (C-100)"]
    assert figs["items"]["data"][0]["y"] == ["API Access", "Cloud Storage"]
    assert figs["status"]["data"][0]["x"] == ["PAID", "PROCESSING"]
    assert "pending" not in figs  # C-100 owes nothing
    assert "No data for these filters." in response.content.decode()


def test_status_filter_changes_counted_statuses(user_client, known):
    html = user_client.get(URL, {"status": ["CANCELLED"]}).content.decode()
    assert "$999.99" in html and "<strong>CANCELLED</strong>" in html


def test_invalid_filters_show_form_errors(user_client, known):
    response = user_client.get(URL, {"start": "2023-13-45", "customer": "nobody"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="filter-errors"' in html and "Enter a valid date." in html
    assert "dashboard-figures" not in html


def test_no_match_shows_empty_state(user_client, known):
    html = user_client.get(URL, {"start": "2030-01-01"}).content.decode()
    assert "No invoices match these filters" in html and "js-plotly" not in html


def test_csv_is_exactly_the_chart_data(user_client, known):
    assert csv_rows(user_client, "monthly")[1:] == [
        ["period", "revenue", "cumulative", "invoice_count"],
        ["2024-01", "250.50", "250.50", "2"],
        ["2024-02", "30.00", "280.50", "1"],
        ["2024-03", "101.05", "381.55", "2"],
    ]
    assert csv_rows(user_client, "customers", customer="C-101")[1:] == [
        ["customer_id", "customer_name", "revenue", "invoice_count"],
        ["C-101", "Globex Inc", "151.50", "2"],
    ]
    assert csv_rows(user_client, "quality")[2:] == [
        [str(known.pk), f"#{known.pk} known.csv", "INVALID_DATE", "1"],
        [str(known.pk), f"#{known.pk} known.csv", "TOTAL_MISMATCH", "1"],
    ]
    assert user_client.get("/visualization/dashboard/csv/nope.csv").status_code == 404
    assert (
        user_client.get("/visualization/dashboard/csv/monthly.csv", {"top": "1", "start": "x"}).status_code
        == 400
    )


def test_csv_neutralises_formulas(user_client):
    batch = batch_make()
    Customer.objects.create(customer_id="X-1", customer_name="=HYPERLINK(1)")
    invoice_create(batch, "F1", "2024-05-01", "X-1", "API Access", "PAID", 1, "1.00")
    daily_sales_refresh()
    assert csv_rows(user_client, "customers")[2][1] == "'=HYPERLINK(1)"


def test_empty_warehouse_explains_how_to_load(user_client):
    html = user_client.get(URL).content.decode()
    assert "python manage.py load_invoices PATH" in html
    assert "dashboard-figures" not in html and "plotly-basic" not in html


def test_hostile_customer_name_is_text(user_client):
    batch = batch_make()
    name = "<img src=x onerror=alert(1)>"
    Customer.objects.create(customer_id="X-1", customer_name=name)
    invoice_create(batch, "X1", "2024-05-01", "X-1", "API Access", "PENDING", 1, "5.00")
    daily_sales_refresh()
    response = user_client.get(URL)
    html = response.content.decode()
    assert name not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the customer filter's option, as text
    assert figures(response)["pending"]["data"][0]["y"] == ["&lt;img src=x onerror=alert(1)&gt; (X-1)"]


def test_login_required_redirects_to_admin_login(client, known):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=")


def test_public_when_login_not_required(client, known, settings):
    settings.DASHBOARD_REQUIRE_LOGIN = False
    assert client.get(URL).status_code == 200


def test_revenue_statuses_setting(user_client, known, settings):
    settings.DASHBOARD_REVENUE_STATUSES = ["PAID"]
    html = user_client.get(URL).content.decode()
    assert "$200.05" in html and "<strong>PAID</strong>" in html


def test_favicon_is_served_so_browsers_log_no_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("dashboard/favicon.svg")


def _sql_totals(start: str, end: str, statuses=("PAID", "PENDING", "PROCESSING")) -> tuple[Decimal, int]:
    marks = ", ".join(["%s"] * len(statuses))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(f.total), 0), COUNT(*) FROM fact_invoices f"
            " JOIN dim_status s ON s.status_key = f.status_key"
            f" WHERE f.issue_date BETWEEN %s AND %s AND s.status_name IN ({marks})",
            [start, end, *statuses],
        )
        total, count = cursor.fetchone()
    return Decimal(total).quantize(Decimal("0.01")), count


def _changes(html: str) -> dict:
    return {
        key: (Decimal(delta), percent and Decimal(percent))
        for key, delta, percent in re.findall(
            r'id="kpi-(\w+)".*?class="change \w+" data-delta="([-\d.]+)" data-percent="([-\d.]*)"', html, re.S
        )
    }


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        ("2024-03-01", "2024-03-31", ("2024-01-30", "2024-02-29")),
        ("2024-02-01", "2024-03-15", ("2023-12-19", "2024-01-31")),
        ("2024-01-12", "2024-03-31", ("2023-10-24", "2024-01-11")),
        ("2024-01-16", "2024-03-01", ("2023-12-01", "2024-01-15")),
    ],
)
def test_previous_period_change_equals_sql_over_the_facts(
    user_client, known, start, end, before: tuple[str, str]
):
    html = user_client.get(URL, {"start": start, "end": end, "compare": "previous"}).content.decode()
    days = (dt.date.fromisoformat(before[1]) - dt.date.fromisoformat(before[0])).days + 1
    label = f"previous {days} days ({dates_text(*map(dt.date.fromisoformat, before))})"
    now_revenue, now_count = _sql_totals(start, end)
    was_revenue, was_count = _sql_totals(*before)
    now_pending, _ = _sql_totals(start, end, ("PENDING",))
    was_pending, _ = _sql_totals(*before, ("PENDING",))
    changes = _changes(html)
    if not (was_count or was_pending):
        assert changes == {} and html.count(f"vs {label}: no data") == 4
        return
    assert changes["revenue"][0] == now_revenue - was_revenue
    assert changes["invoices"][0] == now_count - was_count
    assert changes["pending"][0] == now_pending - was_pending
    if was_revenue:
        percent = ((now_revenue - was_revenue) / was_revenue * 100).quantize(Decimal("0.1"))
        assert changes["revenue"][1] == percent
    assert f"vs {label}" in html


def test_change_is_marked_up_or_down_with_value_and_percent(user_client, known):
    html = user_client.get(URL, {"start": "2024-03-01", "end": "2024-03-31"}).content.decode()
    assert re.search(
        r'class="change up"[^>]*>\s*<span aria-hidden="true">▲</span> \+\$71\.05 \(\+236\.8 %\)', html
    )
    assert re.search(
        r'class="change up"[^>]*>\s*<span aria-hidden="true">▲</span> \+\$101\.00 <span', html
    )  # pending: nothing was pending before, no percent
    html = user_client.get(URL, {"start": "2024-02-01", "end": "2024-02-29"}).content.decode()
    assert re.search(
        r'class="change down"[^>]*>\s*<span aria-hidden="true">▼</span> \N{MINUS SIGN}\$220\.50 '
        r"\(\N{MINUS SIGN}88\.0 %\)",
        html,
    )


def test_no_previous_data_says_so(user_client, known):
    html = user_client.get(URL, {"start": "2024-01-01", "end": "2024-01-31"}).content.decode()
    assert (
        "vs Dec 2023 (1\N{EN DASH}31 Dec): no data" in html
        and "data-delta" not in html.split('id="kpi-rejection"')[0]
    )
    assert "no comparison for all time" in user_client.get(URL).content.decode()


def test_status_boxes_are_ticked_for_the_counted_statuses(user_client, known):
    def ticked(html):
        return re.findall(r'name="status" value="(\w+)" checked', html)

    assert ticked(user_client.get(URL).content.decode()) == ["PAID", "PENDING", "PROCESSING"]
    assert ticked(user_client.get(URL, {"status": ["REFUNDED"]}).content.decode()) == ["REFUNDED"]


def test_applied_filters_are_chips_that_remove_themselves(user_client, known):
    query = {"customer": "C-100", "status": ["PAID", "PROCESSING"], "start": "2024-01-01"}
    html = user_client.get(URL, query).content.decode()
    chips = re.findall(r'<li class="chip">(.*?) <a class="remove" href="\?([^"]*)"', html)
    assert [(label, unescape(href)) for label, href in chips] == [
        ("From 2024-01-01", "customer=C-100&status=PAID&status=PROCESSING"),
        ("Customer Acme Corp (C-100)", "status=PAID&status=PROCESSING&start=2024-01-01"),
        ("Status PAID", "customer=C-100&status=PROCESSING&start=2024-01-01"),
        ("Status PROCESSING", "customer=C-100&status=PAID&start=2024-01-01"),
    ]
    assert 'id="applied-filters"' not in user_client.get(URL).content.decode()


def test_rejected_latest_load_is_the_latest_file_not_a_reprocessing(user_client, known):
    batch_make(file_name="reprocess of 2 rows", file_path="", sha256="", rows_read=2, rows_loaded=2)
    html = user_client.get(URL).content.decode()
    assert "22.22%" in html and f"known.csv (batch #{known.pk}): 2 of 9 rows" in html
    assert "no earlier load to compare" in html
    later = batch_make(file_name="later.csv", sha256="1" * 64, rows_read=25, rows_rejected=25)
    html = user_client.get(URL).content.decode()
    assert f"later.csv (batch #{later.pk}): 25 of 25 rows" in html
    assert "+77.78 pts" in html and f"vs batch #{known.pk}" in html
