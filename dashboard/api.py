"""Sales endpoints of the JSON API: thin views over ``warehouse.selectors.sales``.

Parameters are validated by the dashboard's own forms (``dashboard.forms``) and documented
from them (``api.openapi``). Money is a string with two decimals. Answers are cached
(``dashboard.cache``).
"""

from ninja import Router

from api.answers import json_answer
from api.auth import auth_for
from api.openapi import form_parameters
from api.permissions import VIEW_SALES
from api.schemas import Error, SalesAnswer
from dashboard import comparisons
from dashboard.access import batch_details_allowed
from dashboard.cache import cached_response
from dashboard.forms import ComparedFilterForm, PeriodForm, SalesFilterForm, TopForm
from warehouse.selectors import batches, sales
from warehouse.selectors.sales import DimensionNames

router = Router(tags=["sales"], auth=auth_for(VIEW_SALES))


def _sales_endpoint(path: str, name: str, form_class, query, summary: str):
    """A GET operation: validate the parameters, run ``query(request, form, filters, dims)``,
    answer JSON."""

    def answer(request):
        dims = DimensionNames.load()
        form = form_class(request.GET, dims=dims)
        if not form.is_valid():
            return json_answer({"error": form.first_error()}, status=400)
        filters = form.sales_filter()
        return json_answer(
            {"statuses": list(filters.counted_statuses), "results": query(request, form, filters, dims)}
        )

    def view(request):
        return cached_response(request, lambda: answer(request))

    view.__name__ = name
    return router.get(
        path,
        url_name=name,
        summary=summary,
        response={200: SalesAnswer, 400: Error, 401: Error, 403: Error},
        openapi_extra={"parameters": form_parameters(form_class)},
    )(view)


def _latest_batch(request) -> dict | None:
    latest = batches.batch_latest_loaded()
    return latest if batch_details_allowed(request) else batches.batch_details_removed(latest)


def _top(form, default):
    return form.cleaned_data.get("top") or default


sells_customers = _sales_endpoint(
    "/sells/customers/",
    "sells_customers",
    TopForm,
    lambda r, form, f, d: sales.customers_top(filters=f, top=_top(form, 10), dims=d),
    "Top customers by revenue: customer_id, customer_name, revenue, invoice_count",
)


def _time_series(form, filters, dims) -> list[dict]:
    """Revenue per period; with ``compare``, each row with the days it is compared with."""
    period = form.cleaned_data.get("period") or "monthly"
    rows = sales.sales_by_period(filters=filters, period=period, dims=dims)
    compare = form.cleaned_data.get("compare")
    if not compare:  # the seed's shape, unchanged
        return rows
    return comparisons.series_compared(rows, comparisons.comparison_for(filters, compare), dims)


sells_time = _sales_endpoint(
    "/sells/time/",
    "sells_time",
    PeriodForm,
    lambda r, form, f, d: _time_series(form, f, d),
    "Revenue per month or ISO week: period, revenue, invoice_count, cumulative"
    " (with compare: compare_start, compare_end, compare_revenue, compare_invoice_count)",
)
sells_kpis = _sales_endpoint(
    "/sells/kpis/",
    "sells_kpis",
    ComparedFilterForm,
    lambda r, form, f, d: {
        **sales.sales_kpis(filters=f, dims=d),
        "comparison": comparisons.kpis_compared(
            comparisons.comparison_for(f, form.cleaned_data.get("compare") or ""), d
        ),
        "latest_batch": _latest_batch(r),
    },
    "Revenue, invoice count, average, pending amount and count, the same for the period compared"
    " with, the latest file load",
)
sells_pending = _sales_endpoint(
    "/sells/pending/",
    "sells_pending",
    TopForm,
    lambda r, form, f, d: sales.customers_pending(filters=f, top=_top(form, 15), dims=d),
    "Pending amount per customer",
)
sells_status = _sales_endpoint(
    "/sells/status/",
    "sells_status",
    SalesFilterForm,
    lambda r, form, f, d: sales.sales_by_status(filters=f, dims=d),
    "Revenue per status",
)
sells_items = _sales_endpoint(
    "/sells/items/",
    "sells_items",
    SalesFilterForm,
    lambda r, form, f, d: sales.sales_by_item(filters=f, dims=d),
    "Revenue per item",
)
