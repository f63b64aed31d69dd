"""The text alternative of each chart: a one-paragraph summary and a data table of the rows
it is drawn from (the same rows and columns as its CSV), each row that can be drilled into
linked to the page filtered by it.

A row's link carries the filter a click on its bar applies: the ``customdata`` of the
figure's first trace, whose points are the rows in order (``dashboard.figures``). So the
table, the keyboard and the mouse drill into the same place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.http import QueryDict

MONEY_COLUMNS = frozenset({"revenue", "cumulative", "pending_amount", "compare_revenue"})
HEADERS = {"qty": "Quantity", "invoice_count": "Invoices", "rejected_rows": "Rejected rows"}


@dataclass(frozen=True)
class Alternative:
    summary: str
    headers: list[str]
    rows: list[tuple[str, list[str]]]  # (the query of the page filtered by the row or "", cells)


def _money(value) -> str:
    amount = Decimal(value)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def _cell(column: str, value) -> str:
    if value is None or value == "":
        return "\u2013"
    if column in MONEY_COLUMNS:
        return _money(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _header(column: str) -> str:
    return HEADERS.get(column, column.replace("_", " ").capitalize())


def drilled_query(query: QueryDict, params: str) -> str:
    """``query`` with the parameters ``params`` applies replacing its own of the same names
    (what the page's script does on a click)."""
    merged = query.copy()
    applied = QueryDict(params)
    for key in applied:
        merged.setlist(key, applied.getlist(key))
    return merged.urlencode()


def _extremes(rows: list[dict], name: str, value: str, fmt) -> str:
    high = max(rows, key=lambda r: r[value])
    low = min(rows, key=lambda r: r[value])
    text = f"highest {high[name]} at {fmt(high[value])}"
    return text if len(rows) == 1 else f"{text}, lowest {low[name]} at {fmt(low[value])}"


def _customer(row: dict) -> dict:
    return {**row, "name": f"{row['customer_name']} ({row['customer_id']})"}


def summary(chart_name: str, rows: list[dict]) -> str:
    """One paragraph a screen reader reads instead of the picture."""
    if chart_name == "monthly":
        total = sum(Decimal(r["revenue"]) for r in rows)
        text = (
            f"{len(rows)} periods from {rows[0]['period']} to {rows[-1]['period']}: revenue "
            f"{_money(total)} in all; {_extremes(rows, 'period', 'revenue', _money)}."
        )
        compared = [r for r in rows if r.get("compare_start")]
        if compared:
            before = sum(Decimal(r["compare_revenue"]) for r in compared)
            text += f" The grey bars it is compared with total {_money(before)}."
        return text
    if chart_name in {"pending", "customers"}:
        value = "pending_amount" if chart_name == "pending" else "revenue"
        named = [_customer(r) for r in rows]
        what = "pending amount" if chart_name == "pending" else "revenue"
        return f"{len(rows)} customers by {what}: {_extremes(named, 'name', value, _money)}."
    if chart_name in {"status", "items"}:
        name = "status" if chart_name == "status" else "item"
        what = "statuses" if chart_name == "status" else "items"
        return f"{len(rows)} {what} by revenue: {_extremes(rows, name, 'revenue', _money)}."
    if chart_name == "quality":
        per_reason: dict[str, int] = {}
        for r in rows:
            per_reason[r["reason"]] = per_reason.get(r["reason"], 0) + r["rejected_rows"]
        ranked = sorted(per_reason.items(), key=lambda item: (-item[1], item[0]))
        batches = len({r["batch_id"] for r in rows})
        listed = ", ".join(f"{reason} {n:,}" for reason, n in ranked)
        return f"{sum(per_reason.values()):,} rejected rows over {batches} loads, by reason: {listed}."
    return f"{len(rows)} rows."


def chart_alternative(
    chart_name: str,
    rows: list[dict],
    columns: tuple[str, ...],
    figure: dict,
    query: QueryDict,
    *,
    drills: bool,
) -> Alternative:
    """The summary and the table of ``rows`` (drawn as ``figure``) on the page at ``query``."""
    targets = list(figure["data"][0].get("customdata") or []) if drills else []
    targets += [""] * (len(rows) - len(targets))
    return Alternative(
        summary=summary(chart_name, rows),
        headers=[_header(c) for c in columns],
        rows=[
            (drilled_query(query, target) if target else "", [_cell(c, row.get(c)) for c in columns])
            for row, target in zip(rows, targets, strict=False)
        ],
    )
