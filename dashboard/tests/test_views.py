import csv
import io
import json

import plotly.graph_objects as go
import pytest

from dashboard.charts import CHARTS
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer
from warehouse.tests.factories import batch_create, invoice_create

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
    assert bars["x"] == ["2024-01", "2024-02", "2024-03"] and bars["y"] == [250.5, 30.0, 101.05]
    assert line["yaxis"] == "y2" and line["y"] == [250.5, 280.5, 381.55]
    layout = figs["monthly"]["layout"]
    assert layout["hovermode"] == "x unified" and layout["xaxis"]["type"] == "category"
    assert layout["yaxis"]["tickformat"] == "$,.2f" and "$,.2f" in bars["hovertemplate"]
    assert figs["pending"]["data"][0]["y"] == ["Globex Inc (C-101)"]
    assert figs["status"]["data"][0]["x"] == ["PAID", "PENDING", "PROCESSING"]
    assert figs["quality"]["layout"]["barmode"] == "stack"
    assert [t["name"] for t in figs["quality"]["data"]] == ["INVALID_DATE", "TOTAL_MISMATCH"]


def test_pending_chart_is_top_15_sorted(user_client):
    batch = batch_create()
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
    assert figs["monthly"]["data"][0]["x"] == ["2024-01", "2024-02"]
    assert figs["customers"]["data"][0]["y"] == ["Acme Corp (C-100)"]
    assert figs["items"]["data"][0]["x"] == ["API Access", "Cloud Storage"]
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
    assert csv_rows(user_client, "monthly") == [
        ["period", "revenue", "cumulative", "invoice_count"],
        ["2024-01", "250.50", "250.50", "2"],
        ["2024-02", "30.00", "280.50", "1"],
        ["2024-03", "101.05", "381.55", "2"],
    ]
    assert csv_rows(user_client, "customers", customer="C-101") == [
        ["customer_id", "customer_name", "revenue", "invoice_count"],
        ["C-101", "Globex Inc", "151.50", "2"],
    ]
    assert csv_rows(user_client, "quality")[1:] == [
        [str(known.pk), f"#{known.pk} known.csv", "INVALID_DATE", "1"],
        [str(known.pk), f"#{known.pk} known.csv", "TOTAL_MISMATCH", "1"],
    ]
    assert user_client.get("/visualization/dashboard/csv/nope.csv").status_code == 404
    assert (
        user_client.get("/visualization/dashboard/csv/monthly.csv", {"top": "1", "start": "x"}).status_code
        == 400
    )


def test_csv_neutralises_formulas(user_client):
    batch = batch_create()
    Customer.objects.create(customer_id="X-1", customer_name="=HYPERLINK(1)")
    invoice_create(batch, "F1", "2024-05-01", "X-1", "API Access", "PAID", 1, "1.00")
    daily_sales_refresh()
    assert csv_rows(user_client, "customers")[1][1] == "'=HYPERLINK(1)"


def test_empty_warehouse_explains_how_to_load(user_client):
    html = user_client.get(URL).content.decode()
    assert "python manage.py load_invoices PATH" in html
    assert "dashboard-figures" not in html and "plotly.min.js" not in html


def test_hostile_customer_name_is_text(user_client):
    batch = batch_create()
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


def test_plotly_js_is_served_by_the_app(client):
    from django.contrib.staticfiles import finders

    path = finders.find("plotly/plotly.min.js")
    assert path and path.endswith("plotly/package_data/plotly.min.js")


def test_revenue_statuses_setting(user_client, known, settings):
    settings.DASHBOARD_REVENUE_STATUSES = ["PAID"]
    html = user_client.get(URL).content.decode()
    assert "$200.05" in html and "<strong>PAID</strong>" in html


def test_favicon_is_served_so_browsers_log_no_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("dashboard/favicon.svg")
