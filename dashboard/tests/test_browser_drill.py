"""Drill-through in a real Chromium: a month to its days, a day to its invoices (equal to SQL
over fact_invoices), tick labels that never repeat, a KPI's invoices, sorting and pages."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGE = "/visualization/dashboard/"
DESKTOP = {"width": 1366, "height": 900}


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")


def _ticks(page) -> list[str]:
    return page.eval_on_selector_all("#chart-monthly .xtick text", "ts => ts.map(t => t.textContent)")


def _bars(page):
    """The series' own bars (a comparison's grey bars are a second trace beside them)."""
    return page.locator("#chart-monthly .barlayer .trace").first.locator(".point path")


def _bar(page, index: int) -> None:
    mark = _bars(page).nth(index)
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)


def _sql(start: str, end: str, statuses=("PAID", "PENDING", "PROCESSING")) -> tuple[list[str], Decimal]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.invoice_id, f.total FROM fact_invoices f"
            " JOIN dim_status s ON s.status_key = f.status_key"
            " WHERE f.issue_date BETWEEN %s AND %s"
            f" AND s.status_name IN ({', '.join(['%s'] * len(statuses))})"
            " ORDER BY f.issue_date DESC, f.invoice_id DESC",
            [start, end, *statuses],
        )
        rows = cursor.fetchall()
    return [r[0] for r in rows], sum((Decimal(r[1]) for r in rows), Decimal("0.00"))


def _table_ids(page) -> list[str]:
    return page.locator("#invoice-table tbody tr td:first-child").all_inner_texts()


def _summary(page) -> tuple[int, Decimal]:
    text = page.inner_text("#invoice-summary")
    found = re.match(r"([\d,]+) invoices?, total \$([\d,.]+)", text)
    assert found is not None, text
    return int(found.group(1).replace(",", "")), Decimal(found.group(2).replace(",", ""))


@pytest.mark.parametrize("viewport", [DESKTOP, {"width": 390, "height": 844}])
def test_months_beyond_four_are_labelled_as_months(seeded_warehouse, watched_page, live_server, viewport):
    _, page, _, errors = watched_page(viewport=viewport)
    ranges = [("2024-01-01", "2024-05-31"), ("2024-01-01", "2024-06-30"), ("2023-01-01", "2024-12-31")]
    for start, end in ranges:
        _open(page, f"{live_server.url}{PAGE}?start={start}&end={end}&grain=month")
        ticks = _ticks(page)
        assert ticks and len(ticks) == len(set(ticks)), (start, end, ticks)
        assert all(re.fullmatch(r"[A-Z][a-z]{2} '\d\d", tick) for tick in ticks), (start, end, ticks)
    assert not errors


def test_a_month_drills_to_its_days_and_a_day_opens_its_invoices(seeded_warehouse, watched_page, live_server):
    context, page, _, errors = watched_page(viewport=DESKTOP)
    _open(page, f"{live_server.url}{PAGE}")
    ticks = _ticks(page)
    assert ticks and len(ticks) == len(set(ticks)), ticks

    # A month: its menu offers its days; they replace the months, one tick label per label.
    _bar(page, 4)
    assert page.is_visible("#point-menu") and page.inner_text("#point-menu a.drill") == "Show its days"
    with page.expect_navigation():
        page.click("#point-menu a.drill")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")
    query = parse_qs(urlparse(page.url).query)
    first = dt.date.fromisoformat(query["start"][0])
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    assert (query["end"][0], first.day) == (last.isoformat(), 1)
    assert "Daily sales and cumulative revenue" in page.inner_text(".charts")
    assert _bars(page).count() == last.day
    ticks = _ticks(page)
    assert 1 < len(ticks) == len(set(ticks)), ticks

    # A day: its menu offers only its invoices; the table holds exactly SQL's invoices of that day.
    index = 9
    _bar(page, index)
    assert page.is_hidden("#point-menu a.drill")
    with page.expect_navigation():
        page.click("#point-menu a.invoices")
    day = (first + dt.timedelta(index)).isoformat()
    assert parse_qs(urlparse(page.url).query) == {"start": [day], "end": [day]}
    ids, total = _sql(day, day)
    assert ids and _table_ids(page) == ids[:50]
    assert _summary(page) == (len(ids), total)
    assert set(page.locator("#invoice-table tbody tr td:nth-child(2)").all_inner_texts()) == {day}

    # Sorted by total, largest first, by a click on its heading; a second click: smallest first.
    with page.expect_navigation():
        page.click("#invoice-table th a:text-is('Total')")
    totals = [
        Decimal(t.replace(",", ""))
        for t in page.locator("#invoice-table tbody td:nth-child(8)").all_inner_texts()
    ]
    assert totals == sorted(totals, reverse=True) and parse_qs(urlparse(page.url).query)["sort"] == ["-total"]
    with page.expect_navigation():
        page.click("#invoice-table th a:text-is('Total')")
    assert parse_qs(urlparse(page.url).query)["sort"] == ["total"]
    assert page.get_attribute("#invoice-table th[aria-sort]", "aria-sort") == "ascending"
    context.close()
    assert errors == []


def test_a_quarter_has_weekly_bars_with_distinct_ticks_and_a_kpi_opens_its_invoices(
    seeded_warehouse, watched_page, live_server
):
    context, page, _, errors = watched_page(viewport=DESKTOP)
    _open(page, f"{live_server.url}{PAGE}?start=2023-04-01&end=2023-06-30")
    assert "Weekly sales and cumulative revenue" in page.inner_text(".charts")
    ticks = _ticks(page)
    assert 1 < len(ticks) == len(set(ticks)), ticks
    page.select_option("#id_grain", "month")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**grain=month**")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")
    assert _ticks(page) == ["Apr '23", "May '23", "Jun '23"]
    page.select_option("#id_grain", "")  # back to Auto: no grain in the URL
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "grain" not in parse_qs(urlparse(page.url).query)
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")

    with page.expect_navigation():
        page.click("#kpi-pending a.invoices")
    ids, total = _sql("2023-04-01", "2023-06-30", ("PENDING",))
    assert _summary(page) == (len(ids), total) and _table_ids(page) == ids[:50]
    seen = list(_table_ids(page))
    while page.locator("#page-next").count():
        with page.expect_navigation():
            page.click("#page-next")
        seen += _table_ids(page)
    assert seen == ids
    context.close()
    assert errors == []
