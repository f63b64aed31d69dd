"""The calendar of the sales reads: months, ISO weeks, and which aggregate rows cover a range.

A date range is read from ``agg_monthly_sales`` for the whole months it covers and from
``agg_daily_sales`` for the partial months at its edges (``date_parts``), so a request
reads at most a few thousand rows whatever the size of ``fact_invoices``.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db.models import Max, Min

from warehouse.models import DailySales, MonthlySales

# A zero-filled series reaches at most this far beyond the data on either side.
FILL_DAYS = 10 * 366


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months(first: dt.date, last: dt.date):
    """The first day of every month from ``first``'s to ``last``'s."""
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = month_end(month) + dt.timedelta(1)


def weeks(first: dt.date, last: dt.date):
    """The Monday of every ISO week from ``first``'s to ``last``'s."""
    monday = first - dt.timedelta(first.weekday())
    while monday <= last:
        yield monday
        monday += dt.timedelta(7)


def week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def date_parts(start: dt.date | None, end: dt.date | None):
    """(monthly queryset, daily queryset) that together cover [start, end] exactly."""
    monthly, daily = MonthlySales.objects.all(), DailySales.objects.none()
    no_month_after = start is not None and start.day != 1 and month_end(start) == dt.date.max
    no_month_before = end is not None and end != month_end(end) and end.replace(day=1) == dt.date.min
    if no_month_after or no_month_before:  # the calendar's first or last month: days only
        return MonthlySales.objects.none(), DailySales.objects.filter(
            day__gte=start or dt.date.min, day__lte=end or dt.date.max
        )
    first_full = None if start is None else start if start.day == 1 else month_end(start) + dt.timedelta(1)
    last_full = (
        None if end is None else end if end == month_end(end) else end.replace(day=1) - dt.timedelta(1)
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


def sales_days() -> tuple[dt.date, dt.date] | None:
    """The first and the last day with sales in the aggregate (None when it is empty)."""
    bounds = DailySales.objects.aggregate(first=Min("day"), last=Max("day"))
    return None if bounds["first"] is None else (bounds["first"], bounds["last"])
