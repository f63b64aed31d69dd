"""JSON API: thin views over ``warehouse.selectors``. Money is a string with two decimals."""

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse

from dashboard.access import batches_api_required, sales_api_required
from dashboard.forms import LimitForm, PeriodForm, SalesFilterForm, TopForm
from warehouse import selectors
from warehouse.selectors import DimensionNames

BATCH_NOT_FOUND = "batch not found"


class MoneyEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return f"{o:.2f}"
        return super().default(o)


def _json(payload, status=200) -> JsonResponse:
    return JsonResponse(
        payload, status=status, encoder=MoneyEncoder, json_dumps_params={"ensure_ascii": False}
    )


def _sales_endpoint(form_class, query):
    """A view: validate the GET parameters, run ``query(form, filters, dims)``, answer JSON."""

    @sales_api_required
    def view(request):
        dims = DimensionNames.load()
        form = form_class(request.GET, dims=dims)
        if not form.is_valid():
            return _json({"error": form.first_error()}, status=400)
        filters = form.sales_filter()
        return _json({"statuses": list(filters.counted_statuses), "results": query(form, filters, dims)})

    return view


def _top(form, default):
    return form.cleaned_data.get("top") or default


sells_customers = _sales_endpoint(
    TopForm, lambda form, f, d: selectors.customers_top(filters=f, top=_top(form, 10), dims=d)
)
sells_time = _sales_endpoint(
    PeriodForm,
    lambda form, f, d: selectors.sales_by_period(
        filters=f, period=form.cleaned_data.get("period") or "monthly", dims=d
    ),
)
sells_pending = _sales_endpoint(
    TopForm, lambda form, f, d: selectors.customers_pending(filters=f, top=_top(form, 15), dims=d)
)
sells_status = _sales_endpoint(
    SalesFilterForm, lambda form, f, d: selectors.sales_by_status(filters=f, dims=d)
)
sells_items = _sales_endpoint(SalesFilterForm, lambda form, f, d: selectors.sales_by_item(filters=f, dims=d))
sells_kpis = _sales_endpoint(
    SalesFilterForm,
    lambda form, f, d: {
        **selectors.sales_kpis(filters=f, dims=d),
        "latest_batch": selectors.batch_latest_loaded(),
    },
)


@batches_api_required
def batches(request):
    form = LimitForm(request.GET)
    if not form.is_valid():
        return _json({"error": form.first_error()}, status=400)
    return _json({"results": selectors.batches_recent(limit=form.cleaned_data.get("limit") or 20)})


@batches_api_required
def batch_detail(request, batch_id: int):
    batch = selectors.batch_get(batch_id=batch_id)
    if batch is None:
        return _json({"error": BATCH_NOT_FOUND}, status=404)
    return _json(batch)
