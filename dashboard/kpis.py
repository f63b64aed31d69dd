"""KPI cards: each value with its change against the period it is compared with.

Both periods are read from the same aggregate tables (``sales.sales_kpis``); the
comparison is ``dashboard.comparisons.comparison_for`` (none for "all time"). The rejection
rate describes the latest file load and compares with the file load before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dashboard.comparisons import Comparison
from warehouse.selectors import sales
from warehouse.selectors.sales import DimensionNames, SalesFilter

NO_DATA = "no data"
MINUS = "\u2212"


@dataclass(frozen=True)
class Change:
    delta: Decimal  # current - previous, raw (tests and data attributes read it)
    percent: Decimal | None  # None when the previous value is zero
    text: str  # "+$1,234.56 (+12.3 %)"
    rising_is_good: bool = True  # revenue: a rise is good; pending or rejected: a rise is bad

    @property
    def direction(self) -> str:
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "flat"

    @property
    def tone(self) -> str:
        """Good or bad by what the figure means (its colour and its words), not its sign."""
        if self.direction == "flat":
            return "flat"
        return "good" if (self.direction == "up") == self.rising_is_good else "bad"

    @property
    def tone_text(self) -> str:
        return {"good": "better", "bad": "worse", "flat": "unchanged"}[self.tone]

    @property
    def arrow(self) -> str:
        return {"up": "\u25b2", "down": "\u25bc", "flat": "="}[self.direction]


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    sub: str = ""
    change: Change | None = None
    compared_with: str = ""  # what the change is against; empty: nothing to compare with


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _count(value: int) -> str:
    return f"{value:,}"


def _signed(delta: Decimal, fmt) -> str:
    sign = "+" if delta > 0 else MINUS if delta < 0 else "\u00b1"
    return sign + fmt(abs(delta))


def _change(current, previous, fmt, *, rising_is_good: bool = True) -> Change:
    delta = Decimal(current) - Decimal(previous)
    percent = None if not previous else (delta / Decimal(previous) * 100).quantize(Decimal("0.1"))
    text = _signed(delta, fmt)
    if percent is not None:
        text += f" ({_signed(percent, lambda p: f'{p:,.1f}')} %)"
    return Change(delta=delta, percent=percent, text=text, rising_is_good=rising_is_good)


def sales_cards(
    *, filters: SalesFilter, dims: DimensionNames, comparison: Comparison | None
) -> tuple[dict, list[Card]]:
    """(the KPI values, the sales cards with their changes against ``comparison``)."""
    kpis = sales.sales_kpis(filters=filters, dims=dims)
    previous = sales.sales_kpis(filters=comparison.filters, dims=dims) if comparison else None
    if previous is not None and not (previous["invoice_count"] or previous["pending_count"]):
        previous = None  # nothing to compare with
    compared = comparison.label if comparison else ""
    pending_sub = f"{_count(kpis['pending_count'])} invoice{'s' if kpis['pending_count'] != 1 else ''}"
    specs: list[tuple[str, str, str, Callable[[Any], str], str, bool]] = [
        ("revenue", "Revenue", "revenue", _money, "", True),
        ("invoices", "Invoices", "invoice_count", _count, "", True),
        ("average", "Average invoice", "average_invoice", _money, "", True),
        ("pending", "Pending", "pending_amount", _money, pending_sub, False),  # more owed
    ]
    cards = []
    for key, title, field, fmt, sub, rising_is_good in specs:
        change = (
            _change(kpis[field], previous[field], fmt, rising_is_good=rising_is_good)
            if previous is not None and (field != "average_invoice" or previous["invoice_count"])
            else None
        )
        cards.append(Card(key, title, fmt(kpis[field]), sub, change, compared))
    return kpis, cards


def rejection_card(latest: dict | None) -> Card:
    """The rejection rate of the latest file load, against the file load before it (its file
    name only when ``latest`` carries it: see ``batch_details_removed``)."""
    if latest is None:
        return Card("rejection", "Rejected, latest load", "\u2013", "no load yet")
    rate = latest["rejection_rate"] or Decimal("0.00")
    finished = f", {latest['finished_at']:%Y-%m-%d %H:%M}" if latest["finished_at"] else ""
    which = (
        f"{latest['file_name']} (batch #{latest['id']})"
        if "file_name" in latest
        else f"batch #{latest['id']}"
    )
    sub = f"{which}: {_count(latest['rows_rejected'])} of {_count(latest['rows_read'])} rows{finished}"
    earlier = latest.get("previous")
    if earlier is None:
        return Card("rejection", "Rejected, latest load", f"{rate:.2f}%", sub)
    before = earlier["rejection_rate"] or Decimal("0.00")
    delta = rate - before
    text = _signed(delta, lambda d: f"{d:.2f}") + " pts"
    change = Change(delta=delta, percent=None, text=text, rising_is_good=False)
    return Card("rejection", "Rejected, latest load", f"{rate:.2f}%", sub, change, f"batch #{earlier['id']}")
