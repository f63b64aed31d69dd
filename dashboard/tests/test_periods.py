"""The comparison's date arithmetic and the presets anchored to the data: pure, no database."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.periods import (
    CALENDAR,
    DASH,
    LAST_YEAR,
    PREVIOUS,
    comparison_label,
    comparison_range,
    comparison_shift,
    data_presets,
    dates_text,
    mode_default,
    month_end,
    period_name,
    whole_months,
)

D = dt.date.fromisoformat


def _compared(start: str, end: str, mode: str) -> tuple[str, str, str]:
    before = comparison_range(D(start), D(end), mode)
    assert before is not None
    label = comparison_label(*before, mode, comparison_shift(D(start), D(end), mode))
    return before[0].isoformat(), before[1].isoformat(), label.replace(DASH, "-")


@pytest.mark.parametrize(
    ("start", "end", "mode", "expected"),
    [
        # A whole month: the month before, its last day whatever its length.
        ("2024-03-01", "2024-03-31", CALENDAR, ("2024-02-01", "2024-02-29", "Feb 2024 (1-29 Feb)")),
        ("2023-03-01", "2023-03-31", CALENDAR, ("2023-02-01", "2023-02-28", "Feb 2023 (1-28 Feb)")),
        ("2024-02-01", "2024-02-29", CALENDAR, ("2024-01-01", "2024-01-31", "Jan 2024 (1-31 Jan)")),
        ("2024-01-01", "2024-01-31", CALENDAR, ("2023-12-01", "2023-12-31", "Dec 2023 (1-31 Dec)")),
        # A quarter: the quarter before, Q1 crossing the year.
        ("2024-01-01", "2024-03-31", CALENDAR, ("2023-10-01", "2023-12-31", "Q4 2023 (1 Oct-31 Dec)")),
        ("2024-07-01", "2024-09-30", CALENDAR, ("2024-04-01", "2024-06-30", "Q2 2024 (1 Apr-30 Jun)")),
        # A year, two years, two months.
        ("2024-01-01", "2024-12-31", CALENDAR, ("2023-01-01", "2023-12-31", "2023 (1 Jan-31 Dec)")),
        (
            "2023-01-01",
            "2024-12-31",
            CALENDAR,
            ("2021-01-01", "2022-12-31", "2021-2022 (1 Jan 2021-31 Dec 2022)"),
        ),
        ("2024-01-01", "2024-02-29", CALENDAR, ("2023-11-01", "2023-12-31", "Nov-Dec 2023 (1 Nov-31 Dec)")),
        # Not calendar-aligned: the same days the fewest whole months earlier.
        (
            "2024-03-10",
            "2024-03-20",
            CALENDAR,
            ("2024-02-10", "2024-02-20", "same days 1 month earlier (10-20 Feb 2024)"),
        ),
        (
            "2024-03-25",
            "2024-04-05",
            CALENDAR,
            ("2024-02-25", "2024-03-05", "same days 1 month earlier (25 Feb-5 Mar 2024)"),
        ),
        (
            "2024-03-31",
            "2024-03-31",
            CALENDAR,
            ("2024-02-29", "2024-02-29", "same days 1 month earlier (29 Feb 2024)"),
        ),
        (
            "2024-03-30",
            "2024-05-30",
            CALENDAR,
            ("2023-12-30", "2024-02-29", "same days 3 months earlier (30 Dec 2023-29 Feb 2024)"),
        ),
        # The period of equal length just before (what "previous period" always was).
        (
            "2024-03-01",
            "2024-03-31",
            PREVIOUS,
            ("2024-01-30", "2024-02-29", "previous 31 days (30 Jan-29 Feb 2024)"),
        ),
        (
            "2024-01-01",
            "2024-03-31",
            PREVIOUS,
            ("2023-10-02", "2023-12-31", "previous 91 days (2 Oct-31 Dec 2023)"),
        ),
        ("2024-01-15", "2024-01-15", PREVIOUS, ("2024-01-14", "2024-01-14", "previous 1 day (14 Jan 2024)")),
        ("2024-01-01", "2024-01-31", PREVIOUS, ("2023-12-01", "2023-12-31", "Dec 2023 (1-31 Dec)")),
        # The same period last year: leap days and whole months.
        ("2024-02-01", "2024-02-29", LAST_YEAR, ("2023-02-01", "2023-02-28", "Feb 2023 (1-28 Feb)")),
        ("2025-02-01", "2025-02-28", LAST_YEAR, ("2024-02-01", "2024-02-29", "Feb 2024 (1-29 Feb)")),
        (
            "2024-02-29",
            "2024-02-29",
            LAST_YEAR,
            ("2023-02-28", "2023-02-28", "same days last year (28 Feb 2023)"),
        ),
        ("2024-03-01", "2024-03-31", LAST_YEAR, ("2023-03-01", "2023-03-31", "Mar 2023 (1-31 Mar)")),
        ("2024-01-01", "2024-12-31", LAST_YEAR, ("2023-01-01", "2023-12-31", "2023 (1 Jan-31 Dec)")),
        (
            "2024-01-01",
            "2024-12-30",
            LAST_YEAR,
            ("2023-01-01", "2023-12-30", "same days last year (1 Jan-30 Dec 2023)"),
        ),
    ],
)
def test_comparison_range_and_label(start, end, mode, expected):
    assert _compared(start, end, mode) == expected


@pytest.mark.parametrize(
    ("start", "end", "mode"),
    [
        ("2024-03-01", "2024-03-31", CALENDAR),  # a month
        ("2024-04-01", "2024-06-30", CALENDAR),  # a quarter
        ("2023-01-01", "2023-12-31", CALENDAR),  # a year
        ("2024-01-01", "2024-02-29", CALENDAR),  # whole months
        ("2024-03-01", "2024-03-30", PREVIOUS),  # a day short of a month
        ("2024-03-02", "2024-03-31", PREVIOUS),
        ("2024-01-01", "2024-12-30", PREVIOUS),  # the reference export's year to date
    ],
)
def test_the_default_is_calendar_aligned_for_whole_months(start, end, mode):
    assert mode_default(D(start), D(end)) == mode


def test_no_comparison_before_the_first_date_a_filter_may_name():
    assert comparison_range(D("1000-01-01"), D("1000-01-31"), CALENDAR) is None
    assert comparison_range(D("1000-03-01"), D("9999-12-31"), PREVIOUS) is None
    assert comparison_range(D("1001-01-01"), D("1001-12-31"), LAST_YEAR) == (D("1000-01-01"), D("1000-12-31"))
    with pytest.raises(ValueError, match="unknown comparison"):
        comparison_shift(D("2024-01-01"), D("2024-01-31"), "lost")


days = st.dates(min_value=dt.date(1001, 1, 1), max_value=dt.date(9998, 12, 31))


@given(days, st.integers(min_value=0, max_value=800), st.sampled_from([PREVIOUS, CALENDAR, LAST_YEAR]))
def test_every_comparison_is_earlier_and_keeps_whole_months_whole(start, length, mode):
    end = min(start + dt.timedelta(length), dt.date(9998, 12, 31))
    before = comparison_range(start, end, mode)
    assert before is not None and before[0] <= before[1] and before[0] < start
    if mode != LAST_YEAR:
        assert before[1] < start  # never overlaps the range
    if mode == PREVIOUS:
        assert before[1] - before[0] == end - start and before[1] == start - dt.timedelta(1)
    elif whole_months(start, end):
        assert whole_months(*before)
    if mode == CALENDAR and whole_months(start, end):  # the whole months just before
        assert before[1] == start - dt.timedelta(1)


@pytest.mark.parametrize(
    ("start", "end", "name", "dates"),
    [
        ("2024-02-01", "2024-02-29", "Feb 2024", "1-29 Feb 2024"),
        ("2023-10-01", "2023-12-31", "Q4 2023", "1 Oct-31 Dec 2023"),
        ("2023-11-01", "2024-01-31", "Nov 2023-Jan 2024", "1 Nov 2023-31 Jan 2024"),
        ("2024-03-05", "2024-03-05", "", "5 Mar 2024"),
        ("2023-12-30", "2024-01-05", "", "30 Dec 2023-5 Jan 2024"),
    ],
)
def test_period_names_and_dates(start, end, name, dates):
    texts = (period_name(D(start), D(end)), dates_text(D(start), D(end)))
    assert tuple(t.replace(DASH, "-") for t in texts) == (name, dates)


def test_ranges_read_with_an_en_dash():
    assert dates_text(D("2024-02-01"), D("2024-02-29"), year=False) == "1\N{EN DASH}29 Feb"


def _presets(last: str) -> dict:
    return {
        p.label: (p.start and p.start.isoformat(), p.end and p.end.isoformat()) for p in data_presets(D(last))
    }


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (  # the reference export: its last invoice is of 30 Dec 2024
            "2024-12-30",
            {
                "Latest month": ("2024-12-01", "2024-12-31"),
                "Latest quarter": ("2024-10-01", "2024-12-31"),
                "Latest year": ("2024-01-01", "2024-12-31"),
                "Last full month": ("2024-11-01", "2024-11-30"),
                "Last full quarter": ("2024-07-01", "2024-09-30"),
                "Last full year": ("2023-01-01", "2023-12-31"),
                "Year to date": ("2024-01-01", "2024-12-30"),
                "All time": (None, None),
            },
        ),
        (
            "2024-12-31",
            {
                "Latest month": ("2024-12-01", "2024-12-31"),
                "Latest quarter": ("2024-10-01", "2024-12-31"),
                "Latest year": ("2024-01-01", "2024-12-31"),
                "Last full month": ("2024-12-01", "2024-12-31"),
                "Last full quarter": ("2024-10-01", "2024-12-31"),
                "Last full year": ("2024-01-01", "2024-12-31"),
                "Year to date": ("2024-01-01", "2024-12-31"),
                "All time": (None, None),
            },
        ),
        (
            "2024-03-01",
            {
                "Latest month": ("2024-03-01", "2024-03-31"),
                "Latest quarter": ("2024-01-01", "2024-03-31"),
                "Latest year": ("2024-01-01", "2024-12-31"),
                "Last full month": ("2024-02-01", "2024-02-29"),
                "Last full quarter": ("2023-10-01", "2023-12-31"),
                "Last full year": ("2023-01-01", "2023-12-31"),
                "Year to date": ("2024-01-01", "2024-03-01"),
                "All time": (None, None),
            },
        ),
    ],
)
def test_presets_are_anchored_to_the_last_day_with_data(last, expected):
    assert _presets(last) == expected


def test_month_end():
    assert [month_end(D(d)).day for d in ("2024-02-10", "2023-02-01", "2024-04-30", "9999-12-01")] == [
        29,
        28,
        30,
        31,
    ]
