"""The invoices behind a figure: a sortable table a page at a time, and the same rows as a
streamed CSV or an XLSX workbook (``dashboard.invoice_files``).

Opened from a bar, a point or a KPI card of the dashboard with the same GET parameters
(``start``, ``end``, ``status``, ``customer``, ``item``), plus ``sort`` (``date``, ``invoice``,
``customer``, ``item``, ``status``, ``total``; ``-`` first for descending, default ``-date``)
and a page cursor (``after`` or ``before``). Readers of the sales pages may read it; the batch,
file and line columns need ``warehouse.view_loadbatch`` (``batch_details_allowed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from dashboard import files
from dashboard.access import batch_details_allowed, sales_page_required
from dashboard.cache import cached_fragment
from dashboard.forms import SalesFilterForm
from warehouse.selectors import invoices, sales
from warehouse.selectors.sales import PENDING, DimensionNames

PAGE_SIZE = 50
# Sorts no index serves (customer, item, status, total) sort every matching row: offered up to
# this many invoices (counted from the aggregates); date and invoice id sort any number.
SORT_MAX_ROWS = 50_000
INDEXED_SORTS = ("date", "invoice")
SORT_TOO_MANY_ROWS = (
    "sort: {rows:,} invoices are more than this table sorts by {sort} ({limit:,}): narrow the dates or"
    " filters, or sort by date or invoice"
)
SORT_INVALID = f"must be one of {', '.join(invoices.SORTS)}, or one of them after '-'"
# (sort parameter or "", heading, numeric) of the table's columns; batch columns last.
COLUMNS = (
    ("invoice", "Invoice", False),
    ("date", "Date", False),
    ("customer", "Customer", False),
    ("item", "Item", False),
    ("status", "Status", False),
    ("", "Qty", True),
    ("", "Unit price", True),
    ("total", "Total", True),
)
DETAIL_COLUMNS = (("", "Batch", True), ("", "File", False), ("", "Line", True))
XLSX_TOO_MANY_ROWS = (
    "{rows:,} invoices are more than an XLSX file holds here ({limit:,}): download them as CSV,"
    " which streams any number of rows, or narrow the filters."
)


class InvoiceForm(SalesFilterForm):
    sort = forms.CharField(required=False)
    after = forms.CharField(required=False, max_length=400)
    before = forms.CharField(required=False, max_length=400)
    bom = forms.BooleanField(required=False)

    def clean_sort(self):
        order = invoices.order_parse(self.cleaned_data.get("sort"))
        if order is None:
            raise forms.ValidationError(SORT_INVALID)
        return order

    def clean(self):
        """``after_cursor``/``before_cursor``: the decoded cursors (None when not given)."""
        data = super().clean()
        order = data.get("sort")
        for name in ("after", "before"):
            data[f"{name}_cursor"] = None
            if data.get(name) and order is not None:
                try:
                    data[f"{name}_cursor"] = invoices.invoices_cursor_decode(data[name], order.sort)
                except ValueError as error:
                    self.add_error(name, str(error))
        return data


def sort_refusal(order, count: int) -> str:
    """Why ``order`` is refused for ``count`` invoices ("": it is not)."""
    if order.sort in INDEXED_SORTS or count <= SORT_MAX_ROWS:
        return ""
    return SORT_TOO_MANY_ROWS.format(rows=count, sort=order.sort, limit=SORT_MAX_ROWS)


def invoices_url(query: QueryDict, **replace) -> str:
    """The table's URL for the dashboard's ``query`` (the page's own parameters left out)."""
    kept = query.copy()
    for name in ("grain", "bom", "after", "before", *replace):
        kept.pop(name, None)
    for name, value in replace.items():
        kept.setlist(name, [value])
    text = kept.urlencode()
    return reverse("dashboard:invoices") + (f"?{text}" if text else "")


def invoice_links(query: QueryDict) -> list[tuple[str, str]]:
    """(KPI card key, the URL of its invoices): the pending card's are the PENDING ones (none
    when a status filter leaves PENDING out: the card is then zero)."""
    every = invoices_url(query)
    links = [("revenue", every), ("invoices", every), ("average", every)]
    if not query.getlist("status") or PENDING in query.getlist("status"):
        links.append(("pending", invoices_url(query, status=PENDING)))
    return links


def invoice_row(row: dict, dims: DimensionNames, source=None) -> list:
    """A fact as the files hold it (``FILE_KINDS``'s columns; the batch columns when ``source``
    is given: batch id, file name, line)."""
    customer_id, customer_name = dims.customers[row["customer_id"]]
    cells = [
        row["invoice_id"],
        row["issue_date"],
        customer_id,
        customer_name,
        dims.items[row["item_id"]],
        dims.statuses[row["status_id"]],
        row["qty"],
        row["unit_price"],
        row["total"],
    ]
    return cells if source is None else [*cells, *source]


# What each cell of ``invoice_row`` is, in order (the batch columns last).
FILE_KINDS = (
    "text",
    "date",
    "text",
    "text",
    "text",
    "text",
    "count",
    "money",
    "money",
    "batch",
    "text",
    "line",
)
_TEXT: dict[str, Callable[[Any], str]] = {
    "date": lambda v: v.isoformat(),
    "count": lambda v: f"{v:,}",
    "money": lambda v: f"{v:,.2f}",
    "batch": lambda v: f"#{v}",
    "line": str,
    "text": str,
}


def _shown(cells: list) -> list[dict]:
    """A row as the page shows it: "Name (id)" for a customer, ISO dates, money with cents."""
    shown = [
        {"text": "" if value is None else _TEXT[kind](value), "numeric": kind not in ("text", "date")}
        for kind, value in zip(FILE_KINDS, cells, strict=False)
    ]
    customer = {"text": f"{shown[3]['text']} ({shown[2]['text']})", "numeric": False}
    return [*shown[:2], customer, *shown[4:]]


def _links(query: QueryDict, order, page, *, sortable: bool) -> dict:
    """Headings (a link that sorts by each: all of them when ``sortable``, else the indexed
    sorts only) and the pages' links."""

    def url(**replace) -> str:
        kept = query.copy()
        for name in ("after", "before"):
            kept.pop(name, None)
        for name, value in replace.items():
            kept.setlist(name, [value])
        return "?" + kept.urlencode()

    headers = []
    for sort, heading, numeric in COLUMNS:
        if not sort or not (sortable or sort in INDEXED_SORTS):
            headers.append({"heading": heading, "numeric": numeric})
            continue
        current = order.sort == sort
        flip = ("" if order.descending else "-") if current else ("-" if sort in ("date", "total") else "")
        direction = ("descending" if order.descending else "ascending") if current else ""
        headers.append(
            {"heading": heading, "numeric": numeric, "url": url(sort=flip + sort), "sorted": direction}
        )
    return {
        "headers": headers,
        "first": url() if page.previous else "",
        "previous": url(before=page.previous) if page.previous else "",
        "next": url(after=page.next) if page.next else "",
        "sort_limit": "" if sortable else f"{SORT_MAX_ROWS:,}",
    }


def _body(request, form: InvoiceForm, dims: DimensionNames) -> str:
    context = {"form": form, "back": reverse("dashboard:dashboard") + "?" + request.GET.urlencode()}
    if not form.is_valid():
        return render_to_string("dashboard/invoices.html", context)
    filters, order, details = form.sales_filter(), form.cleaned_data["sort"], batch_details_allowed(request)
    totals = sales.sales_kpis(filters=filters, dims=dims)
    refused = sort_refusal(order, totals["invoice_count"])
    if refused:  # too many invoices for this sort now: the page says so (and is cached as such)
        return render_to_string("dashboard/invoices.html", context | {"refused": refused})
    page = invoices.invoices_page(
        queryset=invoices.invoices_filter(filters=filters, dims=dims),
        order=order,
        dims=dims,
        after=form.cleaned_data["after_cursor"],
        before=form.cleaned_data["before_cursor"],
        limit=PAGE_SIZE,
    )
    sources = invoices.invoice_sources(page.rows) if details else {}
    query = request.GET.copy()
    query.setlist("sort", [order.parameter])
    links = _links(
        query, order, page, sortable=not sort_refusal(invoices.Order("total"), totals["invoice_count"])
    )
    if details:
        links["headers"] += [{"heading": h, "numeric": n} for _, h, n in DETAIL_COLUMNS]
    export = query.copy()
    for name in ("after", "before"):
        export.pop(name, None)
    limit = settings.EXPORT_XLSX_MAX_ROWS
    context |= {
        "rows": [_shown(invoice_row(r, dims, sources.get(r["invoice_id"]))) for r in page.rows],
        "totals": totals,
        "total_text": f"${totals['revenue']:,.2f}",
        "count_text": f"{totals['invoice_count']:,}",
        "described": files.filter_words(filters),
        "details": details,
        "links": links,
        "export": export.urlencode(),
        "xlsx_refused": XLSX_TOO_MANY_ROWS.format(rows=totals["invoice_count"], limit=limit)
        if totals["invoice_count"] > limit
        else "",
    }
    return render_to_string("dashboard/invoices.html", context)


def _page(request, body: str, status: int = 200) -> HttpResponse:
    context = {"body": mark_safe(body), "title": "Invoices"}  # our own template's output
    return render(request, "dashboard/dashboard.html", context, status=status)


@sales_page_required
def invoices_view(request):
    """The table, cached per answer (``dashboard.cache``) like the dashboard's body; bad
    parameters: the page with the errors, 400, never cached. A sort refused for the number of
    invoices is an answer (200, cached): it changes with the data."""
    dims = DimensionNames.load()
    form = InvoiceForm(request.GET, dims=dims)
    if not form.is_valid():
        return _page(request, _body(request, form, dims), status=400)
    return cached_fragment(request, lambda: _body(request, form, dims), lambda body: _page(request, body))


def sorted_count(form: InvoiceForm, dims: DimensionNames) -> int:
    """The invoices of the filters (from the aggregates), read only for the sorts that need it."""
    if form.cleaned_data["sort"].sort in INDEXED_SORTS:
        return 0
    return sales.sales_kpis(filters=form.sales_filter(), dims=dims)["invoice_count"]
