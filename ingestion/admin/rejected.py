"""The rejected-rows workbench: unresolved rows first, their detail in plain words, the
missing customer, item or status added in place, and re-processing of a row or a selection."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from import_export.admin import ExportActionModelAdmin

from ingestion.admin.display import admin_url, admin_url_name, number, reasons_in_detail
from ingestion.admin.exports import RejectedInvoiceResource
from ingestion.admin.filters import BatchFilter, FileFilter, ReasonFilter, ResolvedFilter
from ingestion.admin.rejected_columns import (
    RejectedColumnsMixin,
    next_steps,
    row_next_steps,
    still_rejected_url,
)
from ingestion.admin.wording import detail_for_people
from ingestion.rejected.reprocess import reprocess_batches_create
from ingestion.rejected.streams import StreamedExportMixin
from ingestion.rejected.unknowns import CUSTOMER, ITEM, KINDS, STATUS, unknowns_create, unknowns_find
from warehouse.admin import ReadOnlyAdminMixin
from warehouse.admin_permissions import ImportExportPermissionMixin
from warehouse.exports import EXPORT_FORMATS, ExportAdminMixin
from warehouse.models import LoadBatch, RejectedInvoice

# The kinds the list action adds in one go. Statuses are left to the per-row button: an
# unknown status is more often a typo in the file than a new status.
BULK_KINDS = (CUSTOMER, ITEM)


def _add_permission(model) -> str:
    return f"{model._meta.app_label}.add_{model._meta.model_name}"


def _codes(row: RejectedInvoice) -> set[str]:
    return reasons_in_detail(row.reason, row.detail)


@admin.register(RejectedInvoice)
class RejectedInvoiceAdmin(
    ExportAdminMixin,
    StreamedExportMixin,
    ImportExportPermissionMixin,
    ReadOnlyAdminMixin,
    RejectedColumnsMixin,
    ExportActionModelAdmin,
):
    resource_classes = [RejectedInvoiceResource]
    formats = EXPORT_FORMATS
    list_display = (
        "id",
        "invoice_id",
        "reason",
        "detail_short",
        "customer",
        "batch_link",
        "row_number",
        "resolved",
    )
    list_display_links = ("id", "invoice_id")
    list_filter = (
        ResolvedFilter,
        ReasonFilter,
        BatchFilter,
        FileFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("invoice_id",)  # plus the customer in raw_record: see get_search_results
    search_help_text = "Invoice id, customer id or customer name."
    actions = ("add_unknowns", "reprocess_rows")
    list_per_page = 100
    ordering = ("-batch_id", "source_row")  # the latest load's rows first
    show_full_result_count = False
    change_list_template = "ingestion/admin/rejected_change_list.html"
    change_form_template = "ingestion/admin/rejected_change_form.html"
    readonly_fields = (
        "invoice_id",
        "reason",
        "detail",
        "raw_record_table",
        "batch_link",
        "file_name",
        "file_sha256",
        "source_row",
        "created_at",
        "resolved_at",
        "resolved_by_link",
    )
    fields = readonly_fields

    class Media:
        css = {"all": ["ingestion/admin.css"]}

    def has_reprocess_permission(self, request):
        return request.user.has_perm("warehouse.change_rejectedinvoice")

    def has_add_unknowns_permission(self, request):
        return bool(self._addable_kinds(request, BULK_KINDS))

    @staticmethod
    def _addable_kinds(request, kinds) -> list[str]:
        return [kind for kind in kinds if request.user.has_perm(_add_permission(KINDS[kind][2]))]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(
            Q(invoice_id__icontains=term)
            | Q(raw_record__customer_id__icontains=term)
            | Q(raw_record__customer_name__icontains=term)
        ), False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        if request.method == "POST" and request.POST.get("action") and request.POST.get(ACTION_CHECKBOX_NAME):
            # An action over ticked rows: Django answers with the action's page or a redirect,
            # never this list, so its rows are not counted (a "select all" of 100,000 rows).
            paginator.count = 0
        return paginator

    def get_urls(self):
        view = self.admin_site.admin_view(self.reprocess_view)
        return [
            path("<int:pk>/reprocess/", view, name=admin_url_name(self.opts, "reprocess")),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            counts = (
                context["cl"]
                .queryset.order_by()
                .values("reason")
                .annotate(n=Count("id"))
                .order_by("-n", "reason")
            )
            params = request.GET.copy()
            reason_counts = []
            for row in counts:
                params["reason"] = row["reason"]
                reason_counts.append((row["reason"], row["n"], "?" + params.urlencode()))
            context["reason_counts"] = reason_counts
            context["next_steps"] = next_steps([reason for reason, _, _ in reason_counts])
        return response

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        row = self.get_object(request, unquote(object_id)) if object_id else None  # None: malformed too
        if row is not None:
            extra_context = {
                **(extra_context or {}),
                "row": row,
                "problems": detail_for_people(row.detail, row.raw_record),
                "next_steps": [] if row.resolved_at else row_next_steps(row),
                "fixes": [] if row.resolved_at else self._fixes(request, row),
                "can_reprocess": row.resolved_at is None and self.has_reprocess_permission(request),
                "reprocess_url": admin_url(self.opts, "reprocess", row.pk),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _fixes(self, request, row: RejectedInvoice) -> list[tuple[str, str]]:
        """(label, URL) of the add form of each missing customer, item or status, prefilled."""
        unknowns = unknowns_find([row], codes_of=_codes)
        back = admin_url(self.opts, "change", row.pk)
        wanted = []
        for customer_id, name in unknowns.customers.items():
            label = f"Add customer {customer_id}" + (f" ({name})" if name else "")
            wanted.append((CUSTOMER, label, {"customer_id": customer_id, "customer_name": name}))
        wanted += [(ITEM, f"Add item \u201c{d}\u201d", {"item_description": d}) for d in unknowns.items]
        wanted += [(STATUS, f"Add status {s}", {"status_name": s}) for s in unknowns.statuses]
        addable = set(self._addable_kinds(request, KINDS))
        return [
            (label, f"{admin_url(KINDS[kind][2]._meta, 'add')}?{urlencode({**initial, 'next': back})}")
            for kind, label, initial in wanted
            if kind in addable
        ]

    def reprocess_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_reprocess_permission(request):
            raise PermissionDenied
        row = get_object_or_404(RejectedInvoice, pk=pk)
        self._reprocess(request, [row.pk])
        return redirect(admin_url(self.opts, "change", row.pk))

    def _reprocess(self, request, selected: list[int] | QuerySet) -> None:
        """Queue the re-processing of rows (ids, or a query: its ids are not read here); answers
        at once, the message links each batch's progress."""
        try:
            batches = reprocess_batches_create(rejected_ids=selected, user=request.user)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        links = format_html_join(
            ", ",
            '<a href="{}">batch #{}</a>',
            ((admin_url(LoadBatch._meta, "change", b.pk), b.pk) for b in batches),
        )
        rows = sum(b.rows_total or 0 for b in batches)
        if all(b.status == LoadBatch.Status.SUCCEEDED for b in batches):  # no broker: it ran already
            loaded = sum(b.rows_loaded for b in batches)
            rejected = sum(b.rows_rejected for b in batches)
            ids = None if isinstance(selected, QuerySet) else selected  # None: the list selected from
            still = format_html(
                ': <a href="{}" id="still-rejected">list them</a>',
                still_rejected_url(ids, selection_url=request.get_full_path()),
            )
            text = "Re-processed {} rows in {}: {} loaded, {} still rejected{}."
            args: tuple[object, ...] = (number(sum(b.rows_read for b in batches)), links, number(loaded))
            args += (number(rejected), still if rejected else "")
            self.message_user(
                request, format_html(text, *args), messages.SUCCESS if loaded else messages.WARNING
            )
            return
        ended = [b for b in batches if b.status in LoadBatch.FINISHED]
        if ended:  # no broker: it ran already, and did not succeed
            said = "; ".join(f"#{b.pk} {b.status}{': ' + b.error if b.error else ''}" for b in ended)
            self.message_user(request, format_html("Re-processing in {}: {}", links, said), messages.WARNING)
            return
        self.message_user(
            request,
            format_html("Re-processing {} rows in {}: follow the progress there.", number(rows), links),
            messages.SUCCESS,
        )

    @admin.action(
        description="Re-process selected rows (validate again; load those that pass)",
        permissions=["reprocess"],
    )
    def reprocess_rows(self, request, queryset):
        # Ticked rows (a page at most) by id; "select all" as the query, its ids left unread.
        across = request.POST.get("select_across") == "1"
        self._reprocess(request, queryset if across else list(queryset.values_list("pk", flat=True)))

    @admin.action(
        description="Add the unknown customers and items of the selected rows",
        permissions=["add_unknowns"],
    )
    def add_unknowns(self, request, queryset):
        rows = queryset.unresolved().only("pk", "reason", "detail", "raw_record")
        ids = [row.pk for row in rows.iterator(chunk_size=2000)]
        kinds = self._addable_kinds(request, BULK_KINDS)
        created = unknowns_create(unknowns_find(rows.iterator(chunk_size=2000), codes_of=_codes), kinds=kinds)
        # "Select all N" re-processes the same filtered list again, not a list of ids.
        across = request.POST.get("select_across") == "1"
        context = {
            **self.admin_site.each_context(request),
            "title": "Unknown customers and items added" if created else "Nothing to add",
            "opts": self.opts,
            "customers": list(created.customers.items()),
            "items": created.items,
            "ids": ids[:1] if across else ids,  # Django needs one ticked id beside select_across
            "count": len(ids),
            "select_across": across,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "can_reprocess": self.has_reprocess_permission(request),
            "back_url": request.get_full_path(),
        }
        return TemplateResponse(request, "ingestion/admin/rejected_unknowns_added.html", context)
