"""Files the dashboard hands out (chart CSVs and PNGs, the invoice table's CSV and XLSX): their
names, their first row, and dates written the one way files write them.

A file is named after what it holds, its filters and its dates
(``daily-sales_2024-03-01_2024-03-31_customer-C-101.csv``; a chart's PNG, drawn in the browser,
gets its CSV's name through Plotly's ``toImageButtonOptions``); its first row says what it is, the
currency and the filters (``Revenue by item · amounts in USD · 2024-03-01 to 2024-03-31 ·
statuses PAID, PENDING, PROCESSING``); the column names follow. Dates are ISO 8601
(``YYYY-MM-DD``) in every file. ``bom=1`` starts a CSV with the UTF-8 byte order mark, which
Excel needs to read non-ASCII names right.
"""

from __future__ import annotations

import re

from warehouse.selectors.sales import SalesFilter

CURRENCY = "USD"
BOM = "\ufeff"
SEPARATOR = " \u00b7 "
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-")[:60] or "x"


def filter_words(filters: SalesFilter) -> list[str]:
    """The filters as a reader says them: dates, statuses, customer, item."""
    start, end = filters.start, filters.end
    dates = (
        f"{start.isoformat() if start else 'first sale'} to {end.isoformat() if end else 'last sale'}"
        if start or end
        else "all dates"
    )
    words = [dates, "statuses " + ", ".join(filters.counted_statuses)]
    if filters.customer_id:
        words.append(f"customer {filters.customer_id}")
    if filters.item:
        words.append(f"item {filters.item}")
    return words


def title_row(title: str, filters: SalesFilter) -> list[str]:
    """The first row of a file: what it holds, the currency, the filters (one cell)."""
    return [SEPARATOR.join([title, f"amounts in {CURRENCY}", *filter_words(filters)])]


def file_name(subject: str, filters: SalesFilter, extension: str) -> str:
    """``<subject>_<start>_<end>[_statuses-..][_customer-..][_item-..].<extension>``, safe
    for every file system and a ``Content-Disposition`` header."""
    return file_stem(subject, filters) + "." + extension


def file_stem(subject: str, filters: SalesFilter) -> str:
    parts = [_slug(subject)]
    parts.append(filters.start.isoformat() if filters.start else "first")
    parts.append(filters.end.isoformat() if filters.end else "last")
    if filters.statuses:
        parts.append("statuses-" + "-".join(_slug(s) for s in filters.statuses))
    if filters.customer_id:
        parts.append("customer-" + _slug(filters.customer_id))
    if filters.item:
        parts.append("item-" + _slug(filters.item))
    return "_".join(parts)[:200]


def attachment(name: str) -> str:
    return f'attachment; filename="{name}"'
