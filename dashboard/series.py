"""The sales series figure at a grain (day, ISO week or month): revenue bars and the
cumulative revenue as a line on a second y-axis.

The x-axis is a date axis, one value per period (its first day), each bar centred on its
period. Ticks are placed by grain, so a label never repeats: one per period (``ticklabelmode
"period"``, the label centred under its bar) when there are few, every k-th period when there
are many; beyond four months Plotly spaces the month labels (a tick more often than monthly
names its day). Each bar and point carries, as ``customdata``, the GET parameters of its
period narrowed to the selected range (a drill never widens it): a month or a week drills to
its days, a day opens its invoices.
"""

from __future__ import annotations

import datetime as dt
import math

from dashboard.figures import COLOR, LEGEND_BELOW, MONEY_AXIS, MONEY_HOVER, _amount, _layout, drill
from warehouse.selectors.periods import period_end

DAY_MS = 86_400_000
MAX_TICKS = 12
# Month labels ("Mar '24") are wide: one per month up to four months (they stay level on a
# 390 px screen); beyond, Plotly spaces them to the width, and should it tick more often
# than monthly (its finest steps below a month are 1, 2, 7 and 14 days), the ticks name days,
# so a label still never repeats. The range's ends are inclusive: it must stop short of "M1",
# or monthly ticks would name the 1st of each month.
MAX_MONTH_TICKS = 4
SUB_MONTH_TICKS = [{"dtickrange": [None, 15 * DAY_MS], "value": "%-d %b"}]
# grain -> (the series' ``period`` parameter, hover format of a period, tick label format)
GRAINS = {
    "day": ("daily", "%a %Y-%m-%d", "%-d %b"),
    "week": ("weekly", "week of %Y-%m-%d", "%-d %b"),
    "month": ("monthly", "%B %Y", "%b '%y"),
}
TITLES = {
    "day": "Daily sales and cumulative revenue",
    "week": "Weekly sales and cumulative revenue",
    "month": "Monthly sales and cumulative revenue",
}


def period_first_day(label: str) -> dt.date:
    """``2024-03`` -> 2024-03-01, ``2024-W09`` -> that week's Monday, ``2024-03-05`` -> itself."""
    if "-W" in label:
        year, week = label.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1)
    return dt.date.fromisoformat(label if len(label) == 10 else f"{label}-01")


def _last_day(first: dt.date, grain: str) -> dt.date:
    return first if grain == "day" else period_end(first, grain)


def _x_axis(firsts: list[dt.date], grain: str) -> dict:
    every = max(1, math.ceil(len(firsts) / MAX_TICKS))
    axis = {
        "type": "date",
        "tickformat": GRAINS[grain][2],
        "ticklabelstandoff": 6,  # a little below the axis, clear of the y-axis' "$0"
        "showgrid": False,
    }
    if grain == "month" and len(firsts) > MAX_MONTH_TICKS:
        return {**axis, "tickformatstops": SUB_MONTH_TICKS}
    if not firsts:
        return axis
    step = f"M{every}" if grain == "month" else DAY_MS * every * (7 if grain == "week" else 1)
    axis.update(tick0=firsts[0].isoformat(), dtick=step)
    if every == 1:
        axis["ticklabelmode"] = "period"  # each label centred on its period, under its bar
    return axis


def sales_series(
    rows: list[dict], grain: str, start: dt.date | None = None, end: dt.date | None = None
) -> dict:
    """The figure of ``sales_by_period`` rows at ``grain`` (``day``, ``week``, ``month``)."""
    firsts = [period_first_day(r["period"]) for r in rows]
    ranges = [(max(f, start or f), min(_last_day(f, grain), end or _last_day(f, grain))) for f in firsts]
    common = {
        "x": [f.isoformat() for f in firsts],
        "xperiod": "M1" if grain == "month" else DAY_MS * (7 if grain == "week" else 1),
        "xperiod0": firsts[0].isoformat() if firsts and grain == "week" else None,
        "xperiodalignment": "middle",
        "customdata": [drill(start=a.isoformat(), end=b.isoformat()) for a, b in ranges],
        "xhoverformat": GRAINS[grain][1],
    }
    if common["xperiod0"] is None:
        del common["xperiod0"]
    return {
        "data": [
            {
                "type": "bar",
                "name": "Revenue",
                "y": [_amount(r["revenue"]) for r in rows],
                "marker": {"color": COLOR},
                "hovertemplate": f"%{{y:{MONEY_HOVER}}}",
                **common,
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Cumulative revenue",
                "y": [_amount(r["cumulative"]) for r in rows],
                "yaxis": "y2",
                "line": {"color": "#f59e0b"},
                "hovertemplate": f"%{{y:{MONEY_HOVER}}}",
                **common,
            },
        ],
        "layout": _layout(
            hovermode="x unified",
            showlegend=True,
            legend=LEGEND_BELOW,
            margin={"l": 56, "r": 64, "t": 24, "b": 90},
            xaxis=_x_axis(firsts, grain),
            yaxis={"title": {"text": "Revenue"}, **MONEY_AXIS},
            yaxis2={
                "title": {"text": "Cumulative"},
                **MONEY_AXIS,
                "tickmode": "auto",  # round ticks of its own (an overlaying axis defaults to "sync")
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
            },
        ),
    }
