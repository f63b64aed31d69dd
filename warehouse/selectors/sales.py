"""Sales figures for the dashboard and the API: aggregates only, never a scan of facts.

Each range is read through ``periods.date_parts`` (whole months from ``agg_monthly_sales``, or
whole weeks from ``agg_weekly_sales`` for the weekly series, the partial periods at its edges
from ``agg_daily_sales``). Rows are grouped by dimension
keys in SQL; names come from the (small) dimension tables.

Statuses: "revenue" counts ``settings.DASHBOARD_REVENUE_STATUSES`` (default PAID,
PENDING, PROCESSING) unless the filter names statuses, which then replace that set.
"Pending" is the PENDING status (when the filter does not exclude it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import F, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from warehouse.models import Customer, DailySales, Invoice, Item, Status
from warehouse.selectors.periods import (
    FILL_DAYS,
    ROLLUPS,
    date_parts,
    days,
    months,
    week_label,
    weeks,
)

DEFAULT_REVENUE_STATUSES = ("PAID", "PENDING", "PROCESSING")
# The dates a filter may name: MySQL's DATE range (SQLite and Python hold it too).
DATE_MIN, DATE_MAX = dt.date(1000, 1, 1), dt.date(9999, 12, 31)
PENDING = "PENDING"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def revenue_statuses() -> tuple[str, ...]:
    return tuple(getattr(settings, "DASHBOARD_REVENUE_STATUSES", DEFAULT_REVENUE_STATUSES))


@dataclass(frozen=True)
class SalesFilter:
    start: dt.date | None = None
    end: dt.date | None = None
    statuses: tuple[str, ...] = ()  # empty: the revenue statuses setting
    customer_id: str | None = None
    item: str | None = None

    @property
    def counted_statuses(self) -> tuple[str, ...]:
        return tuple(self.statuses) or revenue_statuses()

    @property
    def pending_statuses(self) -> tuple[str, ...]:
        return (PENDING,) if not self.statuses or PENDING in self.statuses else ()


@dataclass
class DimensionNames:
    """Display names of the dimension keys (customer id and name, item, status)."""

    customers: dict[int, tuple[str, str]] = field(default_factory=dict)  # key -> (id, name)
    items: dict[int, str] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> DimensionNames:
        return cls(
            customers={c.pk: (c.customer_id, c.customer_name) for c in Customer.objects.all()},
            items={i.pk: i.item_description for i in Item.objects.all()},
            statuses={s.pk: s.status_name for s in Status.objects.all()},
        )


def _narrow(queryset, filters: SalesFilter, statuses, dims: DimensionNames):
    status_keys = [k for k, name in dims.statuses.items() if name in statuses]
    queryset = queryset.filter(status_id__in=status_keys)
    if filters.customer_id:
        keys = [k for k, (cid, _) in dims.customers.items() if cid == filters.customer_id]
        queryset = queryset.filter(customer_id__in=keys)
    if filters.item:
        queryset = queryset.filter(item_id__in=[k for k, name in dims.items.items() if name == filters.item])
    return queryset


_TRUNC = {"month": TruncMonth, "week": TruncWeek, "day": TruncDay}


def sales_rows(
    *,
    filters: SalesFilter,
    keys: tuple[str, ...],
    statuses,
    dims: DimensionNames | None = None,
    period: str = "month",
):
    """Sums of invoice_count, qty and revenue per ``keys`` (``period``: the first day of the
    month or ISO week, or dimension ``customer_id``/``item_id``/``status_id`` keys) as
    {key tuple: [count, qty, revenue]}."""
    dims = dims or DimensionNames.load()
    if not statuses:
        return {}
    rolled, daily = date_parts(filters.start, filters.end, period)
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0, ZERO])
    column = ROLLUPS[period][1]
    for queryset, first_day in ((rolled, F(column)), (daily, _TRUNC[period]("day"))):
        queryset = _narrow(queryset, filters, statuses, dims).order_by()
        if "period" in keys:
            queryset = queryset.annotate(period=first_day)
        for row in queryset.values(*keys).annotate(n=Sum("invoice_count"), q=Sum("qty"), r=Sum("revenue")):
            total = totals[tuple(row[k] for k in keys)]
            total[0] += row["n"]
            total[1] += row["q"]
            total[2] += money(row["r"])
    return dict(totals)


def _ranked(rows: list[dict], amount: str, name: str) -> list[dict]:
    return sorted(rows, key=lambda r: (-r[amount], r[name]))


def sales_kpis(*, filters: SalesFilter, dims: DimensionNames | None = None) -> dict:
    dims = dims or DimensionNames.load()
    counted, pending = filters.counted_statuses, filters.pending_statuses
    rows = sales_rows(filters=filters, keys=("status_id",), statuses=set(counted) | set(pending), dims=dims)
    by_name = {dims.statuses[key]: total for (key,), total in rows.items()}
    revenue = sum((t[2] for s, t in by_name.items() if s in counted), ZERO)
    count = sum(t[0] for s, t in by_name.items() if s in counted)
    pending_total = by_name.get(PENDING, [0, 0, ZERO]) if pending else [0, 0, ZERO]
    return {
        "revenue": money(revenue),
        "invoice_count": count,
        "average_invoice": money(revenue / count) if count else ZERO,
        "pending_amount": money(pending_total[2]),
        "pending_count": pending_total[0],
        "statuses": list(counted),
    }


# A series' period -> (its aggregate period, its label, the period starts of a range).
_SERIES = {
    "monthly": ("month", lambda day: day.strftime("%Y-%m"), months),
    "weekly": ("week", week_label, weeks),
    "daily": ("day", dt.date.isoformat, days),
}


def sales_by_period(
    *, filters: SalesFilter, period: str = "monthly", dims: DimensionNames | None = None
) -> list[dict]:
    """Revenue per month (``2024-01``), ISO week (``2024-W05``) or day (``daily``: ``2024-01-31``)
    with the running total.

    Every period of the range is present (zero where nothing sold): from the filter's
    start (else the first period with sales) to its end (else the last one). No sales at
    all: no rows.
    """
    grain, label, periods = _SERIES[period]
    rows = sales_rows(
        filters=filters, keys=("period",), statuses=filters.counted_statuses, dims=dims, period=grain
    )
    totals = {key: total for (key,), total in rows.items()}  # period start -> total
    if not totals:
        return []
    # Zero-filled from the range's start to its end, but never more than FILL_DAYS beyond the
    # data on either side: an open-ended range (``end=9999-12-31``) is not 100,000 empty rows.
    margin = dt.timedelta(days=FILL_DAYS)
    first = max(filters.start or min(totals), min(totals) - margin)
    last = min(filters.end or max(totals), max(totals) + margin)
    result, cumulative = [], ZERO
    for start in periods(min(first, min(totals)), max(last, max(totals))):
        count, _, revenue = totals.get(start, (0, 0, ZERO))
        cumulative += revenue
        result.append(
            {"period": label(start), "revenue": revenue, "invoice_count": count, "cumulative": cumulative}
        )
    return result


def _customers_ranked(
    filters: SalesFilter, statuses, measure: str, top: int, dims: DimensionNames
) -> list[dict]:
    """Customers by ``measure`` (the money of ``statuses``), largest first; those with none left out."""
    rows = sales_rows(filters=filters, keys=("customer_id",), statuses=statuses, dims=dims)
    result = [
        {
            "customer_id": dims.customers[key][0],
            "customer_name": dims.customers[key][1],
            measure: total[2],
            "invoice_count": total[0],
        }
        for (key,), total in rows.items()
        if total[2] or total[0]
    ]
    return _ranked(result, measure, "customer_id")[:top]


def customers_top(*, filters: SalesFilter, top: int = 10, dims: DimensionNames | None = None) -> list[dict]:
    return _customers_ranked(filters, filters.counted_statuses, "revenue", top, dims or DimensionNames.load())


def customers_pending(
    *, filters: SalesFilter, top: int = 15, dims: DimensionNames | None = None
) -> list[dict]:
    return _customers_ranked(
        filters, filters.pending_statuses, "pending_amount", top, dims or DimensionNames.load()
    )


def sales_by_status(*, filters: SalesFilter, dims: DimensionNames | None = None) -> list[dict]:
    dims = dims or DimensionNames.load()
    rows = sales_rows(filters=filters, keys=("status_id",), statuses=filters.counted_statuses, dims=dims)
    result = [
        {"status": dims.statuses[key], "revenue": t[2], "invoice_count": t[0]} for (key,), t in rows.items()
    ]
    return _ranked(result, "revenue", "status")


def sales_by_item(*, filters: SalesFilter, dims: DimensionNames | None = None) -> list[dict]:
    dims = dims or DimensionNames.load()
    rows = sales_rows(filters=filters, keys=("item_id",), statuses=filters.counted_statuses, dims=dims)
    result = [
        {"item": dims.items[key], "revenue": t[2], "invoice_count": t[0], "qty": t[1]}
        for (key,), t in rows.items()
    ]
    return _ranked(result, "revenue", "item")


def warehouse_state() -> str:
    """``ready``; ``empty`` (no facts); ``stale`` (facts but the aggregate was never built)."""
    if DailySales.objects.exists():
        return "ready"
    return "stale" if Invoice.objects.exists() else "empty"
