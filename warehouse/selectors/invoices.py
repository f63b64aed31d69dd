"""The invoices behind a sales figure: ``fact_invoices`` under the same filters as the figures
(dates, counted statuses, customer, item), sorted, read a page or a chunk at a time.

Pages are keyset pages: the cursor holds the sort value and the invoice id of the row the
page ends (or starts) at, and the next page is ``(value, id) > (last value, last id)`` in the
sort order, so page 5,000 costs what page 1 does. Sorting by date (the default) or invoice id
walks an index (``issue_date``'s index ends with the primary key); sorting by customer, item,
status or total sorts the matching rows (names are ranked from the small dimension tables,
never joined). The count and the total of a filter come from the aggregates
(``sales.sales_kpis``), so the table and the figure it was opened from agree.

Each fact keeps the batch that last wrote it and the line of that batch's file
(``source_row``; none for an invoice written by re-processing rejected rows).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Case, F, IntegerField, Q, Value, When

from warehouse.models import Invoice, LoadBatch
from warehouse.selectors.sales import DimensionNames, SalesFilter, _narrow

CURSOR_INVALID = "not a cursor this page gave"
SORTS = ("date", "invoice", "customer", "item", "status", "total")
_FIELDS = ("invoice_id", "issue_date", "customer_id", "item_id", "status_id", "qty", "unit_price", "total")


@dataclass(frozen=True)
class Order:
    sort: str = "date"
    descending: bool = True

    @property
    def parameter(self) -> str:
        return ("-" if self.descending else "") + self.sort


def order_parse(text: str | None) -> Order | None:
    """``date``, ``-total``, ...; None when it is not a sort the table has."""
    text = text or "-date"
    sort = text.removeprefix("-")
    return Order(sort, text.startswith("-")) if sort in SORTS else None


def invoices_filter(*, filters: SalesFilter, dims: DimensionNames):
    """The facts behind the figures of ``filters`` (the counted statuses)."""
    queryset = Invoice.objects.all()
    if filters.start:
        queryset = queryset.filter(issue_date__gte=filters.start)
    if filters.end:
        queryset = queryset.filter(issue_date__lte=filters.end)
    return _narrow(queryset, filters, filters.counted_statuses, dims)


def _ranks(column: str, names: dict[int, str]) -> Case:
    """A dimension key -> its place in name order (the dimension tables are small)."""
    ordered = sorted(names, key=lambda key: (names[key].casefold(), key))
    whens = [When(**{column: key}, then=Value(rank)) for rank, key in enumerate(ordered)]
    return Case(*whens, default=Value(len(ordered)), output_field=IntegerField())


def _sort_expression(sort: str, dims: DimensionNames):
    """What ``sort`` orders by before the invoice id (None: the invoice id alone)."""
    if sort in ("date", "total"):
        return F("issue_date" if sort == "date" else "total")
    if sort == "customer":
        return _ranks("customer_id", {k: f"{n} ({c})" for k, (c, n) in dims.customers.items()})
    if sort == "item":
        return _ranks("item_id", dims.items)
    if sort == "status":
        return _ranks("status_id", dims.statuses)
    return None


def _value_text(value) -> object:
    return (
        value.isoformat()
        if isinstance(value, dt.date)
        else str(value)
        if isinstance(value, Decimal)
        else value
    )


def invoices_cursor_encode(value, invoice_id: str) -> str:
    text = json.dumps([_value_text(value), invoice_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def invoices_cursor_decode(cursor: str, sort: str) -> tuple[object, str]:
    """(sort value, invoice id); ValueError(CURSOR_INVALID) for anything else."""
    try:
        value, invoice_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(invoice_id, str):
            raise ValueError
        if sort == "date":
            value = dt.date.fromisoformat(value)
        elif sort == "total":
            value = Decimal(value)
        elif sort in ("customer", "item", "status"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, InvalidOperation):
        raise ValueError(CURSOR_INVALID) from None
    return value, invoice_id


def _sorted(queryset, order: Order, dims: DimensionNames, *, reverse: bool = False):
    expression = _sort_expression(order.sort, dims)
    descending = order.descending != reverse
    if expression is not None:
        queryset = queryset.annotate(sort_value=expression)
    keys = ["sort_value", "invoice_id"] if expression is not None else ["invoice_id"]
    return queryset.order_by(*[f"-{k}" if descending else k for k in keys]), expression is not None


def _beyond(queryset, cursor: tuple[object, str], descending: bool, valued: bool):
    """Rows after ``cursor`` in the order (``descending``: smaller values come after)."""
    value, invoice_id = cursor
    after = "lt" if descending else "gt"
    if not valued:
        return queryset.filter(**{f"invoice_id__{after}": invoice_id})
    bound = "lte" if descending else "gte"
    return queryset.filter(**{f"sort_value__{bound}": value}).filter(
        Q(**{f"sort_value__{after}": value}) | Q(**{f"invoice_id__{after}": invoice_id})
    )


def _fetch(queryset, order, dims, *, cursor, reverse: bool, limit: int) -> list[dict]:
    rows, valued = _sorted(queryset, order, dims, reverse=reverse)
    if cursor is not None:
        rows = _beyond(rows, cursor, order.descending != reverse, valued)
    fields = (*_FIELDS, "batch_id", "source_row", *(("sort_value",) if valued else ()))
    return list(rows.values(*fields)[:limit])


def _cursor_of(row: dict) -> str:
    return invoices_cursor_encode(row.get("sort_value", row["invoice_id"]), row["invoice_id"])


@dataclass
class Page:
    rows: list[dict]
    next: str | None  # the cursor of the page after, or None
    previous: str | None  # the cursor of the page before, or None (the first page)


def invoices_page(
    *, queryset, order: Order, dims: DimensionNames, after=None, before=None, limit: int
) -> Page:
    """Up to ``limit`` rows after cursor ``after`` (or before cursor ``before``, or the first)."""
    if before is not None:
        rows = _fetch(queryset, order, dims, cursor=before, reverse=True, limit=limit + 1)
        earlier = len(rows) > limit
        rows = rows[:limit][::-1]
        return Page(rows, _cursor_of(rows[-1]) if rows else None, _cursor_of(rows[0]) if earlier else None)
    rows = _fetch(queryset, order, dims, cursor=after, reverse=False, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _cursor_of(rows[-1]) if more else None, _cursor_of(rows[0]) if after and rows else None)


def invoices_chunks(
    *, queryset, order: Order, dims: DimensionNames, size: int = 5000
) -> Iterator[list[dict]]:
    """Every row in order, ``size`` at a time (each chunk one keyset query)."""
    cursor = None
    while True:
        rows = _fetch(queryset, order, dims, cursor=cursor, reverse=False, limit=size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]
        cursor = (last.get("sort_value", last["invoice_id"]), last["invoice_id"])


def invoice_sources(rows: list[dict]) -> dict[str, tuple[int, str, int | None]]:
    """invoice id -> (batch id, the batch's file name, the line of that file that wrote it)."""
    batches = LoadBatch.objects.filter(pk__in={r["batch_id"] for r in rows})
    names = dict(batches.values_list("pk", "file_name"))
    return {r["invoice_id"]: (r["batch_id"], names.get(r["batch_id"], ""), r["source_row"]) for r in rows}
