"""List filters of the rejected-rows workbench."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import OuterRef, Subquery

from ingestion.pipeline.rules import REASONS
from warehouse.models import LoadBatch, RejectedInvoice


def _first_rejected(column: str) -> Subquery:
    """``column`` of the first rejected row of the batch (``OuterRef("pk")``), None if it has
    none: a correlated subquery, one probe of the rejected rows' batch index per batch."""
    rows = RejectedInvoice._base_manager.filter(batch_id=OuterRef("pk")).order_by()
    return Subquery(rows.values(column)[:1])


class ResolvedFilter(admin.SimpleListFilter):
    """Unresolved rows by default (the work left); resolved ones or all of them on demand.

    A search looks through every row unless this filter is chosen: a search for an invoice
    finds its row whether or not it was resolved (the resolved column says which)."""

    title = "resolved"
    parameter_name = "resolved"

    def __init__(self, request, params, model, model_admin):
        self.default = "all" if request.GET.get(SEARCH_VAR, "").strip() else "no"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return (("no", "Unresolved"), ("yes", "Resolved"), ("all", "All"))

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == "yes":
            return queryset.resolved()
        if value == "all":
            return queryset
        return queryset.unresolved()

    def choices(self, changelist):
        current = self.value() or self.default
        for value, title in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }


class BatchFilter(admin.SimpleListFilter):
    """The 20 most recent batches that have rejected rows (any batch by URL: ?batch__id__exact=N)."""

    title = "batch"
    parameter_name = "batch__id__exact"

    def lookups(self, request, model_admin):
        batches = (  # from the latest
            LoadBatch.objects.annotate(first_row=_first_rejected("pk"))
            .filter(first_row__isnull=False)
            .order_by("-pk")
            .only("pk", "file_name")[:20]
        )
        choices = [(str(b.pk), f"#{b.pk} {b.file_name}") for b in batches]
        value = self.value()
        if value and value not in {c[0] for c in choices}:
            choices.append((value, f"#{value}"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(batch_id=int(value))
        return queryset


class FileFilter(admin.SimpleListFilter):
    """The files rejected rows come from (``?file_name=NAME``). A load writes its file's name
    on each of its rejected rows, so each batch's first rejected row names its file: never a
    read of every rejected row."""

    title = "file name"
    parameter_name = "file_name"

    def lookups(self, request, model_admin):
        names = (
            LoadBatch.objects.annotate(file=_first_rejected("file_name"))
            .filter(file__isnull=False)
            .values_list("file", flat=True)
        )
        return [(name, name) for name in sorted(set(names))]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(file_name=value) if value else queryset


class ReasonFilter(admin.SimpleListFilter):
    """Every reason the rules declare, in check order (``?reason=CODE``)."""

    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(code, code) for code in REASONS]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset
