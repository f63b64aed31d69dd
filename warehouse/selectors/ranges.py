"""Sales totals of several arbitrary date ranges at once (the bars of a comparison series).

Two queries whatever the number of ranges: the whole months inside the ranges from
``agg_monthly_sales``, every other day from ``agg_daily_sales``, each grouped by its day or
month and then summed per range in Python.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Q, Sum

from warehouse.models import DailySales, MonthlySales
from warehouse.selectors.periods import month_end, months
from warehouse.selectors.sales import ZERO, DimensionNames, SalesFilter, _narrow, money


def _split(start: dt.date, end: dt.date) -> tuple[list[dt.date], list[tuple[dt.date, dt.date]]]:
    """[start, end] as (the first days of its whole months, its other days as spans)."""
    first_full = start if start.day == 1 else None
    if first_full is None and month_end(start) < dt.date.max:
        first_full = month_end(start) + dt.timedelta(1)
    last_full = end if end == month_end(end) else end.replace(day=1) - dt.timedelta(1)
    if first_full is None or first_full > last_full:
        return [], [(start, end)]
    spans = []
    if start < first_full:
        spans.append((start, first_full - dt.timedelta(1)))
    if end > last_full:
        spans.append((last_full + dt.timedelta(1), end))
    return list(months(first_full, last_full)), spans


def _merged(spans: list[tuple[dt.date, dt.date, int]]) -> list[tuple[dt.date, dt.date]]:
    """Sorted spans with the ones that touch joined (a series' bars touch: one condition)."""
    merged: list[tuple[dt.date, dt.date]] = []
    for a, b, _ in spans:
        if merged and a - merged[-1][1] <= dt.timedelta(1):
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def sales_in_ranges(
    *, filters: SalesFilter, ranges: list[tuple[dt.date, dt.date]], dims: DimensionNames
) -> list[tuple[int, Decimal]]:
    """(invoice count, revenue) of the counted statuses of ``filters`` in each of ``ranges``
    (inclusive, disjoint; the dates of ``filters`` are not read)."""
    statuses = filters.counted_statuses
    month_of: dict[dt.date, list[int]] = defaultdict(list)  # a month's first day -> its ranges
    spans: list[tuple[dt.date, dt.date, int]] = []
    for index, (start, end) in enumerate(ranges):
        whole, rest = _split(start, end)
        for month in whole:
            month_of[month].append(index)
        spans += [(a, b, index) for a, b in rest]
    totals: list[list] = [[0, ZERO] for _ in ranges]
    if not statuses:
        return [(0, ZERO) for _ in ranges]
    sums = {"n": Sum("invoice_count"), "r": Sum("revenue")}
    if month_of:
        monthly = _narrow(MonthlySales.objects.filter(month__in=list(month_of)), filters, statuses, dims)
        for row in monthly.order_by().values("month").annotate(**sums):
            for index in month_of[row["month"]]:
                totals[index][0] += row["n"]
                totals[index][1] += money(row["r"])
    if spans:
        spans.sort()
        where = reduce(or_, (Q(day__gte=a, day__lte=b) for a, b in _merged(spans)))
        daily = _narrow(DailySales.objects.filter(where), filters, statuses, dims)
        starts = [a for a, _, _ in spans]
        for row in daily.order_by().values("day").annotate(**sums):
            *_, index = spans[bisect_right(starts, row["day"]) - 1]  # spans do not overlap
            totals[index][0] += row["n"]
            totals[index][1] += money(row["r"])
    return [(count, revenue) for count, revenue in totals]
