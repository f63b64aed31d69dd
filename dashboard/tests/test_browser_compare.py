"""The comparison selector and the presets anchored to the data, driven in Chromium on the
reference export (sales from 1 Jan 2023 to 1 Jan 2024) years after its last invoice; the
numbers the page shows are compared with SQL over fact_invoices."""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGE = "/visualization/dashboard/"
TODAY = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)  # long after the data's last day
N = "\N{EN DASH}"

# Preset -> (start, end) on the reference export, whatever today's date.
PRESETS = {
    "Latest month": ("2024-01-01", "2024-01-31"),
    "Latest quarter": ("2024-01-01", "2024-03-31"),
    "Latest year": ("2024-01-01", "2024-12-31"),
    "Last full month": ("2023-12-01", "2023-12-31"),
    "Last full quarter": ("2023-10-01", "2023-12-31"),
    "Last full year": ("2023-01-01", "2023-12-31"),
    "Year to date": ("2024-01-01", "2024-01-01"),
    "All time": ("", ""),
}


def _sql(start: str, end: str, customer: str | None = None) -> tuple[Decimal, int]:
    from django.db import connection

    where, params = "", [start, end]
    if customer:
        where, params = " AND c.customer_id = %s", [*params, customer]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(f.total), 0), COUNT(*) FROM fact_invoices f"
            " JOIN dim_status s ON s.status_key = f.status_key"
            " JOIN dim_customer c ON c.customer_key = f.customer_key"
            " WHERE f.issue_date BETWEEN %s AND %s AND s.status_name IN ('PAID', 'PENDING', 'PROCESSING')"
            + where,
            params,
        )
        total, count = cursor.fetchone()
    return Decimal(total).quantize(Decimal("0.01")), count


def _data_days() -> tuple[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(issue_date), MAX(issue_date) FROM fact_invoices")
        first, last = cursor.fetchone()
    return str(first), str(last)


def _drawn(page) -> None:
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")


def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace("\N{MINUS SIGN}", "-").split()[0])


def _card(page, key: str) -> dict:
    card = page.locator(f"#kpi-{key}")
    change = card.locator(".change")
    return {
        "value": card.locator(".value").inner_text(),
        "delta": change.get_attribute("data-delta"),
        "vs": change.locator(".vs").inner_text() if change.locator(".vs").count() else change.inner_text(),
    }


def test_presets_follow_the_data_not_today(seeded_warehouse, watched_page, live_server):
    assert _data_days() == ("2023-01-01", "2024-01-01")
    context, page, _, errors = watched_page(viewport={"width": 1366, "height": 900})
    with time_machine.travel(TODAY, tick=True):
        page.goto(f"{live_server.url}{PAGE}?customer=C-101")
        _drawn(page)
        data_range = page.inner_text("#data-range")
        assert data_range == f"Presets follow the data: sales from 1 Jan 2023{N}1 Jan 2024"
        for name, (start, end) in PRESETS.items():
            with page.expect_navigation():
                page.click(f"nav.presets a:text-is('{name}')")
            _drawn(page)  # figures, never "No invoices match"
            assert (page.input_value("#id_start"), page.input_value("#id_end")) == (start, end), name
            assert parse_qs(urlparse(page.url).query).get("customer") == ["C-101"], name
            assert page.inner_text("nav.presets a.active") == name
            revenue, _ = _sql(start or "1000-01-01", end or "9999-12-31", "C-101")
            assert _money(_card(page, "revenue")["value"]) == revenue, name

        # A range with no sales says where the data is and offers it.
        page.goto(f"{live_server.url}{PAGE}?start=2026-11-01&end=2026-11-30&customer=C-101")
        assert page.locator("#empty-state").inner_text().startswith("No invoices match these filters")
        assert f"The data covers 1 Jan 2023{N}1 Jan 2024" in page.inner_text("#empty-state")
        with page.expect_navigation():
            page.click("#data-range-link")
        _drawn(page)
        assert (page.input_value("#id_start"), page.input_value("#id_end")) == ("2023-01-01", "2024-01-01")
        assert parse_qs(urlparse(page.url).query)["customer"] == ["C-101"]
        assert _money(_card(page, "revenue")["value"]) == _sql("2023-01-01", "2024-01-01", "C-101")[0]
    context.close()
    assert errors == []


