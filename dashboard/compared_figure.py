"""The comparison drawn into a series figure: a grey bar beside each bar, pure like
``dashboard.figures``.

Each grey bar is the revenue of the days its bar is compared with (the rows'
``compare_*`` fields, ``dashboard.comparisons.series_compared``); its hover names those
days, the legend names the whole comparison, and a click drills into its days.
"""

from __future__ import annotations

from dashboard.comparisons import bar_label
from dashboard.figures import MONEY_HOVER, drill, label

COMPARE_COLOR = "#9ca3af"


def compared_figure(figure: dict, rows: list[dict]) -> dict:
    """``figure`` (its first trace: the bars of ``rows``) with the comparison's bars beside
    them; unchanged when the rows carry no comparison."""
    days = [(r["compare_start"], r["compare_end"]) for r in rows if r.get("compare_start")]
    if not days:
        return figure
    bars = figure["data"][0]
    texts = [
        label(bar_label(r["compare_start"], r["compare_end"])) if r["compare_start"] else "" for r in rows
    ]
    compared = {
        "type": "bar",
        "name": f"vs {label(bar_label(days[0][0], days[-1][1]))}",
        "x": bars["x"],
        "y": [float(r["compare_revenue"]) for r in rows],
        "text": texts,
        "textposition": "none",
        "customdata": [
            drill(start=r["compare_start"].isoformat(), end=r["compare_end"].isoformat())
            if r["compare_start"]
            else ""
            for r in rows
        ],
        "marker": {"color": COMPARE_COLOR},
        "hovertemplate": f"vs %{{text}}: %{{y:{MONEY_HOVER}}}<extra></extra>",
        **{k: bars[k] for k in ("xperiod", "xperiodalignment", "xhoverformat") if k in bars},
    }
    layout = {**figure["layout"], "barmode": "group", "bargap": 0.2, "bargroupgap": 0.05}
    return {**figure, "data": [bars, compared, *figure["data"][1:]], "layout": layout}
