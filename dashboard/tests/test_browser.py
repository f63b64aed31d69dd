"""The dashboard in a real Chromium: charts drawn, no console errors, nothing leaves the host."""

from urllib.parse import urlparse

import pytest

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

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
    screenshot(page, "dashboard.png", full_page=True)

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
