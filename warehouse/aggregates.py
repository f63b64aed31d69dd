"""The dashboard's aggregate tables, rebuilt from ``fact_invoices`` with set-based SQL.

``agg_daily_sales`` holds one row per day x customer x item x status (invoice count,
quantity, revenue); ``agg_monthly_sales`` and ``agg_weekly_sales`` roll it up per month and
per ISO week. Reads never touch the fact table. A load keeps the three tables current
itself, in its own transaction: it collects its signed changes per day
(``ingestion.pipeline.aggregates``), bulk-loads them into a delta table and adds that to each
table (``ingestion.pipeline.aggregate_changes``). Here,
``daily_sales_refresh`` rebuilds given days from the facts (re-processing,
``dashboard_refresh --day``) or everything (``dashboard_refresh``).

Each refresh is one transaction under the warehouse's write lock: one DELETE and one
INSERT ... SELECT per chunk of days, compiled by the ORM, so the same code runs on
MySQL/MariaDB and SQLite; it changes the data version (``warehouse.versions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from warehouse.locks import facts_lock
from warehouse.models import DailySales, Invoice, MonthlySales, WeeklySales
from warehouse.selectors.periods import month_end
from warehouse.versions import data_version_bump

DAYS_PER_STATEMENT = 500
# Names in the SELECT -> columns of the aggregate tables.
_COLUMNS = {
    "issue_date": "day",
    "m": "month",
    "w": "week",
    "customer_id": "customer_key",
    "item_id": "item_key",
    "status_id": "status_key",
    "n": "invoice_count",
    "q": "qty",
    "r": "revenue",
}


def _insert_select(table: str, queryset) -> int:
    query = queryset.query
    sql, params = query.sql_with_params()
    names = list(query.selected)  # the SELECT's column order (Django 5.2+)
    columns = ", ".join(connection.ops.quote_name(_COLUMNS[name]) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) {sql}", params)
        return cursor.rowcount


def _daily_select(facts):
    return (
        facts.order_by()
        .values("issue_date", "customer_id", "item_id", "status_id")
        .annotate(n=Count("pk"), q=Sum("qty"), r=Sum("total"))
    )


def _rollup_select(daily, **period):
    (name,) = period
    return (
        daily.order_by()
        .annotate(**period)
        .values(name, "customer_id", "item_id", "status_id")
        .annotate(n=Sum("invoice_count"), q=Sum("qty"), r=Sum("revenue"))
    )


def _monthly_select(daily):
    return _rollup_select(daily, m=TruncMonth("day"))


def _weekly_select(daily):
    return _rollup_select(daily, w=TruncWeek("day"))


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def daily_sales_refresh(*, days: Iterable[dt.date] | None = None) -> int:
    """Recompute the aggregates for ``days`` (None: every day) from fact_invoices.

    Returns the number of ``agg_daily_sales`` rows written. Safe to repeat; a day with
    no facts left simply has no aggregate rows afterwards.
    """
    written = 0
    with facts_lock(timeout=settings.FACTS_LOCK_WAIT_SECONDS), transaction.atomic():
        if days is None:
            DailySales.objects.all().delete()
            MonthlySales.objects.all().delete()
            WeeklySales.objects.all().delete()
            written += _insert_select("agg_daily_sales", _daily_select(Invoice.objects.all()))
            _insert_select("agg_monthly_sales", _monthly_select(DailySales.objects.all()))
            _insert_select("agg_weekly_sales", _weekly_select(DailySales.objects.all()))
            data_version_bump()
            return written
        days = sorted(set(days))
        for chunk in _chunks(days, DAYS_PER_STATEMENT):
            DailySales.objects.filter(day__in=chunk).delete()
            facts = Invoice.objects.filter(issue_date__in=chunk)
            written += _insert_select("agg_daily_sales", _daily_select(facts))
        months = sorted({day.replace(day=1) for day in days})
        for month in months:
            MonthlySales.objects.filter(month=month).delete()
            daily = DailySales.objects.filter(day__gte=month, day__lte=month_end(month))
            _insert_select("agg_monthly_sales", _monthly_select(daily))
        mondays = sorted({day - dt.timedelta(day.weekday()) for day in days})
        for chunk in _chunks(mondays, DAYS_PER_STATEMENT // 7):
            WeeklySales.objects.filter(week__in=chunk).delete()
            daily = DailySales.objects.filter(day__in=[m + dt.timedelta(i) for m in chunk for i in range(7)])
            _insert_select("agg_weekly_sales", _weekly_select(daily))
        data_version_bump()
    return written
