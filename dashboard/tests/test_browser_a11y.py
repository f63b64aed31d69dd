"""What a keyboard, screen-reader, touch or colour-blind user gets, in Chromium on the
reference export: axe-core finds no violation, minor ones included, on the dashboard and its
invoices (the steward's pages: ingestion's test_browser_a11y); a bar is drilled from the
keyboard; Enter applies a filter; each chart has a name, a summary and a data table (compared
with SQL); 44 px targets at 390 px; rejection reasons told apart by deuteranopes; KPI changes
coloured by what they mean."""

import calendar
import itertools
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.tests.axe import EVERY_IMPACT, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGE = "/visualization/dashboard/"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
DRAWN = "() => document.documentElement.dataset.chartsDrawn !== undefined"


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(DRAWN)


def _sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


PENDING_SQL = (
    "SELECT c.customer_id, SUM(f.total) FROM fact_invoices f"
    " JOIN dim_status s ON s.status_key = f.status_key"
    " JOIN dim_customer c ON c.customer_key = f.customer_key"
    " WHERE s.status_name = 'PENDING' GROUP BY c.customer_id ORDER BY SUM(f.total) DESC, c.customer_id"
)


def test_axe_finds_nothing_on_the_dashboard_and_its_invoices(seeded_warehouse, watched_page, live_server):
    found = {}
    layouts: dict[str, dict[str, Any]] = {
        "desktop light": {"viewport": DESKTOP},
        "desktop dark": {"viewport": DESKTOP, "color_scheme": "dark"},
        "phone": {"viewport": PHONE, "has_touch": True, "is_mobile": True},
    }
    for name, options in layouts.items():
        context, page, _, errors = watched_page(**options)
        _open(page, f"{live_server.url}{PAGE}?start=2023-03-01&end=2023-05-31")
        page.locator("details.data-table").first.evaluate("d => d.open = true")
        found[name] = axe_violations(page, EVERY_IMPACT)
        page.goto(f"{live_server.url}{PAGE}?start=1999-01-01&end=1999-01-31")  # the empty state
        found[name + ", nothing matches"] = axe_violations(page, EVERY_IMPACT)
        page.goto(f"{live_server.url}{PAGE}invoices/?start=2023-03-01&end=2023-05-31&sort=total")
        found[name + ", invoices"] = axe_violations(page, EVERY_IMPACT)
        context.close()
        assert errors == []
    assert found == {name: [] for name in found}


def test_each_chart_is_named_summarised_and_tabulated_as_sql_says(
    seeded_warehouse, watched_page, live_server
):
    from dashboard.charts import CHARTS

    context, page, _, errors = watched_page(viewport=DESKTOP)
    _open(page, f"{live_server.url}{PAGE}")
    for name, chart in CHARTS.items():
        plot = page.locator(f"#chart-{name}")
        assert plot.get_attribute("role") == "group"
        assert page.locator(f"#{plot.get_attribute('aria-labelledby')}").inner_text() == chart.title
        described = [
            page.locator(f"#{i}").inner_text() for i in plot.get_attribute("aria-describedby").split()
        ]
        assert described[0] and described[1].startswith(("Click", "From the keyboard")), described
        assert page.locator(f"#table-{name} tbody tr").count() > 0
    table = page.locator("#table-pending")
    table.locator("summary").click()
    shown = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText))"
    )
    expected = _sql(PENDING_SQL)[:15]
    assert [(r[0], Decimal(r[2].replace("$", "").replace(",", ""))) for r in shown] == [
        (cid, Decimal(total).quantize(Decimal("0.01"))) for cid, total in expected
    ]
    top = shown[0]
    summary = page.locator("#summary-pending").inner_text()
    assert f"highest {top[1]} ({top[0]}) at {top[2]}" in summary
    context.close()
    assert errors == []


def test_a_bar_is_drilled_from_the_keyboard(seeded_warehouse, watched_page, live_server):
    context, page, _, errors = watched_page(viewport=DESKTOP)
    _open(page, f"{live_server.url}{PAGE}")
    stops = []
    for _ in range(120):  # Tab through the page, noting each chart's stops
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "() => { const e = document.activeElement, card = e.closest('.card');"
                " return card ? card.querySelector('.chart').id + ' ' + (e.dataset.title ||"
                " e.className || e.tagName) : null; }"
            )
        )
    per_chart: dict[str, list[str]] = {}
    for stop in filter(None, stops):
        chart, what = stop.split(" ", 1)
        per_chart.setdefault(chart, [])
        if what not in per_chart[chart]:
            per_chart[chart].append(what)
    assert len(per_chart) == 6
    for chart, what in per_chart.items():  # link, chart, PNG button, data table: no more
        assert what == ["csv", "chart js-plotly-plot", "Download plot as a PNG", "SUMMARY"], (chart, what)
    sixth_csv = [i for i, s in enumerate(stops, 1) if s and s.endswith(" csv")][5]
    print(f"\nthe 6th chart's CSV link is Tab number {sixth_csv}")

    page.locator("#chart-pending").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = _sql(PENDING_SQL)[1][0]
    announced = page.locator("#live-pending").inner_text()
    assert announced.startswith("2 of ") and second in announced and "Enter filters by it" in announced
    assert page.locator("#chart-pending .hoverlayer .hovertext").count() == 1  # the hover is shown
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_function(DRAWN)
    assert parse_qs(urlparse(page.url).query) == {"customer": [second]}
    assert page.locator("#table-pending tbody tr").count() == 1
    context.close()
    assert errors == []


