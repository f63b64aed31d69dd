"""Figure builders: pure functions from selector rows to Plotly figure dicts.

Plain dicts (``{"data": [...], "layout": {...}}``) that ``Plotly.newPlot`` takes as
they are; tests check them against ``plotly.graph_objects.Figure``. Labels are
HTML-escaped because Plotly reads a few tags in text (a name stays text).

Money axes are compact (``$250k``, ``$4M``: Plotly's own tick labels with a ``$``
prefix); hovers show exact cents. Each point that can be drilled into carries, as
``customdata``, the GET parameters of its filter (``customer=C-101``); the page's
script applies them on click. Legends sit below the plot. Colours of text, grid and
hover labels come from a light or dark template (``THEMES``) the page picks from the
system setting.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urlencode

from dashboard.palette import reason_marker

MONEY_HOVER = "$,.2f"
COLOR = "#2563eb"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}
# Trace types the page draws: the vendored Plotly bundle must hold each of them.
TRACE_TYPES = ("bar", "scatter")
MONEY_AXIS = {"tickprefix": "$", "separatethousands": True, "exponentformat": "B", "rangemode": "tozero"}
# At the figure's foot (not a fraction of the plot's height below it): a legend of many lines,
# or a plot made shorter by the toolbar's room on a phone, pushes the plot up instead of
# covering the axis labels.
LEGEND_BELOW = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": 0,
    "yanchor": "bottom",
    "yref": "container",
}


def _template(*, text: str, grid: str, line: str, hover_bg: str) -> dict:
    axis = {"gridcolor": grid, "linecolor": line, "zerolinecolor": line, "tickcolor": line}
    return {
        "layout": {
            "font": {"color": text},
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"font": {"color": text}},
            "hoverlabel": {"bgcolor": hover_bg, "font": {"color": text}, "bordercolor": line},
        }
    }


THEMES = {
    "light": _template(text="#111827", grid="#e5e7eb", line="#9ca3af", hover_bg="#ffffff"),
    "dark": _template(text="#e5e7eb", grid="#374151", line="#6b7280", hover_bg="#1f2937"),
}


def label(text: str) -> str:
    return escape(str(text), quote=False)


def _amount(value) -> float:
    return float(value)


def drill(**params) -> str:
    """The GET parameters a click on a point applies (they replace the same parameters)."""
    return urlencode(params)


def _label_margin(names: list[str]) -> int:
    """Room for the longest category label (about 6.5 px a character at 12 px).

    Axes keep ``automargin``, so a longer label still gets room, but at the cost of a
    second drawing pass: margins that are large enough up front keep the first load quick.
    """
    return min(260, 14 + round(6.6 * max((len(n) for n in names), default=0)))


def _layout(**extra) -> dict:
    layout = {
        "font": FONT,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "showlegend": False,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }
    for name in ("xaxis", "yaxis", "yaxis2"):
        if name in layout:
            layout[name] = {"automargin": True, **layout[name]}
    return layout


def monthly_sales(rows: list[dict], start: dt.date | None = None, end: dt.date | None = None) -> dict:
    """Bars of revenue per month and the cumulative revenue as a line on a second y-axis
    (``dashboard.series`` at the month grain)."""
    from dashboard.series import sales_series  # it builds on this module's helpers

    return sales_series(rows, "month", start, end)


def _horizontal_money(names: list[str], amounts: list, drills: list[str], color: str) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [label(n) for n in names],
                "x": [_amount(a) for a in amounts],
                "customdata": drills,
                "marker": {"color": color},
                "hovertemplate": f"%{{y}}: %{{x:{MONEY_HOVER}}}<extra></extra>",
            }
        ],
        "layout": _layout(
            margin={"l": _label_margin(names), "r": 16, "t": 10, "b": 30},
            xaxis=MONEY_AXIS,
            yaxis={"type": "category", "autorange": "reversed"},
        ),
    }


def _customer(row: dict) -> str:
    return f"{row['customer_name']} ({row['customer_id']})"


def pending_customers(rows: list[dict]) -> dict:
    return _horizontal_money(
        [_customer(r) for r in rows],
        [r["pending_amount"] for r in rows],
        [drill(customer=r["customer_id"]) for r in rows],
        "#dc2626",
    )


def top_customers(rows: list[dict]) -> dict:
    return _horizontal_money(
        [_customer(r) for r in rows],
        [r["revenue"] for r in rows],
        [drill(customer=r["customer_id"]) for r in rows],
        COLOR,
    )


def _vertical_money(names: list[str], amounts: list, drills: list[str], color: str) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "x": [label(n) for n in names],
                "y": [_amount(a) for a in amounts],
                "customdata": drills,
                "marker": {"color": color},
                "hovertemplate": f"%{{x}}: %{{y:{MONEY_HOVER}}}<extra></extra>",
            }
        ],
        "layout": _layout(
            margin={"l": 56, "r": 10, "t": 10, "b": 30}, xaxis={"type": "category"}, yaxis=MONEY_AXIS
        ),
    }


def revenue_by_status(rows: list[dict]) -> dict:
    return _vertical_money(
        [r["status"] for r in rows],
        [r["revenue"] for r in rows],
        [drill(status=r["status"]) for r in rows],
        "#059669",
    )


def revenue_by_item(rows: list[dict]) -> dict:
    """Horizontal, like the customers: item names stay readable on a narrow screen."""
    return _horizontal_money(
        [r["item"] for r in rows],
        [r["revenue"] for r in rows],
        [drill(item=r["item"]) for r in rows],
        "#7c3aed",
    )


def rejections(rows: list[dict]) -> dict:
    """Stacked bars: rejected rows per reason (one trace each) for each batch.

    The axis names each batch by its number only, so the labels stay short and horizontal
    above the legend at any width; the hover and the data table name its file.
    """
    batches = list(dict.fromkeys((r["batch_id"], r["batch"]) for r in rows))
    reasons = sorted({r["reason"] for r in rows})
    counts = {(r["batch_id"], r["reason"]): r["rejected_rows"] for r in rows}
    return {
        "data": [
            {
                "type": "bar",
                "name": reason,
                "x": [f"#{batch_id}" for batch_id, _ in batches],
                "y": [counts.get((batch_id, reason), 0) for batch_id, _ in batches],
                "text": [label(name) for _, name in batches],
                "textposition": "none",
                "marker": reason_marker(index),
                "hovertemplate": f"%{{text}}<br>{label(reason)}: %{{y:,d}} rows<extra></extra>",
            }
            for index, reason in enumerate(reasons)
        ],
        "layout": _layout(
            barmode="stack",
            showlegend=True,
            legend=LEGEND_BELOW,
            margin={"l": 64, "r": 10, "t": 10, "b": 100},
            xaxis={"type": "category", "tickangle": 0},
            yaxis={"title": {"text": "Rejected rows"}, "tickformat": ",d", "rangemode": "tozero"},
        ),
    }
