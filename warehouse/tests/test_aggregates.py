import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from warehouse.aggregates import daily_sales_refresh
from warehouse.models import DailySales, Invoice, LoadBatch, MonthlySales
from warehouse.tests.factories import invoice_create

pytestmark = pytest.mark.django_db

D1, D2, D3 = dt.date(2024, 1, 5), dt.date(2024, 1, 20), dt.date(2024, 2, 1)


@pytest.fixture
def batch():
    return LoadBatch.objects.create(file_name="f.csv", file_path="/f.csv", sha256="x")


def fact(batch, invoice_id, day, *, customer="C-100", item="API Access", status="PAID", qty=1, price="10.00"):
    return invoice_create(batch, invoice_id, day, customer, item, status, qty, price)


def fact_grouped():
    rows = (
        Invoice.objects.order_by()
        .values("issue_date", "customer_id", "item_id", "status_id")
        .annotate(n=Count("pk"), q=Sum("qty"), r=Sum("total"))
    )
    return {
        (r["issue_date"], r["customer_id"], r["item_id"], r["status_id"]): (r["n"], r["q"], r["r"])
        for r in rows
    }


def daily_grouped():
    return {
        (r.day, r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
        for r in DailySales.objects.all()
    }


def monthly_matches_daily():
    expected = {
        (r["m"], r["customer_id"], r["item_id"], r["status_id"]): (r["n"], r["q"], r["r"])
        for r in DailySales.objects.annotate(m=TruncMonth("day"))
        .values("m", "customer_id", "item_id", "status_id")
        .annotate(n=Sum("invoice_count"), q=Sum("qty"), r=Sum("revenue"))
    }
    actual = {
        (r.month, r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
        for r in MonthlySales.objects.all()
    }
    return expected == actual


def test_full_refresh_equals_group_by_over_facts(batch):
    fact(batch, "A", D1, qty=2, price="100.25")
    fact(batch, "B", D1, qty=3, price="0.10")
    fact(batch, "C", D1, status="PENDING", price="5.55")
    fact(batch, "D", D2, customer="C-101", item="Cloud Storage", price="1234.56")
    fact(batch, "E", D3, qty=7, price="3.33")

    written = daily_sales_refresh()

    assert written == 4
    assert daily_grouped() == fact_grouped()
    paid_d1 = DailySales.objects.get(day=D1, status__status_name="PAID")
    assert (paid_d1.invoice_count, paid_d1.qty, paid_d1.revenue) == (2, 5, Decimal("200.80"))
    assert monthly_matches_daily()
    assert MonthlySales.objects.count() == 4


def test_refresh_of_given_days_leaves_other_days_alone(batch):
    fact(batch, "A", D1)
    fact(batch, "B", D3)
    daily_sales_refresh()
    Invoice.objects.filter(pk="A").update(qty=9, total=Decimal("90.00"))
    Invoice.objects.filter(pk="B").update(qty=9, total=Decimal("90.00"))

    daily_sales_refresh(days=[D1])

    assert DailySales.objects.get(day=D1).revenue == Decimal("90.00")
    assert DailySales.objects.get(day=D3).revenue == Decimal("10.00")  # not refreshed
    assert MonthlySales.objects.get(month=dt.date(2024, 1, 1)).revenue == Decimal("90.00")
    assert monthly_matches_daily()


def test_moved_invoice_needs_its_old_day(batch):
    fact(batch, "A", D1)
    daily_sales_refresh()
    later = LoadBatch.objects.create(file_name="g.csv", file_path="/g.csv", sha256="y")
    Invoice.objects.filter(pk="A").update(issue_date=D3, batch=later)

    daily_sales_refresh(days=[D3])
    assert daily_grouped() != fact_grouped()  # the old day still counts the invoice
    daily_sales_refresh(days=[D1, D3])

    assert daily_grouped() == fact_grouped()
    assert not DailySales.objects.filter(day=D1).exists()
    assert monthly_matches_daily()
    assert not MonthlySales.objects.filter(month=dt.date(2024, 1, 1)).exists()


def test_refresh_of_empty_warehouse_writes_nothing():
    assert daily_sales_refresh() == 0
    assert daily_sales_refresh(days=[D1]) == 0
    assert not DailySales.objects.exists()