def test_enter_in_a_filter_applies_it(seeded_warehouse, watched_page, live_server):
    context, page, _, errors = watched_page(viewport=DESKTOP)
    _open(page, f"{live_server.url}{PAGE}")
    page.locator("select[name=customer]").select_option("C-103")
    page.locator("select[name=customer]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert parse_qs(urlparse(page.url).query)["customer"] == ["C-103"]
    page.wait_for_function(DRAWN)
    page.locator("input[name=status][value=CANCELLED]").focus()
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert parse_qs(urlparse(page.url).query)["status"] == ["CANCELLED", "PAID", "PENDING", "PROCESSING"]
    context.close()
    assert errors == []


TARGETS = (
    ".top a, .preset, .filters select, .filters input[type=date], .filters label.check, .filters button,"
    " .actions a, .chip .remove, .card .csv, .data-table summary, .modebar-btn"
)


def test_touch_targets_are_44px_at_390px_and_the_toolbar_clears_the_bars(
    seeded_warehouse, watched_page, live_server
):
    context, page, _, errors = watched_page(viewport=PHONE, has_touch=True, is_mobile=True)
    _open(page, f"{live_server.url}{PAGE}?customer=C-101")
    boxes = page.locator(TARGETS).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.className.baseVal === undefined ? e.className || e.tagName : e.tagName,"
        " e.dataset.title || e.textContent.trim().slice(0, 20), r.width, r.height]; })"
    )
    assert len(boxes) > 30
    assert [b for b in boxes if b[2] < 44 or b[3] < 44] == []
    for name in ("pending", "customers", "items", "monthly"):
        toolbar = page.locator(f"#chart-{name} .modebar").bounding_box()
        plot = page.locator(f"#chart-{name} .draglayer .nsewdrag").first.bounding_box()
        assert toolbar["y"] + toolbar["height"] <= plot["y"] + 1, name  # above the plot area
        assert (
            page.locator(f"#chart-{name} .modebar-group").first.evaluate("g => getComputedStyle(g).opacity")
            == "1"
        )
    context.close()
    assert errors == []


# Machado, Oliveira and Fernandes (2009): full deuteranopia, in linear RGB.
DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)


