import datetime as dt
from decimal import Decimal

import plotly.graph_objects as go

from dashboard import figures, palette

D = Decimal


def test_monthly_sales_on_a_date_axis_with_compact_money_and_exact_hovers():
    rows = [
        {"period": "2024-01", "revenue": D("12345.67"), "cumulative": D("12345.67")},
        {"period": "2024-02", "revenue": D("0.33"), "cumulative": D("12346.00")},
    ]
    figure = figures.monthly_sales(rows)
    go.Figure(figure)
    bars, line = figure["data"]
    assert bars["x"] == line["x"] == ["2024-01-01", "2024-02-01"] and line["y"] == [12345.67, 12346.0]
    assert bars["xperiod"] == "M1" and bars["xperiodalignment"] == "middle"
    layout = figure["layout"]
    assert (
        layout["xaxis"]["type"] == "date" and "tickangle" not in layout["xaxis"]
    )  # Plotly turns them if need be
    for axis in (layout["yaxis"], layout["yaxis2"]):
        assert (axis["tickprefix"], axis["exponentformat"]) == ("$", "B") and "tickformat" not in axis
    assert layout["yaxis2"]["overlaying"] == "y" and layout["yaxis2"]["tickmode"] == "auto"
    assert bars["hovertemplate"] == line["hovertemplate"] == "%{y:$,.2f}"
    legend = layout["legend"]  # at the figure's foot, below the plot (the browser tests measure it)
    assert (legend["yref"], legend["y"], legend["yanchor"]) == ("container", 0, "bottom")


def test_a_month_drills_to_its_days_within_the_selected_range():
    rows = [{"period": m, "revenue": D("1"), "cumulative": D("1")} for m in ("2024-01", "2024-02", "2024-03")]
    assert figures.monthly_sales(rows)["data"][0]["customdata"] == [
        "start=2024-01-01&end=2024-01-31",
        "start=2024-02-01&end=2024-02-29",
        "start=2024-03-01&end=2024-03-31",
    ]
    narrowed = figures.monthly_sales(rows, start=dt.date(2024, 1, 12), end=dt.date(2024, 3, 5))
    assert narrowed["data"][1]["customdata"] == [
        "start=2024-01-12&end=2024-01-31",
        "start=2024-02-01&end=2024-02-29",
        "start=2024-03-01&end=2024-03-05",
    ]


def test_bars_drill_to_their_customer_status_or_item():
    customers = [
        {"customer_id": "C-1", "customer_name": "A & B", "revenue": D("1"), "pending_amount": D("1")}
    ]
    assert figures.top_customers(customers)["data"][0]["customdata"] == ["customer=C-1"]
    assert figures.pending_customers(customers)["data"][0]["customdata"] == ["customer=C-1"]
    status = figures.revenue_by_status([{"status": "PAID", "revenue": D("1")}])
    assert status["data"][0]["customdata"] == ["status=PAID"]
    items = figures.revenue_by_item([{"item": "Front-end dev & co", "revenue": D("1")}])
    assert items["data"][0]["customdata"] == ["item=Front-end+dev+%26+co"]


def test_names_are_escaped_for_plotly_text():
    rows = [{"customer_id": "X", "customer_name": "<b>x</b> & co", "pending_amount": D("1.00")}]
    assert figures.pending_customers(rows)["data"][0]["y"] == ["&lt;b&gt;x&lt;/b&gt; &amp; co (X)"]


def test_rejections_stack_one_trace_per_reason():
    rows = [
        {"batch_id": 1, "batch": "#1 a.csv", "reason": "INVALID_DATE", "rejected_rows": 3},
        {"batch_id": 2, "batch": "#2 <b>.csv", "reason": "TOTAL_MISMATCH", "rejected_rows": 1},
    ]
    figure = figures.rejections(rows)
    go.Figure(figure)
    traces = [(t["name"], t["x"], t["y"], t["text"]) for t in figure["data"]]
    assert traces == [
        ("INVALID_DATE", ["#1", "#2"], [3, 0], ["#1 a.csv", "#2 &lt;b&gt;.csv"]),
        ("TOTAL_MISMATCH", ["#1", "#2"], [0, 1], ["#1 a.csv", "#2 &lt;b&gt;.csv"]),
    ]


def test_reasons_beyond_the_palette_are_hatched_on_their_colour():
    count = len(palette.REASON_COLORS) + 2
    markers = [palette.reason_marker(i) for i in range(count)]
    fills = [(m["color"], m.get("pattern", {}).get("shape", "")) for m in markers]
    assert len(set(fills)) == count
    assert all("pattern" not in m for m in markers[: len(palette.REASON_COLORS)])
    assert all(m["pattern"]["bgcolor"] == m["color"] for m in markers[len(palette.REASON_COLORS) :])
    go.Figure({"data": [{"type": "bar", "y": [1], "marker": m} for m in markers]})


def test_light_and_dark_templates_are_valid_plotly_templates():
    for theme in figures.THEMES.values():
        go.layout.Template(theme)
    assert (
        figures.THEMES["dark"]["layout"]["font"]["color"]
        != figures.THEMES["light"]["layout"]["font"]["color"]
    )
