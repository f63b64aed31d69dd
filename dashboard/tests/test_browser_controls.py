"""Every control the manual's table names (docs/dashboard-and-api.md, "Every control") is on
its page in Chromium, found by its label or accessible name: the dashboard with filters and a
comparison, the menu a click on a bar opens, and the invoices behind a figure."""

import pytest

from dashboard.tests.controls import controls_missing, controls_table

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAGE = "/visualization/dashboard/"
DRAWN = "() => document.documentElement.dataset.chartsDrawn !== undefined"
FILTERED = "?start=2023-03-01&end=2023-05-31&customer=C-101&compare=previous&grain=month"


def _click_mark(page, selector: str) -> None:
    mark = page.locator(selector).first
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#point-menu").wait_for(state="visible")


def test_every_control_in_the_manual_is_on_its_page(seeded_warehouse, watched_page, live_server):
    controls = controls_table("dashboard-and-api.md")
    assert {c.page for c in controls} == {"dashboard", "point menu", "invoices"}
    context, page, _, errors = watched_page(viewport={"width": 1366, "height": 900})
    missing = []

    page.goto(f"{live_server.url}{PAGE}{FILTERED}")
    page.wait_for_function(DRAWN)
    page.locator("#chart-monthly").hover()  # the toolbar shows on hover
    missing += controls_missing(page, controls, "dashboard")

    menus = []  # a month's menu (Show its days), then a customer's (Filter by it)
    for selector in ("#chart-monthly .barlayer .point path", "#chart-customers .point path"):
        _click_mark(page, selector)
        menus.append(set(controls_missing(page, controls, "point menu")))
    missing += sorted(set.intersection(*menus))

    page.goto(f"{live_server.url}{PAGE}invoices/?start=2023-03-01&end=2023-05-31")
    with page.expect_navigation():
        page.click("#page-next")  # the second page has every page link
    missing += controls_missing(page, controls, "invoices")
    context.close()
    assert missing == [], "\n".join(missing)
    assert errors == []
