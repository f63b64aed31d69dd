"""The dashboard page and the CSV download of each chart, served through ``dashboard.cache``.

The page is a shell naming the user around a body that is the same for every user with the
same answer-shaping permissions: the body is what is cached."""

import csv
from typing import Any

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.safestring import mark_safe

from dashboard import figures, files, kpis
from dashboard.access import batch_details_allowed, sales_page_required
from dashboard.alternatives import chart_alternative
from dashboard.cache import cached_fragment, cached_response
from dashboard.charts import CHARTS, chart_columns, chart_rows
from dashboard.comparisons import comparison_for
from dashboard.grain import ChartFilterForm, charts_for, drill_text
from dashboard.invoices import invoice_links
from dashboard.presets import data_range_links
from warehouse.exports import csv_cell
from warehouse.selectors import batches, sales
from warehouse.selectors.sales import DimensionNames


@sales_page_required
def dashboard(request):
    return cached_fragment(
        request,
        lambda: render_to_string("dashboard/body.html", _body_context(request)),
        lambda body: render(request, "dashboard/dashboard.html", {"body": mark_safe(body)}),
    )


def _body_context(request) -> dict:
    dims = DimensionNames.load()
    form = ChartFilterForm(request.GET, dims=dims)
    context: dict[str, Any] = {
        "form": form,
        "state": sales.warehouse_state(),
        "charts": [],
        "themes": figures.THEMES,
    }
    context["default_statuses"] = sales.revenue_statuses()
    if context["state"] == "ready":
        context.update(data_range_links(request.GET))
    if context["state"] == "ready" and form.is_valid():
        filters = form.sales_filter()
        comparison = comparison_for(filters, form.cleaned_data["compare"])
        context["kpis"], context["cards"] = kpis.sales_cards(
            filters=filters, dims=dims, comparison=comparison
        )
        details = batch_details_allowed(request)
        latest = batches.batch_latest_loaded()
        context["cards"].append(
            kpis.rejection_card(latest if details else batches.batch_details_removed(latest))
        )
        context["chips"] = form.chips(request.GET)
        context["query"] = request.GET.urlencode()
        context["grain"] = form.grain_used()
        context["invoice_links"] = invoice_links(request.GET)
        for name, chart in charts_for(context["grain"]).items():
            rows = chart_rows(chart, filters, dims, details=details, comparison=comparison)
            figure = chart.figure(rows, filters) if rows else None
            columns = chart_columns(chart, comparison)
            alternative = figure and chart_alternative(
                name, rows, columns, figure, request.GET, drills=chart.drills
            )
            context["charts"].append(
                {
                    "name": name,
                    "title": chart.title,
                    "has_data": bool(rows),
                    "drills": chart.drills,
                    "drill": drill_text(name, context["grain"]),
                    "alternative": alternative,
                    "file_stem": chart.file_stem(rows, filters),
                }
            )
            context.setdefault("figures", {})[name] = figure
        # No sales match: the empty state, not a page of empty axes (quality is batch-level).
        matched = any(c["has_data"] for c in context["charts"] if c["name"] != "quality")
        context["figures"] = {k: v for k, v in context["figures"].items() if v is not None and matched}
    return context


@sales_page_required
def chart_csv(request, name):
    chart = CHARTS.get(name)
    if chart is None:
        raise Http404("unknown chart")
    return cached_response(request, lambda: _chart_csv(request, name, chart))


def _chart_csv(request, name, chart) -> HttpResponse:
    """The chart's rows, after a first row naming the chart, the currency and the filters."""
    dims = DimensionNames.load()
    form = ChartFilterForm(request.GET, dims=dims)
    if not form.is_valid():
        return HttpResponse(form.first_error(), status=400, content_type="text/plain")
    chart = charts_for(form.grain_used())[name]
    filters = form.sales_filter()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # a sales chart's first row names its filters; the loads chart's (not invoices) does not
    title = files.title_row(chart.title, filters) if chart.drills else [chart.title]
    comparison = comparison_for(filters, form.cleaned_data["compare"]) if chart.compared else None
    columns = chart_columns(chart, comparison)
    rows = chart_rows(chart, filters, dims, details=batch_details_allowed(request), comparison=comparison)
    response["Content-Disposition"] = files.attachment(chart.file_name(rows, filters, "csv"))
    if form.cleaned_data.get("bom"):
        response.write(files.BOM)
    writer = csv.writer(response)
    writer.writerow(title)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in columns])
    return response


def favicon(request):
    """Browsers ask for /favicon.ico on every page; answer with the app's icon, not a 404."""
    return HttpResponsePermanentRedirect(static("dashboard/favicon.svg"))
