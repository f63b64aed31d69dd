"""A chart's PNG download, in Chromium, is named like its CSV: after the chart, its filters and
its dates (one name function, ``Chart.file_stem`` in ``dashboard/charts.py``), whatever the grain."""

import re
from urllib.parse import urljoin

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGE = "/visualization/dashboard/"
PNG_BUTTON = ".modebar-btn[data-title='Download plot as a PNG']"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _csv_name(context, url: str) -> str:
    answer = context.request.get(url)
    assert answer.status == 200
    named = re.fullmatch(r'attachment; filename="(.+)"', answer.headers["content-disposition"])
    assert named is not None
    return named[1]


@pytest.mark.parametrize(
    "query",
    [
        "start=2023-03-01&end=2023-05-31&customer=C-101&status=PAID&status=PENDING",
        "start=2023-03-01&end=2023-03-31&item=API+Access&grain=day&compare=last_year",
    ],
)
def test_a_chart_png_is_named_like_its_csv(query, seeded_warehouse, watched_page, live_server):
    from dashboard.charts import CHARTS

    context, page, _, errors = watched_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page.goto(f"{live_server.url}{PAGE}?{query}")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")
    names = {}
    for name in CHARTS:
        card = page.locator(f"article.card:has(#chart-{name})")
        csv = _csv_name(context, urljoin(page.url, card.locator("a.csv").get_attribute("href")))
        with page.expect_download() as download:
            card.locator(PNG_BUTTON).click()
        png = download.value
        names[name] = (csv, png.suggested_filename)
        assert png.suggested_filename == csv.removesuffix(".csv") + ".png", name
        with open(png.path(), "rb") as drawn:
            assert drawn.read(8) == PNG_MAGIC
    context.close()
    assert errors == []
    sales_chart = names["customers"][1]
    assert "2023-03" in sales_chart and ("customer-C-101" in sales_chart or "item-API-Access" in sales_chart)
