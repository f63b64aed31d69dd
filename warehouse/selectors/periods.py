"""The calendar of the sales reads: months, ISO weeks, and which aggregate rows cover a range.

A date range is read from ``agg_monthly_sales`` (or ``agg_weekly_sales`` for a weekly series)
for the whole periods it covers and from ``agg_daily_sales`` for the partial periods at its
edges (``date_parts``), so a request reads at most a few thousand rows whatever the size of
``fact_invoices``.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db.models import Max, Min

from warehouse.models import DailySales, MonthlySales, WeeklySales

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


# A period -> its rolled-up aggregate and the column holding each row's first day.
ROLLUPS: dict[str, tuple[type[MonthlySales | WeeklySales | DailySales], str]] = {
    "month": (MonthlySales, "month"),
    "week": (WeeklySales, "week"),
    "day": (DailySales, "day"),
}


def days(first: dt.date, last: dt.date):
    """Every day from ``first`` to ``last``."""
    day = first
    while day <= last:
        yield day
        if day == dt.date.max:
            return
        day += dt.timedelta(1)


def period_start(day: dt.date, period: str) -> dt.date:
    return day.replace(day=1) if period == "month" else day - dt.timedelta(day.weekday())


def period_end(day: dt.date, period: str) -> dt.date:
    """The period's last day (the calendar's last day for its last, unfinished week)."""
    if period == "month":
        return month_end(day)
    monday = period_start(day, period)
    return monday + dt.timedelta(6) if dt.date.max - monday >= dt.timedelta(6) else dt.date.max


def date_parts(start: dt.date | None, end: dt.date | None, period: str = "month"):
    """(rolled-up queryset, daily queryset) that together cover [start, end] exactly: whole
    periods (months or ISO weeks) from their aggregate, the days at the edges from the daily one
    (``period="day"``: every day from the daily aggregate, as the rolled-up part)."""
    if period == "day":
        days = DailySales.objects.filter(day__gte=start or dt.date.min, day__lte=end or dt.date.max)
        return days, DailySales.objects.none()
    model, column = ROLLUPS[period]
    rolled, daily = model.objects.all(), DailySales.objects.none()
    no_period_after = (
        start is not None
        and start != period_start(start, period)
        and (period_end(start, period) == dt.date.max)
    )
    if no_period_after:  # the calendar's last period: days only
        return model.objects.none(), DailySales.objects.filter(day__gte=start, day__lte=end or dt.date.max)
    first_full = (
        None
        if start is None
        else start
        if start == period_start(start, period)
        else period_end(start, period) + dt.timedelta(1)
    )
    last_full = (
        None
        if end is None
        else end
        if end == period_end(end, period)
        else None
        if period_start(end, period) == dt.date.min  # the calendar's first period: days only
        else period_start(end, period) - dt.timedelta(1)
    )
    if (end is not None and last_full is None) or (first_full and last_full and first_full > last_full):
        return model.objects.none(), DailySales.objects.filter(day__gte=start or dt.date.min, day__lte=end)
    if first_full:
        rolled = rolled.filter(**{f"{column}__gte": first_full})
        if start is not None and start < first_full:
            daily = daily | DailySales.objects.filter(day__gte=start, day__lt=first_full)
    if last_full:
        rolled = rolled.filter(**{f"{column}__lte": last_full})
        if end is not None and end > last_full:
            daily = daily | DailySales.objects.filter(day__gt=last_full, day__lte=end)
    return rolled, daily


def sales_days() -> tuple[dt.date, dt.date] | None:
    """The first and the last day with sales in the aggregate (None when it is empty)."""
    bounds = DailySales.objects.aggregate(first=Min("day"), last=Max("day"))
    return None if bounds["first"] is None else (bounds["first"], bounds["last"])
