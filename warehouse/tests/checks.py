"""Assertions shared by tests of everything that writes facts."""

from decimal import Decimal

from django.db.models import Count, Sum

from warehouse.models import DailySales, Invoice, MonthlySales

_KEYS = ("customer_id", "item_id", "status_id")


def assert_aggregates_match_facts() -> None:
    """agg_daily_sales and agg_monthly_sales equal a GROUP BY over fact_invoices, exactly."""
    rows = Invoice.objects.values("issue_date", *_KEYS).annotate(n=Count("pk"), q=Sum("qty"), r=Sum("total"))
    facts = {(r["issue_date"], *(r[k] for k in _KEYS)): (r["n"], r["q"], r["r"]) for r in rows}
    daily = {
        (r.day, r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
        for r in DailySales.objects.all()
    }
    assert daily == facts
    months: dict = {}
    for (day, *rest), (n, q, r) in facts.items():
        key = (day.replace(day=1), *rest)
        old = months.get(key, (0, 0, Decimal(0)))
        months[key] = (old[0] + n, old[1] + q, old[2] + r)
    monthly = {
        (r.month, r.customer_id, r.item_id, r.status_id): (r.invoice_count, r.qty, r.revenue)
        for r in MonthlySales.objects.all()
    }
    assert monthly == months