# Range, selector option -> the comparison's range, what every sales card says, the chart's legend.
CHOICES = [
    ("2023-10-01", "2023-12-31", "Automatic", ("2023-07-01", "2023-09-30"), f"Q3 2023 (1 Jul{N}30 Sep)", ""),
    ("2023-03-01", "2023-03-31", "Automatic", ("2023-02-01", "2023-02-28"), f"Feb 2023 (1{N}28 Feb)", ""),
    (
        "2023-03-01",
        "2023-03-31",
        "Previous period (same length)",
        ("2023-01-29", "2023-02-28"),
        f"previous 31 days (29 Jan{N}28 Feb 2023)",
        f"29 Jan{N}28 Feb 2023",
    ),
    (
        "2023-03-10",
        "2023-03-20",
        "Previous month / quarter / year",
        ("2023-02-10", "2023-02-20"),
        f"same days 1 month earlier (10{N}20 Feb 2023)",
        f"10{N}20 Feb 2023",
    ),
    (
        "2024-01-01",
        "2024-01-01",
        "Same period last year",
        ("2023-01-01", "2023-01-01"),
        "same days last year (1 Jan 2023)",
        "1 Jan 2023",
    ),
    (
        "2023-03-01",
        "2023-03-31",
        "Same period last year",
        ("2022-03-01", "2022-03-31"),
        f"Mar 2022 (1{N}31 Mar)",
        "",
    ),
]


def test_the_comparison_selector_changes_every_card_and_the_monthly_chart(
    seeded_warehouse, watched_page, live_server
):
    context, page, _, errors = watched_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}{PAGE}")
    _drawn(page)
    with page.expect_navigation():
        page.click("nav.presets a:text-is('Last full year')")
    _drawn(page)
    assert _card(page, "revenue")["vs"] == f"vs 2022 (1 Jan{N}31 Dec): no data"  # a year: the year before
    for start, end, option, before, named, legend in CHOICES:
        page.goto(f"{live_server.url}{PAGE}?start={start}&end={end}")
        _drawn(page)
        page.select_option("#id_compare", label=option)
        with page.expect_navigation():
            page.click("#filters button[type=submit]")
        _drawn(page)
        assert page.locator("#id_compare option:checked").inner_text() == option
        (now, now_count), (was, was_count) = _sql(start, end), _sql(*before)
        says = f"vs {named}" if was_count else f"vs {named}: no data"
        revenue, invoices = _card(page, "revenue"), _card(page, "invoices")
        assert _money(revenue["value"]) == now, option
        if was_count:
            assert Decimal(revenue["delta"]) == now - was, option
            assert Decimal(invoices["delta"]) == now_count - was_count, option
        else:
            assert revenue["delta"] is None
        for key in ("revenue", "invoices", "pending"):
            assert _card(page, key)["vs"] == says, (option, key)

        # The monthly chart: a grey bar beside each month, its own days in SQL, named in the legend.
        figure = json.loads(page.inner_text("#dashboard-figures"))["monthly"]
        compared = figure["data"][1]
        shown = page.locator("#chart-monthly .legendtext").nth(1).text_content()
        assert shown == f"vs {legend or named}", option  # the days of the whole comparison
        assert sum((Decimal(str(y)) for y in compared["y"]), Decimal(0)).quantize(Decimal("0.01")) == was, (
            option
        )
        assert page.locator("#chart-monthly .barlayer .trace").count() == 2
    context.close()
    assert errors == []


def test_390px_the_compared_monthly_chart_keeps_its_legend_clear(seeded_warehouse, watched_page, live_server):
    from dashboard.tests.test_browser_analyst import BOXES, GROUPS, _overlaps

    context, page, _, errors = watched_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}{PAGE}?start=2023-03-10&end=2023-12-20&compare=previous")
    _drawn(page)
    boxes = page.locator("#chart-monthly").evaluate(BOXES, GROUPS)
    chart = boxes.pop("chart")
    everything = [(group, b) for group, items in boxes.items() for b in items]
    for _, b in everything:
        assert chart["x"] - 1 <= b["x"] and b["x"] + b["width"] <= chart["x"] + chart["width"] + 1
    for i, (group_a, a) in enumerate(everything):
        for group_b, b in everything[i + 1 :]:
            assert not _overlaps(a, b), (group_a, a, group_b, b)
    assert page.locator("#chart-monthly .legendtext").count() == 3
    context.close()
    assert errors == []
