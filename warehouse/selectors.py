"""Read-side queries for the dashboard and the API: aggregates only, never a scan of facts.

Sales figures come from ``agg_monthly_sales`` for the whole months a date range covers
and from ``agg_daily_sales`` for the partial months at its edges, so a request reads at
most a few thousand rows whatever the size of ``fact_invoices``. Rows are grouped by
dimension keys in SQL; names come from the (small) dimension tables.

Statuses: "revenue" counts ``settings.DASHBOARD_REVENUE_STATUSES`` (default PAID,
PENDING, PROCESSING) unless the filter names statuses, which then replace that set.
"Pending" is the PENDING status (when the filter does not exclude it).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import F, Max, Min, Sum
from django.db.models.functions import TruncMonth

from warehouse.models import Customer, DailySales, Invoice, Item, LoadBatch, MonthlySales, Status

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


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _date_parts(start: dt.date | None, end: dt.date | None):
    """(monthly queryset, daily queryset) that together cover [start, end] exactly."""
    monthly, daily = MonthlySales.objects.all(), DailySales.objects.none()
    no_month_after = start is not None and start.day != 1 and _month_end(start) == dt.date.max
    no_month_before = end is not None and end != _month_end(end) and end.replace(day=1) == dt.date.min
    if no_month_after or no_month_before:  # the calendar's first or last month: days only
        return MonthlySales.objects.none(), DailySales.objects.filter(
            day__gte=start or dt.date.min, day__lte=end or dt.date.max
        )
    first_full = None if start is None else start if start.day == 1 else _month_end(start) + dt.timedelta(1)
    last_full = (
        None if end is None else end if end == _month_end(end) else end.replace(day=1) - dt.timedelta(1)
    )
    if first_full and last_full and first_full > last_full:
        return MonthlySales.objects.none(), DailySales.objects.filter(day__gte=start, day__lte=end)
    if first_full:
        monthly = monthly.filter(month__gte=first_full)
        if start < first_full:
            daily = daily | DailySales.objects.filter(day__gte=start, day__lt=first_full)
    if last_full:
        monthly = monthly.filter(month__lte=last_full)
        if end > last_full:
            daily = daily | DailySales.objects.filter(day__gt=last_full, day__lte=end)
    return monthly, daily


def _narrow(queryset, filters: SalesFilter, statuses, dims: DimensionNames):
    status_keys = [k for k, name in dims.statuses.items() if name in statuses]
    queryset = queryset.filter(status_id__in=status_keys)
    if filters.customer_id:
        keys = [k for k, (cid, _) in dims.customers.items() if cid == filters.customer_id]
        queryset = queryset.filter(customer_id__in=keys)
    if filters.item:
        queryset = queryset.filter(item_id__in=[k for k, name in dims.items.items() if name == filters.item])
    return queryset


def sales_rows(*, filters: SalesFilter, keys: tuple[str, ...], statuses, dims: DimensionNames | None = None):
    """Sums of invoice_count, qty and revenue per ``keys`` (``period`` = month, or dimension
    ``customer_id``/``item_id``/``status_id`` keys) as {key tuple: [count, qty, revenue]}."""
    dims = dims or DimensionNames.load()
    if not statuses:
        return {}
    monthly, daily = _date_parts(filters.start, filters.end)
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0, ZERO])
    for queryset, period in ((monthly, F("month")), (daily, TruncMonth("day"))):
        queryset = _narrow(queryset, filters, statuses, dims).order_by()
        if "period" in keys:
            queryset = queryset.annotate(period=period)
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


FILL_DAYS = 10 * 366


def _months(first: dt.date, last: dt.date):
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = _month_end(month) + dt.timedelta(1)


def _weeks(first: dt.date, last: dt.date):
    monday = first - dt.timedelta(first.weekday())
    while monday <= last:
        yield monday
        monday += dt.timedelta(7)


def _week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def sales_by_period(
    *, filters: SalesFilter, period: str = "monthly", dims: DimensionNames | None = None
) -> list[dict]:
    """Revenue per month (``2024-01``) or ISO week (``2024-W05``) with the running total.

    Every period of the range is present (zero where nothing sold): from the filter's
    start (else the first period with sales) to its end (else the last one). No sales at
    all: no rows.
    """
    totals: dict[dt.date, list] = defaultdict(lambda: [0, 0, ZERO])  # period start -> total
    if period == "monthly":
        rows = sales_rows(filters=filters, keys=("period",), statuses=filters.counted_statuses, dims=dims)
        totals.update({key: total for (key,), total in rows.items()})
        label, periods = (lambda day: day.strftime("%Y-%m")), _months
    else:
        daily = _narrow(
            DailySales.objects.all(), filters, filters.counted_statuses, dims or DimensionNames.load()
        )
        if filters.start:
            daily = daily.filter(day__gte=filters.start)
        if filters.end:
            daily = daily.filter(day__lte=filters.end)
        for row in (
            daily.order_by().values("day").annotate(n=Sum("invoice_count"), q=Sum("qty"), r=Sum("revenue"))
        ):
            total = totals[row["day"] - dt.timedelta(row["day"].weekday())]
            total[0] += row["n"]
            total[1] += row["q"]
            total[2] += money(row["r"])
        label, periods = _week_label, _weeks
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


def progress_text(batch: dict) -> str:
    """``42% · 84,000 / 200,000 rows · running (loading) · last seen 3 s ago``."""
    parts = [f"{batch['percent']}%"] if batch["percent"] is not None else []
    total = f" / {batch['rows_total']:,}" if batch["rows_total"] else ""
    parts.append(f"{batch['rows_done']:,}{total} rows")
    stage = batch["stage"] if batch["stage"] and batch["stage"] != batch["status"] else ""
    parts.append(f"{batch['status']} ({stage})" if stage else batch["status"])
    if batch["last_seen_seconds"] is not None:
        parts.append(f"last seen {batch['last_seen_seconds']} s ago")
    return " \u00b7 ".join(parts)


def batch_present(batch: LoadBatch) -> dict:
    """A batch as the API, the admin's progress JSON and the dashboard show it."""
    rate = batch.rejection_rate
    last_seen = batch.last_seen_seconds()
    presented = {
        "id": batch.pk,
        "file_name": batch.file_name,
        "source": batch.source,
        "status": batch.status,
        "rows_read": batch.rows_read,
        "rows_loaded": batch.rows_loaded,
        "rows_inserted": batch.rows_inserted,
        "rows_updated": batch.rows_updated,
        "rows_unchanged": batch.rows_unchanged,
        "rows_rejected": batch.rows_rejected,
        "rejection_rate": None if rate is None else money(rate),
        "reason_counts": dict(batch.reason_counts or {}),
        "stage": batch.stage,
        "rows_done": batch.rows_done,
        "rows_total": batch.rows_total,
        "percent": batch.percent_done,
        "finished": batch.status in LoadBatch.FINISHED,
        "heartbeat_at": batch.heartbeat_at,
        "last_seen_seconds": None if last_seen is None else round(last_seen),
        "attempts": list(batch.attempts or []),
        "error": batch.error,
        "note": batch.note,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
    }
    presented["progress_text"] = progress_text(presented)
    return presented


