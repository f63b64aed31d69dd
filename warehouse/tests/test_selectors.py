import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from warehouse.aggregates import daily_sales_refresh
from warehouse.models import Customer, DailySales, Invoice
from warehouse.selectors import batches, sales
from warehouse.selectors.sales import SalesFilter
from warehouse.tests.factories import batch_make, invoice_create, known_warehouse_create

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def known():
    return known_warehouse_create()


def test_kpis_count_paid_pending_processing_by_default(known):
    kpis = sales.sales_kpis(filters=SalesFilter())
    assert kpis == {
        "revenue": D("381.55"),
        "invoice_count": 5,
        "average_invoice": D("76.31"),
        "pending_amount": D("151.50"),
        "pending_count": 2,
        "statuses": ["PAID", "PENDING", "PROCESSING"],
    }


def test_revenue_statuses_setting_changes_the_set(known, settings):
    settings.DASHBOARD_REVENUE_STATUSES = ["PAID"]
    assert sales.sales_kpis(filters=SalesFilter())["revenue"] == D("200.05")


def test_status_filter_replaces_the_counted_set(known):
    kpis = sales.sales_kpis(filters=SalesFilter(statuses=("CANCELLED",)))
    assert (kpis["revenue"], kpis["invoice_count"], kpis["pending_amount"]) == (D("999.99"), 1, D("0.00"))


def test_monthly_with_cumulative(known):
    rows = sales.sales_by_period(filters=SalesFilter())
    assert [(r["period"], r["revenue"], r["cumulative"], r["invoice_count"]) for r in rows] == [
        ("2024-01", D("250.50"), D("250.50"), 2),
        ("2024-02", D("30.00"), D("280.50"), 1),
        ("2024-03", D("101.05"), D("381.55"), 2),
    ]


def test_weekly_uses_iso_weeks_and_draws_every_week(known):
    rows = sales.sales_by_period(filters=SalesFilter(), period="weekly")
    sold = {"2024-W02": D("200.00"), "2024-W03": D("50.50"), "2024-W05": D("30.00"), "2024-W09": D("101.00")}
    sold["2024-W13"] = D("0.05")
    assert [(r["period"], r["revenue"]) for r in rows] == [
        (f"2024-W{week:02d}", sold.get(f"2024-W{week:02d}", D("0.00"))) for week in range(2, 14)
    ]
    assert rows[-1]["cumulative"] == D("381.55")


def test_every_month_of_the_range_is_drawn_zero_where_empty(known):
    flt = SalesFilter(start=dt.date(2023, 11, 15), end=dt.date(2024, 5, 2), statuses=("PAID",))
    rows = sales.sales_by_period(filters=flt)
    assert [(r["period"], r["revenue"], r["invoice_count"], r["cumulative"]) for r in rows] == [
        ("2023-11", D("0.00"), 0, D("0.00")),
        ("2023-12", D("0.00"), 0, D("0.00")),
        ("2024-01", D("200.00"), 1, D("200.00")),
        ("2024-02", D("0.00"), 0, D("200.00")),
        ("2024-03", D("0.05"), 1, D("200.05")),
        ("2024-04", D("0.00"), 0, D("200.05")),
        ("2024-05", D("0.00"), 0, D("200.05")),
    ]
    # Open ends stop at the first and last month with sales; nothing sold: no rows at all.
    assert [r["period"] for r in sales.sales_by_period(filters=SalesFilter(statuses=("PAID",)))] == [
        "2024-01",
        "2024-02",
        "2024-03",
    ]
    assert sales.sales_by_period(filters=SalesFilter(start=dt.date(2030, 1, 1))) == []


def test_date_range_uses_partial_months_exactly(known):
    flt = SalesFilter(start=dt.date(2024, 1, 12), end=dt.date(2024, 3, 1))
    assert sales.sales_kpis(filters=flt)["revenue"] == D("181.50")
    assert [r["period"] for r in sales.sales_by_period(filters=flt)] == ["2024-01", "2024-02", "2024-03"]


def test_top_customers_ranked(known):
    rows = sales.customers_top(filters=SalesFilter(), top=2)
    assert [(r["customer_id"], r["customer_name"], r["revenue"]) for r in rows] == [
        ("C-100", "Acme Corp", D("230.00")),
        ("C-101", "Globex Inc", D("151.50")),
    ]


def test_by_status_and_item(known):
    assert [(r["status"], r["revenue"]) for r in sales.sales_by_status(filters=SalesFilter())] == [
        ("PAID", D("200.05")),
        ("PENDING", D("151.50")),
        ("PROCESSING", D("30.00")),
    ]
    assert [(r["item"], r["revenue"]) for r in sales.sales_by_item(filters=SalesFilter())] == [
        ("API Access", D("301.00")),
        ("Cloud Storage", D("80.50")),
        ("Server Setup", D("0.05")),
    ]


def test_customer_and_item_filters_narrow(known):
    assert sales.sales_kpis(filters=SalesFilter(customer_id="C-100"))["revenue"] == D("230.00")
    assert sales.sales_kpis(filters=SalesFilter(item="Server Setup"))["revenue"] == D("0.05")


