"""Calendar arithmetic of the dashboard, pure: the period a range is compared with, how a
period is named on the page, and the date presets anchored to the data.

A comparison moves the range back by a ``Shift``: a number of days (the period of equal
length just before) or of whole months (the previous calendar month, quarter or year; the
same period last year). Moving by months keeps a month's last day its last day (29 Feb
2024 -> 31 Jan 2024; 28 Feb 2025 -> 29 Feb 2024), so whole months map to whole months; any
other day keeps its number, or the month's last day when the month is shorter (31 Mar ->
29 Feb). The same shift maps each bar of the monthly chart to its comparison.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from warehouse.selectors.periods import month_end
from warehouse.selectors.sales import DATE_MIN

PREVIOUS, CALENDAR, LAST_YEAR = "previous", "calendar", "last_year"
# The comparison selector: value -> what it compares with (blank: chosen from the range).
COMPARE_CHOICES = [
    ("", "Automatic"),
    (PREVIOUS, "Previous period (same length)"),
    (CALENDAR, "Previous month / quarter / year"),
    (LAST_YEAR, "Same period last year"),
]
MODES = tuple(value for value, _ in COMPARE_CHOICES if value)
DASH = "\u2013"


def quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def quarter_end(day: dt.date) -> dt.date:
    return month_end(quarter_start(day).replace(month=quarter_start(day).month + 2))


def months_add(day: dt.date, count: int, *, keep_month_end: bool = False) -> dt.date:
    """``day`` moved by ``count`` months; the day number is kept, or the month's last day
    when the month is shorter (or always, with ``keep_month_end``, when ``day`` is its month's
    last day). ValueError when the result is not a date (before year 1 or after 9999)."""
    index = day.year * 12 + day.month - 1 + count
    first = dt.date(index // 12, index % 12 + 1, 1)
    last = month_end(first)
    if keep_month_end and day == month_end(day):
        return last
    return first.replace(day=min(day.day, last.day))


def whole_months(start: dt.date, end: dt.date) -> bool:
    """True when [start, end] is one or more whole calendar months."""
    return start.day == 1 and end == month_end(end)


@dataclass(frozen=True)
class Shift:
    """How far back a comparison is: ``days`` or whole ``months`` (one of them)."""

    days: int = 0
    months: int = 0

    def apply(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
        """[start, end] moved back (a bar of a chart, or the whole range)."""
        if self.months:
            return months_add(start, -self.months), months_add(end, -self.months, keep_month_end=True)
        return start - dt.timedelta(self.days), end - dt.timedelta(self.days)


def mode_default(start: dt.date, end: dt.date) -> str:
    """Whole months (a month, a quarter, a year, ...) compare with the calendar period before;
    any other range with the period of equal length before it."""
    return CALENDAR if whole_months(start, end) else PREVIOUS


def comparison_shift(start: dt.date, end: dt.date, mode: str) -> Shift:
    """The shift of ``mode`` for [start, end].

    ``previous``: the range's length in days. ``last_year``: twelve months. ``calendar``: the
    fewest whole months that end the comparison before ``start`` (1 for March, 3 for a quarter,
    12 for a year, 2 for January-February; 1 for 10-20 March: 10-20 February).
    """
    if mode == PREVIOUS:
        return Shift(days=(end - start).days + 1)
    if mode == LAST_YEAR:
        return Shift(months=12)
    if mode != CALENDAR:
        raise ValueError(f"unknown comparison: {mode!r}")
    count = max(1, (end.year - start.year) * 12 + end.month - start.month)
    if months_add(end, -count, keep_month_end=True) >= start:
        count += 1
    return Shift(months=count)


def comparison_range(start: dt.date, end: dt.date, mode: str) -> tuple[dt.date, dt.date] | None:
    """The period [start, end] is compared with under ``mode``; None when it would begin before
    the first date a filter may name (``DATE_MIN``)."""
    try:
        before = comparison_shift(start, end, mode).apply(start, end)
    except (ValueError, OverflowError):  # before year 1
        return None
    return before if before[0] >= DATE_MIN else None


def period_name(start: dt.date, end: dt.date) -> str:
    """ "2023", "2022-2023", "Q4 2023", "Feb 2024", "Nov 2023-Jan 2024"; "" for other ranges."""
    if not whole_months(start, end):
        return ""
    if (start.month, end.month) == (1, 12):
        return str(start.year) if start.year == end.year else f"{start.year}{DASH}{end.year}"
    if start == quarter_start(start) and end == quarter_end(start):
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start:%b %Y}"
    if start.year == end.year:
        return f"{start:%b}{DASH}{end:%b %Y}"
    return f"{start:%b %Y}{DASH}{end:%b %Y}"


def dates_text(start: dt.date, end: dt.date, *, year: bool = True) -> str:
    """ "1-29 Feb 2024", "1 Oct-31 Dec 2023", "30 Dec 2023-5 Jan 2024", "5 Mar 2024"; without
    ``year`` the year is left out when both days are in the same one."""
    tail = f" {end.year}" if year else ""
    if start == end:
        return f"{start.day} {start:%b}{tail}"
    if start.year != end.year:
        return f"{start.day} {start:%b %Y}{DASH}{end.day} {end:%b %Y}"
    if start.month == end.month:
        return f"{start.day}{DASH}{end.day} {end:%b}{tail}"
    return f"{start.day} {start:%b}{DASH}{end.day} {end:%b}{tail}"


def comparison_label(start: dt.date, end: dt.date, mode: str, shift: Shift) -> str:
    """What the page says a figure is compared with: "Feb 2024 (1-29 Feb)", "Q4 2023 (1 Oct-31
    Dec)", "previous 31 days (30 Jan-29 Feb 2024)", "same days last year (10-20 Mar 2023)"."""
    name = period_name(start, end)
    if name:
        return f"{name} ({dates_text(start, end, year=False)})"
    if mode == PREVIOUS:
        what = f"previous {shift.days:,} day{'s' if shift.days != 1 else ''}"
    elif mode == LAST_YEAR:
        what = "same days last year"
    else:
        what = f"same days {shift.months} month{'s' if shift.months != 1 else ''} earlier"
    return f"{what} ({dates_text(start, end)})"


@dataclass(frozen=True)
class Preset:
    label: str
    start: dt.date | None
    end: dt.date | None


def data_presets(last: dt.date) -> list[Preset]:
    """The date presets, anchored to the data (its last day with sales), not to today:
    the latest month, quarter and year with data (whole), the last full ones (ended on or
    before the last day with data), the year to date (to that day) and all time."""
    full_month = last if last == month_end(last) else last.replace(day=1) - dt.timedelta(1)
    full_quarter = last if last == quarter_end(last) else quarter_start(last) - dt.timedelta(1)
    full_year = last.year if (last.month, last.day) == (12, 31) else last.year - 1
    return [
        Preset("Latest month", last.replace(day=1), month_end(last)),
        Preset("Latest quarter", quarter_start(last), quarter_end(last)),
        Preset("Latest year", dt.date(last.year, 1, 1), dt.date(last.year, 12, 31)),
        Preset("Last full month", full_month.replace(day=1), full_month),
        Preset("Last full quarter", quarter_start(full_quarter), full_quarter),
        Preset("Last full year", dt.date(full_year, 1, 1), dt.date(full_year, 12, 31)),
        Preset("Year to date", dt.date(last.year, 1, 1), last),
        Preset("All time", None, None),
    ]
