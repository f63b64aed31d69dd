"""The grain of the sales series (day, ISO week or month): chosen with ``grain`` or, left on
"auto", from the length of the selected range.

A range of up to ``DAY_SPAN`` days is drawn by day (a month drills to its days), up to
``WEEK_SPAN`` days by week, anything longer, and "all time", by month. An open start or end
is the first or last day with sales. The grain changes the series chart (its rows, CSV and
figure) and nothing else: every other figure is the same at every grain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django import forms

from dashboard import series
from dashboard.charts import CHARTS, Chart
from dashboard.compared_figure import compared_figure
from dashboard.forms import ComparedFilterForm
from warehouse.selectors import sales
from warehouse.selectors.periods import sales_days
from warehouse.selectors.sales import SalesFilter

AUTO = ""
DAY_SPAN = 45
WEEK_SPAN = 120
GRAIN_CHOICES = [(AUTO, "Auto"), ("day", "Day"), ("week", "Week"), ("month", "Month")]
SERIES = "monthly"  # the key of the series chart (its element, CSV URL and figure)


def grain_auto(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return "month"
    bounds = sales_days()
    first = start or (bounds[0] if bounds else end)
    last = end or (bounds[1] if bounds else start)
    span = (last - first).days + 1 if first and last else DAY_SPAN + WEEK_SPAN
    return "day" if span <= DAY_SPAN else "week" if span <= WEEK_SPAN else "month"


class ChartFilterForm(ComparedFilterForm):
    """The page's and the chart CSVs' parameters: the sales filters, the comparison, the
    series' grain, ``bom``."""

    grain = forms.ChoiceField(required=False, choices=GRAIN_CHOICES)
    bom = forms.BooleanField(required=False)  # a CSV for Excel: starts with the UTF-8 byte order mark

    def grain_used(self) -> str:
        """The grain drawn (a valid form): the one chosen, else the automatic one."""
        data = self.cleaned_data
        return data.get("grain") or grain_auto(data.get("start"), data.get("end"))


def _series_chart(grain: str) -> Chart:
    period = series.GRAINS[grain][0]

    def rows(filters: SalesFilter, dims) -> list[dict]:
        return sales.sales_by_period(filters=filters, period=period, dims=dims)

    return replace(
        CHARTS[SERIES],
        title=series.TITLES[grain],
        rows=rows,
        figure=lambda rows, f: compared_figure(series.sales_series(rows, grain, f.start, f.end), rows),
    )


def charts_for(grain: str) -> dict[str, Chart]:
    """``CHARTS`` with the series at ``grain``."""
    return {**CHARTS, SERIES: _series_chart(grain)}


def drill_text(name: str, grain: str) -> str:
    """What a click on a bar or point of chart ``name`` offers besides its invoices ("": only them)."""
    if name == SERIES:
        return "" if grain == "day" else "Show its days"
    return "Filter by it"