def test_pending_top_15_sorted():
    batch = batch_make()
    for n in range(20):
        Customer.objects.create(customer_id=f"X-{n:02d}", customer_name=f"Extra {n}")
        invoice_create(batch, f"P{n}", "2024-05-01", f"X-{n:02d}", "API Access", "PENDING", 1, f"{n + 1}.00")
    invoice_create(batch, "PAID1", "2024-05-01", "C-100", "API Access", "PAID", 1, "1000.00")
    daily_sales_refresh()

    rows = sales.customers_pending(filters=SalesFilter())

    assert len(rows) == 15
    assert [r["pending_amount"] for r in rows] == [D(f"{n}.00") for n in range(20, 5, -1)]
    assert rows[0]["customer_id"] == "X-19"


def test_random_ranges_match_daily_aggregate():
    batch = batch_make()
    rng = random.Random(7)
    for n in range(300):
        day = dt.date(2023, 11, 1) + dt.timedelta(days=rng.randrange(150))
        invoice_create(
            batch,
            f"R{n}",
            day.isoformat(),
            f"C-10{rng.randrange(5)}",
            "API Access",
            rng.choice(["PAID", "PENDING", "CANCELLED"]),
            rng.randrange(1, 5),
            f"{rng.randrange(1, 9999) / 100:.2f}",
        )
    daily_sales_refresh()
    for _ in range(25):
        start = dt.date(2023, 10, 20) + dt.timedelta(days=rng.randrange(120))
        end = start + dt.timedelta(days=rng.randrange(90))
        expected = (
            DailySales.objects.filter(
                day__gte=start, day__lte=end, status__status_name__in=["PAID", "PENDING", "PROCESSING"]
            ).aggregate(r=Sum("revenue"))["r"]
            or 0
        )
        assert sales.sales_kpis(filters=SalesFilter(start=start, end=end))["revenue"] == sales.money(expected)


def test_batches_and_latest_quality(known):
    batch_make(status="failed", file_name="bad.csv")
    latest = batches.batch_latest_loaded()
    assert latest is not None
    assert (latest["id"], latest["rejection_rate"]) == (known.pk, D("22.22"))
    assert [b["file_name"] for b in batches.batches_recent()] == ["bad.csv", "known.csv"]
    known_batch = batches.batch_get(batch_id=known.pk)
    assert known_batch is not None
    assert known_batch["reason_counts"] == {"INVALID_DATE": 1, "TOTAL_MISMATCH": 1}
    assert batches.batch_get(batch_id=10**9) is None
    assert [b["id"] for b in batches.rejections_by_batch()] == [known.pk]


def test_latest_load_is_the_latest_file_not_a_reprocessing(known):
    later = batch_make(file_name="later.csv", sha256="1" * 64, rows_read=25, rows_rejected=25)
    batch_make(file_name="reprocess of 25 rows", file_path="", sha256="", rows_read=25, rows_loaded=25)
    latest = batches.batch_latest_loaded()
    assert latest is not None
    assert (latest["id"], latest["rejection_rate"], latest["rows_rejected"]) == (later.pk, D("100.00"), 25)
    assert latest["previous"]["id"] == known.pk
    assert [b["id"] for b in batches.rejections_by_batch()] == [known.pk, later.pk]


def test_warehouse_state():
    assert sales.warehouse_state() == "empty"
    known_warehouse_create()
    assert sales.warehouse_state() == "ready"
    DailySales.objects.all().delete()
    assert sales.warehouse_state() == "stale"


def test_random_weekly_series_equal_sql_over_the_facts():
    """Whole weeks come from agg_weekly_sales, the edge days from agg_daily_sales: the sum per
    ISO week is exactly a GROUP BY over fact_invoices, for any range and filter."""
    batch = batch_make()
    rng = random.Random(11)
    for n in range(300):
        day = dt.date(2023, 11, 1) + dt.timedelta(days=rng.randrange(150))
        invoice_create(
            batch,
            f"W{n}",
            day.isoformat(),
            f"C-10{rng.randrange(4)}",
            rng.choice(["API Access", "Cloud Storage"]),
            rng.choice(["PAID", "PENDING", "CANCELLED"]),
            rng.randrange(1, 5),
            f"{rng.randrange(1, 9999) / 100:.2f}",
        )
    daily_sales_refresh()
    ranges = [(None, None), (dt.date(2023, 11, 6), dt.date(2024, 1, 7)), (dt.date(2023, 12, 13), None)]
    ranges += [(None, dt.date(2024, 2, 14)), (dt.date(2024, 1, 3), dt.date(2024, 1, 5))]
    for _ in range(20):
        first = dt.date(2023, 10, 20) + dt.timedelta(days=rng.randrange(120))
        ranges.append((first, first + dt.timedelta(days=rng.randrange(90))))
    for start, end in ranges:
        customer = rng.choice([None, "C-101"])
        facts = Invoice.objects.filter(status__status_name__in=["PAID", "PENDING", "PROCESSING"])
        if start:
            facts = facts.filter(issue_date__gte=start)
        if end:
            facts = facts.filter(issue_date__lte=end)
        if customer:
            facts = facts.filter(customer__customer_id=customer)
        expected: dict[str, list] = {}
        for row in facts.values("issue_date").annotate(r=Sum("total"), n=Count("pk")):
            week = sales.week_label(row["issue_date"])
            total = expected.setdefault(week, [D("0.00"), 0])
            total[0] += row["r"]
            total[1] += row["n"]
        filters = SalesFilter(start=start, end=end, customer_id=customer)
        rows = sales.sales_by_period(filters=filters, period="weekly")
        got = {r["period"]: [r["revenue"], r["invoice_count"]] for r in rows if r["invoice_count"]}
        assert got == expected, (start, end, customer)
