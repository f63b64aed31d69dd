"""The dashboard in a real Chromium: charts drawn, no console errors, nothing leaves the host.

Saves dashboard.png (to docs/ under `make screenshots`): the last quarter of 2023 in the reference
export, by month, compared with the quarter before."""

from urllib.parse import urlparse

import pytest

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SCREENSHOT_QUERY = "start=2023-10-01&end=2023-12-31&grain=month"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _charts_drawn(page) -> int:
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot').length"
        " === document.querySelectorAll('.chart').length"
    )
    return page.locator(".js-plotly-plot").count()


def _columns(page) -> int:
    return len(page.eval_on_selector(".charts", "e => getComputedStyle(e).gridTemplateColumns").split())


def test_dashboard_in_chromium(seeded_warehouse, watched_page, live_server, screenshot):
    from dashboard.charts import CHARTS

    context, page, requests, errors = watched_page(viewport={"width": 1366, "height": 900})

    page.goto(f"{live_server.url}/visualization/dashboard/")

    assert _charts_drawn(page) == len(CHARTS)
    assert _columns(page) == 2
    revenue_all = page.inner_text("#kpi-revenue .value")

    # The manual's picture: a quarter by month, each card and month against the quarter before.
    page.goto(f"{live_server.url}/visualization/dashboard/?{SCREENSHOT_QUERY}")
    assert _charts_drawn(page) == len(CHARTS)
    assert page.locator("#kpi-revenue .change .vs").inner_text() == "vs Q3 2023 (1 Jul\u201330 Sep)"
    assert page.locator("#id_grain").input_value() == "month"
    assert page.locator("#chart-monthly .barlayer .trace").count() == 2  # the months and their comparison
    screenshot(page, "dashboard.png", full_page=True)

    page.goto(f"{live_server.url}/visualization/dashboard/")
    assert _charts_drawn(page) == len(CHARTS)

    page.select_option("#id_customer", "C-100")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**customer=C-100**")
    assert _charts_drawn(page) == len(CHARTS)
    assert page.inner_text("#kpi-revenue .value") != revenue_all

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    assert _columns(page) == 1
    context.close()

    assert errors == []
    hosts = {urlparse(url).hostname for url in requests if urlparse(url).scheme in ("http", "https")}
    assert hosts <= LOCAL_HOSTS, hosts
