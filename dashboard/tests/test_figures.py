from decimal import Decimal

import plotly.graph_objects as go

from dashboard import figures

D = Decimal


def test_monthly_sales_keeps_months_as_categories_and_money_format():
    rows = [
        {"period": "2024-01", "revenue": D("12345.67"), "cumulative": D("12345.67")},
        {"period": "2024-02", "revenue": D("0.33"), "cumulative": D("12346.00")},
    ]
    figure = figures.monthly_sales(rows)
    go.Figure(figure)
    bars, line = figure["data"]
    assert bars["x"] == ["2024-01", "2024-02"] and line["y"] == [12345.67, 12346.0]
    assert figure["layout"]["xaxis"]["type"] == "category"
    assert figure["layout"]["yaxis2"]["overlaying"] == "y"
    assert bars["hovertemplate"] == line["hovertemplate"] == "%{y:$,.2f}"


def test_names_are_escaped_for_plotly_text():
    rows = [{"customer_id": "X", "customer_name": "<b>x</b> & co", "pending_amount": D("1.00")}]
    assert figures.pending_customers(rows)["data"][0]["y"] == ["&lt;b&gt;x&lt;/b&gt; &amp; co (X)"]


def test_rejections_stack_one_trace_per_reason():
    rows = [
        {"batch": "#1 a.csv", "reason": "INVALID_DATE", "rejected_rows": 3},
        {"batch": "#2 b.csv", "reason": "TOTAL_MISMATCH", "rejected_rows": 1},
    ]
    figure = figures.rejections(rows)
    go.Figure(figure)
    traces = [(t["name"], t["y"]) for t in figure["data"]]
    assert traces == [("INVALID_DATE", [3, 0]), ("TOTAL_MISMATCH", [0, 1])]
