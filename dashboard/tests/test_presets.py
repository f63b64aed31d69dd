import datetime as dt

import pytest
import time_machine
from django.http import QueryDict

from dashboard.forms import date_presets, preset_links


def _ranges(today: str) -> dict:
    return {
        p.label: (p.start and p.start.isoformat(), p.end and p.end.isoformat())
        for p in date_presets(dt.date.fromisoformat(today))
    }


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (
            "2024-03-31",
            {
                "This month": ("2024-03-01", "2024-03-31"),
                "Last month": ("2024-02-01", "2024-02-29"),
                "Last 30 days": ("2024-03-02", "2024-03-31"),
                "Last 90 days": ("2024-01-02", "2024-03-31"),
                "Quarter to date": ("2024-01-01", "2024-03-31"),
                "Year to date": ("2024-01-01", "2024-03-31"),
                "Last year": ("2023-01-01", "2023-12-31"),
                "All time": (None, None),
            },
        ),
        (
            "2025-01-01",
            {
                "This month": ("2025-01-01", "2025-01-01"),
                "Last month": ("2024-12-01", "2024-12-31"),
                "Last 30 days": ("2024-12-03", "2025-01-01"),
                "Last 90 days": ("2024-10-04", "2025-01-01"),
                "Quarter to date": ("2025-01-01", "2025-01-01"),
                "Year to date": ("2025-01-01", "2025-01-01"),
                "Last year": ("2024-01-01", "2024-12-31"),
                "All time": (None, None),
            },
        ),
        (
            "2023-08-15",
            {
                "This month": ("2023-08-01", "2023-08-15"),
                "Last month": ("2023-07-01", "2023-07-31"),
                "Last 30 days": ("2023-07-17", "2023-08-15"),
                "Last 90 days": ("2023-05-18", "2023-08-15"),
                "Quarter to date": ("2023-07-01", "2023-08-15"),
                "Year to date": ("2023-01-01", "2023-08-15"),
                "Last year": ("2022-01-01", "2022-12-31"),
                "All time": (None, None),
            },
        ),
    ],
)
def test_presets_on_a_given_day(today, expected):
    assert _ranges(today) == expected


def test_preset_links_keep_the_other_filters_and_mark_the_active_one():
    query = QueryDict("customer=C-101&status=PAID&status=PENDING&start=2023-07-01&end=2023-07-31")
    links = {link["label"]: link for link in preset_links(query, dt.date(2023, 8, 15))}
    assert QueryDict(links["Year to date"]["query"]).dict() == {
        "customer": "C-101",
        "status": "PENDING",
        "start": "2023-01-01",
        "end": "2023-08-15",
    }
    assert QueryDict(links["Year to date"]["query"]).getlist("status") == ["PAID", "PENDING"]
    assert QueryDict(links["All time"]["query"]).dict() == {"customer": "C-101", "status": "PENDING"}
    assert [label for label, link in links.items() if link["active"]] == ["Last month"]


@pytest.mark.django_db
def test_the_page_computes_presets_from_the_local_date(user_client, known):
    with time_machine.travel(dt.datetime(2024, 2, 10, 12, tzinfo=dt.UTC), tick=False):
        html = user_client.get("/visualization/dashboard/", {"item": "API Access"}).content.decode()
    assert 'href="?item=API+Access&amp;start=2024-01-01&amp;end=2024-01-31">Last month</a>' in html
    assert 'href="?item=API+Access&amp;start=2024-01-12&amp;end=2024-02-10">Last 30 days</a>' in html
    assert 'class="preset active" href="?item=API+Access" aria-current="true">All time</a>' in html
