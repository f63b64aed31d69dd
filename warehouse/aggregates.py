"""The dashboard's aggregate tables, rebuilt from ``fact_invoices`` with set-based SQL.

``agg_daily_sales`` holds one row per day x customer x item x status (invoice count,
quantity, revenue); ``agg_monthly_sales`` rolls it up per month. Reads never touch the
fact table; the load keeps both tables current by calling, at the end of a batch::

    from warehouse.aggregates import daily_sales_refresh
    days_before = invoice_days(invoice_ids=ids_the_batch_updates)   # before the upsert
    ... upsert the facts ...
    daily_sales_refresh(days=days_before | days_the_batch_wrote)

``days`` must hold every day whose facts changed: the days the batch wrote *and* the
days that lost an invoice because an update moved its ``issue_date`` (or its status,
customer or item, which keep the day: those are covered by the new day). When the
old days are not known, ``daily_sales_refresh()`` (all days) is always correct; it
reads the whole fact table once. ``daily_sales_refresh_for_batch`` is the shortcut
for "the days this batch's facts are on now, plus any days you pass".

Each refresh is one transaction: one DELETE and one INSERT ... SELECT per chunk of
days, compiled by the ORM, so the same code runs on MySQL/MariaDB and SQLite.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from warehouse.models import DailySales, Invoice, MonthlySales

DAYS_PER_STATEMENT = 500
# Names in the SELECT -> columns of the aggregate tables.
_COLUMNS = {
    "issue_date": "day",
    "m": "month",
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


def _monthly_select(daily):
    return (
        daily.order_by()
        .annotate(m=TruncMonth("day"))
        .values("m", "customer_id", "item_id", "status_id")
        .annotate(n=Sum("invoice_count"), q=Sum("qty"), r=Sum("revenue"))
    )


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def daily_sales_refresh(*, days: Iterable[dt.date] | None = None) -> int:
    """Recompute the aggregates for ``days`` (None: every day) from fact_invoices.

    Returns the number of ``agg_daily_sales`` rows written. Safe to repeat; a day with
    no facts left simply has no aggregate rows afterwards.
    """
    written = 0
    with transaction.atomic():
        if days is None:
            DailySales.objects.all().delete()
            MonthlySales.objects.all().delete()
            written += _insert_select("agg_daily_sales", _daily_select(Invoice.objects.all()))
            _insert_select("agg_monthly_sales", _monthly_select(DailySales.objects.all()))
            return written
        days = sorted(set(days))
        for chunk in _chunks(days, DAYS_PER_STATEMENT):
            DailySales.objects.filter(day__in=chunk).delete()
            facts = Invoice.objects.filter(issue_date__in=chunk)
            written += _insert_select("agg_daily_sales", _daily_select(facts))
        months = sorted({day.replace(day=1) for day in days})
        for month in months:
            MonthlySales.objects.filter(month=month).delete()
            daily = DailySales.objects.filter(day__gte=month, day__lte=_month_end(month))
            _insert_select("agg_monthly_sales", _monthly_select(daily))
    return written


def invoice_days(*, invoice_ids: Iterable[str]) -> set[dt.date]:
    """The days the given invoices are on now (call before an upsert that may move them)."""
    found: set[dt.date] = set()
    for chunk in _chunks(list(invoice_ids), 5_000):
        found.update(
            Invoice.objects.filter(invoice_id__in=chunk).values_list("issue_date", flat=True).distinct()
        )
    return found


def daily_sales_refresh_for_batch(*, batch_id: int, extra_days: Iterable[dt.date] = ()) -> int:
    """Refresh the days this batch's facts are on, plus ``extra_days`` (the days before).

    ``fact_invoices.batch_id`` is the batch that last wrote a row, so this finds the
    days the batch wrote but not the days its updates moved invoices away from: pass
    those as ``extra_days`` (see ``invoice_days``), or use ``daily_sales_refresh()``.
    """
    days = set(
        Invoice.objects.filter(batch_id=batch_id).order_by().values_list("issue_date", flat=True).distinct()
    )
    return daily_sales_refresh(days=days | set(extra_days))


# --- incremental maintenance by the load ------------------------------------------------

SALES_DELTA_TABLE = "tmp_sales_delta"
_KEYS = ("customer_key", "item_key", "status_key")
_MEASURES = ("invoice_count", "qty", "revenue")


def sales_delta_table_create(cursor) -> None:
    """(Re)create the connection's temporary table of signed per-day changes, one row per key."""
    if connection.vendor == "mysql":
        cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {SALES_DELTA_TABLE}")
        create = "CREATE TEMPORARY TABLE"
    else:
        cursor.execute(f"DROP TABLE IF EXISTS temp.{SALES_DELTA_TABLE}")
        create = "CREATE TEMP TABLE"
    cursor.execute(
        f"{create} {SALES_DELTA_TABLE} (day DATE NOT NULL, customer_key INTEGER NOT NULL,"
        " item_key INTEGER NOT NULL, status_key INTEGER NOT NULL, invoice_count BIGINT NOT NULL,"
        " qty BIGINT NOT NULL, revenue DECIMAL(18, 2) NOT NULL)"
    )


def _add_into(cursor, table: str, period: str, select: str) -> None:
    columns = ", ".join((period, *_KEYS, *_MEASURES))
    if connection.vendor == "mysql":
        adds = ", ".join(f"{m} = {table}.{m} + VALUES({m})" for m in _MEASURES)
        cursor.execute(f"INSERT INTO {table} ({columns}) {select} ON DUPLICATE KEY UPDATE {adds}")
    else:
        adds = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in _MEASURES)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM ({select}) WHERE true"
            f" ON CONFLICT ({period}, {', '.join(_KEYS)}) DO UPDATE SET {adds}"
        )


def sales_deltas_merge(cursor, *, removals: bool) -> None:
    """Add the temporary table's changes to both aggregates (``removals``: some were negative).

    The load computes the changes as it writes facts (new and changed invoices add, the
    old version of a changed invoice subtracts) and merges them in the batch's
    transaction, so the aggregates always equal a GROUP BY over ``fact_invoices``.
    """
    keys = ", ".join(_KEYS)
    _add_into(cursor, "agg_daily_sales", "day", f"SELECT * FROM {SALES_DELTA_TABLE}")
    month = "DATE_FORMAT(day, '%Y-%m-01')" if connection.vendor == "mysql" else "date(day, 'start of month')"
    _add_into(
        cursor,
        "agg_monthly_sales",
        "month",
        f"SELECT {month}, {keys}, SUM(invoice_count), SUM(qty), SUM(revenue) FROM {SALES_DELTA_TABLE}"
        f" GROUP BY {month}, {keys}",
    )
    if removals:
        cursor.execute("DELETE FROM agg_daily_sales WHERE invoice_count = 0")
        cursor.execute("DELETE FROM agg_monthly_sales WHERE invoice_count = 0")
