"""What the figures of a range are compared with, read from the aggregates.

The dates come from ``dashboard.periods`` (pure); this module resolves the range (an open
end is the last day with sales), reads the comparison's figures through the same selectors
as the range's own, and pairs each bar of a series with the bar it is compared with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from dashboard import periods
from warehouse.selectors import sales
from warehouse.selectors.periods import month_end, sales_days
from warehouse.selectors.ranges import sales_in_ranges
from warehouse.selectors.sales import DimensionNames, SalesFilter

# The fields a series row gains when it is compared.
SERIES_FIELDS = ("compare_start", "compare_end", "compare_revenue", "compare_invoice_count")


@dataclass(frozen=True)
class Comparison:
    mode: str  # periods.PREVIOUS, CALENDAR or LAST_YEAR (the automatic choice resolved)
    current: tuple[dt.date, dt.date]  # the range compared (an open end resolved)
    start: dt.date  # the range it is compared with
    end: dt.date
    shift: periods.Shift
    label: str  # "Feb 2024 (1-29 Feb)"
    filters: SalesFilter  # the same filters over [start, end]


def comparison_for(filters: SalesFilter, compare: str = "") -> Comparison | None:
    """The comparison of ``filters``' range under ``compare`` (blank: ``periods.mode_default``).

    None without a start (all time has nothing before it) or when the comparison would begin
    before the first date a filter may name. An open end is the last day with sales (or the
    start, when that is later).
    """
    start, end = filters.start, filters.end
    if start is None:
        return None
    if end is None:
        days = sales_days()
        end = max(days[1], start) if days else start
    mode = compare or periods.mode_default(start, end)
    before = periods.comparison_range(start, end, mode)
    if before is None:
        return None
    shift = periods.comparison_shift(start, end, mode)
    return Comparison(
        mode=mode,
        current=(start, end),
        start=before[0],
        end=before[1],
        shift=shift,
        label=periods.comparison_label(*before, mode, shift),
        filters=replace(filters, start=before[0], end=before[1]),
    )


def kpis_compared(comparison: Comparison | None, dims: DimensionNames) -> dict | None:
    """The comparison's KPI values (as ``sales.sales_kpis``) with its mode, dates and label."""
    if comparison is None:
        return None
    return {
        "compare": comparison.mode,
        "start": comparison.start,
        "end": comparison.end,
        "label": comparison.label,
        **{
            k: v
            for k, v in sales.sales_kpis(filters=comparison.filters, dims=dims).items()
            if k != "statuses"
        },
    }


def _bucket(row: dict, current: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The days of the range a series row covers: its ``period`` is a month (``2024-03``), an
    ISO week (``2024-W09``) or a day (``2024-03-05``)."""
    label = row["period"]
    if "-W" in label:
        year, week = label.split("-W")
        first = dt.date.fromisocalendar(int(year), int(week), 1)
        last = first + dt.timedelta(6) if first < dt.date.max - dt.timedelta(6) else dt.date.max
    elif len(label) == 10:
        first = last = dt.date.fromisoformat(label)
    else:
        first = dt.date.fromisoformat(f"{label}-01")
        last = month_end(first)
    return max(first, current[0]), min(last, current[1])


def _moved(buckets: list[tuple[dt.date, dt.date]], shift: periods.Shift) -> list[tuple[dt.date, dt.date]]:
    """Contiguous buckets moved by ``shift``, still contiguous: each ends where the shift puts
    its last day and the next begins the day after (moving by months can put two days on one,
    31 and 30 March on 29 February; the second bucket is then empty: start after end)."""
    moved: list[tuple[dt.date, dt.date]] = []
    for a, b in buckets:
        first, last = shift.apply(a, b)
        if moved:
            first = moved[-1][1] + dt.timedelta(1)
        moved.append((first, last))
    return moved


def series_compared(rows: list[dict], comparison: Comparison | None, dims: DimensionNames) -> list[dict]:
    """``rows`` of ``sales.sales_by_period`` (every period of the range, in order, at any
    grain), each with
    the bar it is compared with: its days moved by the comparison's shift (``compare_start``,
    ``compare_end``), their revenue and invoice count. The fields are None without a
    comparison, and the dates None for a bar with no day to compare with (see ``_moved``)."""
    if comparison is None:
        return [{**row, **dict.fromkeys(SERIES_FIELDS)} for row in rows]
    moved = _moved([_bucket(row, comparison.current) for row in rows], comparison.shift)
    real = [i for i, (a, b) in enumerate(moved) if a <= b]
    totals = dict(
        zip(real, sales_in_ranges(filters=comparison.filters, ranges=[moved[i] for i in real], dims=dims))
    )
    result = []
    for i, row in enumerate(rows):
        count, revenue = totals.get(i, (0, sales.ZERO))
        start, end = moved[i] if i in totals else (None, None)
        result.append(
            {
                **row,
                "compare_start": start,
                "compare_end": end,
                "compare_revenue": revenue,
                "compare_invoice_count": count,
            }
        )
    return result


def bar_label(start: dt.date, end: dt.date) -> str:
    """A comparison bar's name in a hover: "Feb 2024 (1-29 Feb)", "30 Jan-29 Feb 2024"."""
    name = periods.period_name(start, end)
    return (
        f"{name} ({periods.dates_text(start, end, year=False)})" if name else periods.dates_text(start, end)
    )