_BATCH_FIELDS = (
    "id",
    "file_name",
    "source",
    "status",
    *LoadBatch.COUNT_FIELDS,
    "reason_counts",
    "stage",
    "rows_done",
    "rows_total",
    "heartbeat_at",
    "attempts",
    "error",
    "note",
    "created_at",
    "started_at",
    "finished_at",
)


def batches_recent(*, limit: int = 20) -> list[dict]:
    return [batch_present(b) for b in LoadBatch.objects.only(*_BATCH_FIELDS).order_by("-id")[:limit]]


def batch_get(*, batch_id: int) -> dict | None:
    batch = LoadBatch.objects.only(*_BATCH_FIELDS).filter(pk=batch_id).first()
    return None if batch is None else batch_present(batch)


def _file_loads():
    """Successful loads of a file (a re-processing batch has no file: its sha256 is empty)."""
    return (
        LoadBatch.objects.filter(status=LoadBatch.Status.SUCCEEDED, dry_run=False)
        .exclude(sha256="")
        .only(*_BATCH_FIELDS)
    )


def batch_latest_loaded() -> dict | None:
    """The latest successful file load (its rejection rate is a KPI), with ``previous``:
    the file load before it (or None)."""
    latest = [batch_present(b) for b in _file_loads().order_by("-id")[:2]]
    if not latest:
        return None
    return {**latest[0], "previous": latest[1] if len(latest) > 1 else None}


def rejections_by_batch(*, limit: int = 10) -> list[dict]:
    """Rejected rows per reason for the recent successful file loads, oldest first."""
    batches = list(_file_loads().order_by("-id")[:limit])
    return [batch_present(b) for b in reversed(batches)]


def sales_days() -> tuple[dt.date, dt.date] | None:
    """The first and the last day with sales in the aggregate (None when it is empty)."""
    bounds = DailySales.objects.aggregate(first=Min("day"), last=Max("day"))
    return None if bounds["first"] is None else (bounds["first"], bounds["last"])


def period_previous(filters: SalesFilter) -> SalesFilter | None:
    """The same filter over the period of equal length just before ``filters``' range.

    None without a start date (all time has no period before it). An open end is the
    last day with sales (or the start, when that is earlier).
    """
    if filters.start is None:
        return None
    end = filters.end
    if end is None:
        days = sales_days()
        end = max(days[1], filters.start) if days else filters.start
    length = (end - filters.start).days + 1
    return replace(filters, start=filters.start - dt.timedelta(length), end=filters.start - dt.timedelta(1))


def warehouse_state() -> str:
    """``ready``; ``empty`` (no facts); ``stale`` (facts but the aggregate was never built)."""
    if DailySales.objects.exists():
        return "ready"
    return "stale" if Invoice.objects.exists() else "empty"
