"""The text alternative of a chart (summary and data table) and the tone of a KPI change:
pure functions, no database."""

import datetime as dt
from decimal import Decimal as D

from django.http import QueryDict

from dashboard import figures, kpis
from dashboard.alternatives import chart_alternative, drilled_query, summary

PENDING = [
    {
        "customer_id": "C-101",
        "customer_name": "Globex <Inc>",
        "pending_amount": D("1200.50"),
        "invoice_count": 3,
    },
    {"customer_id": "C-100", "customer_name": "Acme", "pending_amount": D("99.00"), "invoice_count": 1},
]
COLUMNS = ("customer_id", "customer_name", "pending_amount", "invoice_count")


def test_a_rows_link_is_the_page_with_the_filter_its_bar_applies():
    query = QueryDict("customer=C-100&status=PAID&status=PENDING&start=2024-01-01")
    alt = chart_alternative(
        "pending", PENDING, COLUMNS, figures.pending_customers(PENDING), query, drills=True
    )
    assert alt.headers == ["Customer id", "Customer name", "Pending amount", "Invoices"]
    assert alt.rows[0][1] == ["C-101", "Globex <Inc>", "$1,200.50", "3"]
    assert QueryDict(alt.rows[0][0]) == QueryDict(
        "customer=C-101&status=PAID&status=PENDING&start=2024-01-01"
    )
    assert alt.summary == (
        "2 customers by pending amount: highest Globex <Inc> (C-101) at $1,200.50, "
        "lowest Acme (C-100) at $99.00."
    )


def test_a_chart_that_does_not_drill_has_no_links():
    rows = [{"batch_id": 7, "batch": "#7 a.csv", "reason": "INVALID_DATE", "rejected_rows": 1200}]
    columns = ("batch_id", "batch", "reason", "rejected_rows")
    alt = chart_alternative("quality", rows, columns, figures.rejections(rows), QueryDict(""), drills=False)
    assert alt.rows == [("", ["7", "#7 a.csv", "INVALID_DATE", "1,200"])]
    assert alt.summary == "1,200 rejected rows over 1 loads, by reason: INVALID_DATE 1,200."


def test_drilled_query_replaces_every_value_of_a_drilled_parameter():
    assert QueryDict(
        drilled_query(QueryDict("start=2024-01-01&end=2024-12-31&item=A"), "start=2024-03-01&end=2024-03-31")
    ) == QueryDict("start=2024-03-01&end=2024-03-31&item=A")


def test_the_series_summary_names_its_span_extremes_and_comparison():
    rows = [
        {
            "period": "2024-01",
            "revenue": D("10"),
            "compare_start": dt.date(2023, 1, 1),
            "compare_revenue": D("4"),
        },
        {"period": "2024-02", "revenue": D("30"), "compare_start": None, "compare_revenue": D("0")},
    ]
    assert summary("monthly", rows) == (
        "2 periods from 2024-01 to 2024-02: revenue $40.00 in all; highest 2024-02 at $30.00, "
        "lowest 2024-01 at $10.00. The grey bars it is compared with total $4.00."
    )


def test_a_rise_is_good_for_revenue_and_bad_for_pending_and_rejections():
    revenue = kpis._change(D("12"), D("10"), str)
    pending = kpis._change(D("12"), D("10"), str, rising_is_good=False)
    falling_pending = kpis._change(D("8"), D("10"), str, rising_is_good=False)
    assert (revenue.direction, revenue.tone, revenue.tone_text) == ("up", "good", "better")
    assert (pending.direction, pending.tone, pending.tone_text) == ("up", "bad", "worse")
    assert (falling_pending.direction, falling_pending.tone) == ("down", "good")
    assert kpis._change(D("8"), D("8"), str).tone == "flat"
    latest = {
        "id": 2,
        "rejection_rate": D("5.00"),
        "rows_rejected": 5,
        "rows_read": 100,
        "finished_at": None,
        "previous": {"id": 1, "rejection_rate": D("1.00")},
    }
    card = kpis.rejection_card(latest)
    assert card.change is not None
    assert (card.change.direction, card.change.tone) == ("up", "bad")