def _deuteranope_lab(color: str) -> tuple[float, float, float]:
    """CIELAB of the colour as a deuteranope sees it."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = [linear(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5)]
    r, g, b = (max(0.0, min(1.0, sum(m * c for m, c in zip(row, rgb, strict=True)))) for row in DEUTERANOPIA)
    x, y, z = (
        0.4124 * r + 0.3576 * g + 0.1805 * b,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        0.0193 * r + 0.1192 * g + 0.9505 * b,
    )

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x / 0.95047), f(y), f(z / 1.08883)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _closest(fills: list[tuple[str, str]]) -> float:
    """The smallest colour difference (CIE76) a deuteranope sees between fills of one pattern."""
    return min(
        sum((p - q) ** 2 for p, q in zip(_deuteranope_lab(a), _deuteranope_lab(b), strict=True)) ** 0.5
        for (a, shape_a), (b, shape_b) in itertools.combinations(fills, 2)
        if shape_a == shape_b
    )


BAD_ROWS = (
    ",2024-01-05,C-100,Acme,Server Setup,1,10,10,Paid",  # UNKNOWN_INVOICE_ID
    "B-2,2024-13-05,C-100,Acme,Server Setup,1,10,10,Paid",  # INVALID_DATE
    "B-3,2024-01-05,C-999,Who,Server Setup,1,10,10,Paid",  # UNKNOWN_CUSTOMER
    "B-4,2024-01-05,C-100,Acme,Nothing,1,10,10,Paid",  # UNKNOWN_ITEM
    "B-5,2024-01-05,C-100,Acme,Server Setup,1,10,10,Lost",  # UNKNOWN_STATUS
    "B-6,2024-01-05,C-100,Acme,Server Setup,0,10,0,Paid",  # INVALID_QUANTITY
    "B-7,2024-01-05,C-100,Acme,Server Setup,1,x,10,Paid",  # INVALID_UNIT_PRICE
    "B-8,2024-01-05,C-100,Acme,Server Setup,1,10,,Paid",  # INVALID_TOTAL
    "B-9,2024-01-05,C-100,Acme,Server Setup,1,10,11,Paid",  # TOTAL_MISMATCH
)


def test_rejection_reasons_stay_apart_for_deuteranopes_and_clear_of_the_legend(
    reference_data, watched_page, live_server, tmp_path
):
    from dashboard.palette import REASON_COLORS
    from ingestion.tests.files import ingest, write_invoices

    # The colours the chart had before: red and green merge for a deuteranope.
    assert _closest([("#d62728", ""), ("#2ca02c", "")]) < 10
    assert _closest([(c, "") for c in REASON_COLORS]) > 15
    for n in range(12):
        good = f"G-{n},2024-01-05,C-100,Acme,Server Setup,1,10,10,Paid"
        dup = f"G-{n},2024-01-05,C-100,Acme,Server Setup,1,10,10,Paid"  # DUPLICATE_INVOICE_ID
        batch = ingest(
            write_invoices(tmp_path, good, *BAD_ROWS, dup, name=f"monthly-export-{n:02}-long-name.csv")
        )
        assert len(batch.reason_counts) == 10, batch.reason_counts
    for viewport in (DESKTOP, PHONE):
        context, page, _, errors = watched_page(viewport=viewport)
        _open(page, f"{live_server.url}{PAGE}")
        chart = page.locator("#chart-quality")
        fills = chart.evaluate("p => p.data.map(t => [t.marker.color, (t.marker.pattern || {}).shape || ''])")
        assert len(fills) == 10 and len(set(map(tuple, fills))) == 10
        assert _closest([tuple(f) for f in fills]) > 15
        # Every fill is drawn: a hatched one on its colour (no see-through background).
        backgrounds = chart.evaluate(
            "p => p._fullData.filter(t => t.marker.pattern.shape)"
            ".map(t => [t.marker.pattern.bgcolor, t.marker.color])"
        )
        assert backgrounds and all(bg == color for bg, color in backgrounds)
        assert chart.locator(".legend .traces").count() == 10
        ticks = chart.locator(".xtick text").evaluate_all("ts => ts.map(t => t.getBoundingClientRect())")
        legend = chart.locator(".legend").bounding_box()
        assert len(ticks) == 10
        assert all(t["bottom"] <= legend["y"] for t in ticks), (viewport, ticks, legend)
        assert all(t["height"] < 20 for t in ticks)  # horizontal
        context.close()
        assert errors == []


def test_kpi_changes_are_good_or_bad_by_meaning(seeded_warehouse, watched_page, live_server):
    """Months where pending rose and revenue fell, read from SQL: pending's rise is bad."""
    rows = _sql(
        "SELECT SUBSTR(CAST(f.issue_date AS CHAR), 1, 7) AS m,"
        " SUM(CASE WHEN s.status_name = 'PENDING' THEN f.total ELSE 0 END),"
        " SUM(CASE WHEN s.status_name IN ('PAID', 'PENDING', 'PROCESSING') THEN f.total ELSE 0 END)"
        " FROM fact_invoices f JOIN dim_status s ON s.status_key = f.status_key GROUP BY m ORDER BY m"
    )
    context, page, _, errors = watched_page(viewport=DESKTOP)
    seen = set()
    for (_, pending_before, revenue_before), (month, pending, revenue) in itertools.pairwise(rows[:12]):
        if pending == pending_before or revenue == revenue_before:
            continue
        last = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
        page.goto(f"{live_server.url}{PAGE}?start={month}-01&end={month}-{last}&compare=calendar")
        for key, rose, rising_is_good in (
            ("pending", pending > pending_before, False),
            ("revenue", None, True),
        ):
            change = page.locator(f"#kpi-{key} .change")
            up = Decimal(change.get_attribute("data-delta")) > 0
            if rose is not None:
                assert up == rose
            tone = "good" if up == rising_is_good else "bad"
            assert change.get_attribute("data-tone") == tone, (month, key)
            color = change.evaluate("e => getComputedStyle(e).color")
            assert color == {"good": "rgb(4, 120, 87)", "bad": "rgb(185, 28, 28)"}[tone]
            assert (
                change.locator(".visually-hidden").inner_text()
                == {"good": "(better)", "bad": "(worse)"}[tone]
            )
            seen.add((key, tone))
    context.close()
    assert errors == []
    assert ("pending", "bad") in seen and ("pending", "good") in seen
