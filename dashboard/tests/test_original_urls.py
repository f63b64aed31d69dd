"""The original project's two URLs, as docs/coming-from-the-original.md documents them: every
example on that page is replayed here against the same small warehouse, and the rules the page
states in words (defaults, bounds, access, slash, methods) are checked one by one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from api.refusals import AUTHENTICATION_REQUIRED
from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer
from warehouse.tests.factories import batch_make, invoice_create

pytestmark = pytest.mark.django_db

PAGE = Path(__file__).resolve().parents[2] / "docs" / "coming-from-the-original.md"
CUSTOMERS = "/api/sells/customers/"
TIME = "/api/sells/time/"
NO_VIEW_SALES = "permission required: dashboard.view_sales"  # as the page prints it


def page_examples() -> list[tuple[str, int, object]]:
    """The page's ```text blocks: ``GET <url>``, ``HTTP <status>``, then the JSON answer."""
    blocks = re.findall(r"```text\n(GET [^\n]+)\nHTTP (\d{3})\n(.*?)```", PAGE.read_text(), re.S)
    return [(request.removeprefix("GET "), int(status), json.loads(body)) for request, status, body in blocks]


def test_the_page_shows_an_example_for_each_url_and_each_kind_of_answer():
    examples = page_examples()
    assert {url.split("?")[0] for url, _, _ in examples} == {CUSTOMERS, TIME}
    assert {status for _, status, _ in examples} == {200, 400}
    assert len(examples) >= 8


@pytest.mark.parametrize(("url", "status", "answer"), page_examples(), ids=lambda v: str(v)[:60])
def test_every_example_on_the_page_is_the_answer_given(user_client, known, url, status, answer):
    response = user_client.get(url)
    assert (response.status_code, response.json()) == (status, answer)


def test_top_defaults_to_ten_customers_also_when_empty(user_client, known):
    batch = batch_make(file_name="many.csv", sha256="1" * 64)
    for n in range(12):
        Customer.objects.create(customer_id=f"C-9{n:02}", customer_name=f"Customer {n}")
        invoice_create(batch, f"M{n}", "2024-05-02", f"C-9{n:02}", "API Access", "PAID", 1, f"{n + 1}.00")
    daily_sales_refresh()
    for params in ({}, {"top": ""}):
        assert len(user_client.get(CUSTOMERS, params).json()["results"]) == 10
    assert len(user_client.get(CUSTOMERS, {"top": 1000}).json()["results"]) == 15


@pytest.mark.parametrize(
    ("url", "params", "error"),
    [
        (CUSTOMERS, {"top": "1001"}, "top: Ensure this value is less than or equal to 1000."),
        (CUSTOMERS, {"top": "2.5"}, "top: Enter a whole number."),
        (
            TIME,
            {"period": "Monthly"},
            "period: Select a valid choice. Monthly is not one of the available choices.",
        ),
        (TIME, {"start": "0999-12-31"}, "start: must be between 1000-01-01 and 9999-12-31"),
    ],
)
def test_the_other_refusals_the_page_names(user_client, known, url, params, error):
    response = user_client.get(url, params)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_period_defaults_to_monthly_and_unknown_parameters_are_ignored(user_client, known):
    monthly = user_client.get(TIME, {"period": "monthly"}).json()
    assert user_client.get(TIME).json() == monthly
    assert user_client.get(TIME, {"period": "", "colour": "blue"}).json() == monthly
    assert monthly["results"][0]["period"] == "2024-01"


@pytest.mark.parametrize("url", [f"{CUSTOMERS}?top=2", f"{TIME}?period=weekly"])
def test_without_the_trailing_slash_the_answer_is_a_redirect_keeping_the_query(user_client, known, url):
    bare = url.replace("/?", "?")
    response = user_client.get(bare)
    assert (response.status_code, response["Location"]) == (301, url)


@pytest.mark.parametrize("method", ["post", "head"])
def test_only_get_is_answered(user_client, known, method):
    response = getattr(user_client, method)(CUSTOMERS)
    assert response.status_code == 405
    assert response.get("Content-Type", "") != "application/json"


def test_access_anonymous_401_without_the_permission_403_public_when_login_is_not_required(
    known, staff_user, logged_in, settings
):
    clerk = logged_in(staff_user("clerk", "view_loadbatch"))
    for url in (CUSTOMERS, TIME):
        anonymous = Client().get(url)
        assert (anonymous.status_code, anonymous.json()) == (401, {"error": AUTHENTICATION_REQUIRED})
        other = clerk.get(url)
        assert (other.status_code, other.json()) == (
            403,
            {"error": "permission required: dashboard.view_sales"},
        )
    settings.DASHBOARD_REQUIRE_LOGIN = False
    assert Client().get(CUSTOMERS, {"top": 2}).json()["results"][0]["customer_id"] == "C-100"
