"""Figure builders: pure functions from selector rows to Plotly figure dicts.

Plain dicts (``{"data": [...], "layout": {...}}``) that ``Plotly.newPlot`` takes as
they are; tests check them against ``plotly.graph_objects.Figure``. Labels are
HTML-escaped because Plotly reads a few tags in text (a name stays text).
"""

from __future__ import annotations

from html import escape

MONEY = "$,.2f"
MONEY_HOVER = "%{y:$,.2f}"
COLOR = "#2563eb"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def label(text: str) -> str:
    return escape(str(text), quote=False)


def _amount(value) -> float:
    return float(value)


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
        if name in layout:  # room for "$12,345,678.90" tick labels
            ticks = {} if layout[name].get("type") == "category" else {"nticks": 6}
            layout[name] = {"automargin": True, **ticks, **layout[name]}
    return layout


def monthly_sales(rows: list[dict]) -> dict:
    """Bars of revenue per month and the cumulative revenue as a line on a second y-axis."""
    months = [r["period"] for r in rows]
    return {
        "data": [
            {
                "type": "bar",
                "name": "Revenue",
                "x": months,
                "y": [_amount(r["revenue"]) for r in rows],
                "marker": {"color": COLOR},
                "hovertemplate": MONEY_HOVER,
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Cumulative revenue",
                "x": months,
                "y": [_amount(r["cumulative"]) for r in rows],
                "yaxis": "y2",
                "line": {"color": "#f59e0b"},
                "hovertemplate": MONEY_HOVER,
            },
        ],
        "layout": _layout(
            hovermode="x unified",
            showlegend=True,
            legend={"orientation": "h", "y": 1.12, "x": 0},
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
            xaxis={"type": "category", "title": {"text": "Month"}},
            yaxis={"title": {"text": "Revenue"}, "tickformat": MONEY, "rangemode": "tozero"},
            yaxis2={
                "title": {"text": "Cumulative"},
                "tickformat": MONEY,
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
        ),
    }


def _horizontal_money(names: list[str], amounts: list, color: str) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [label(n) for n in names],
                "x": [_amount(a) for a in amounts],
                "marker": {"color": color},
                "hovertemplate": "%{y}: %{x:$,.2f}<extra></extra>",
            }
        ],
        "layout": _layout(
            xaxis={"tickformat": MONEY, "rangemode": "tozero"},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        ),
    }


def _customer(row: dict) -> str:
    return f"{row['customer_name']} ({row['customer_id']})"


def pending_customers(rows: list[dict]) -> dict:
    return _horizontal_money([_customer(r) for r in rows], [r["pending_amount"] for r in rows], "#dc2626")


def top_customers(rows: list[dict]) -> dict:
    return _horizontal_money([_customer(r) for r in rows], [r["revenue"] for r in rows], COLOR)


def _vertical_money(names: list[str], amounts: list, color: str) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "x": [label(n) for n in names],
                "y": [_amount(a) for a in amounts],
                "marker": {"color": color},
                "hovertemplate": "%{x}: %{y:$,.2f}<extra></extra>",
            }
        ],
        "layout": _layout(
            xaxis={"type": "category", "automargin": True},
            yaxis={"tickformat": MONEY, "rangemode": "tozero", "automargin": True},
        ),
    }


def revenue_by_status(rows: list[dict]) -> dict:
    return _vertical_money([r["status"] for r in rows], [r["revenue"] for r in rows], "#059669")


def revenue_by_item(rows: list[dict]) -> dict:
    return _vertical_money([r["item"] for r in rows], [r["revenue"] for r in rows], "#7c3aed")


def rejections(rows: list[dict]) -> dict:
    """Stacked bars: rejected rows per reason (one trace each) for each batch."""
    batches = list(dict.fromkeys(r["batch"] for r in rows))
    reasons = sorted({r["reason"] for r in rows})
    counts = {(r["batch"], r["reason"]): r["rejected_rows"] for r in rows}
    return {
        "data": [
            {
                "type": "bar",
                "name": reason,
                "x": [label(b) for b in batches],
                "y": [counts.get((b, reason), 0) for b in batches],
                "hovertemplate": f"{label(reason)}: %{{y:,d}} rows<extra></extra>",
            }
            for reason in reasons
        ],
        "layout": _layout(
            barmode="stack",
            showlegend=True,
            legend={"orientation": "h", "y": -0.25},
            xaxis={"type": "category", "title": {"text": "Batch"}},
            yaxis={"title": {"text": "Rejected rows"}, "tickformat": ",d", "rangemode": "tozero"},
        ),
    }
