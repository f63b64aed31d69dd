"""Admin for loads: batch history with live progress, upload, re-run/cancel, and the
rejected-rows workbench (filters, readable raw records, re-process, CSV/XLSX export)."""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from import_export.admin import ExportActionModelAdmin

from config.permissions import ImportExportPermissionMixin
from ingestion import views
from ingestion.dispatch import batch_cancel, batch_rerun
from ingestion.exports import LoadBatchResource, RejectedInvoiceResource
from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.rules import REASONS, reason_columns
from ingestion.reprocess import rejected_reprocess
from warehouse.admin import ReadOnlyAdminMixin
from warehouse.exports import EXPORT_FORMATS
from warehouse.locks import FactsLockTimeout
from warehouse.models import LoadBatch, RejectedInvoice

STATUS_COLOURS = {
    "queued": "#6c757d",
    "running": "#0d6efd",
    "succeeded": "#198754",
    "failed": "#dc3545",
    "skipped": "#8c6d1f",
    "cancelled": "#495057",
}
_REASON_IN_DETAIL = re.compile(r"\b(" + "|".join(REASONS) + r"):")


def status_badge(status: str):
    return format_html(
        '<span class="ingestion-status" style="background:{}">{}</span>',
        STATUS_COLOURS.get(status, "#6c757d"),
        status,
    )


def failing_fields(reason: str, detail: str) -> set[str]:
    codes = set(_REASON_IN_DETAIL.findall(detail or "")) | {reason}
    return {f for code in codes for f in reason_columns(code)}


# --- batches ---------------------------------------------------------------------------


@admin.register(LoadBatch)
class LoadBatchAdmin(ImportExportPermissionMixin, ExportActionModelAdmin):
    """Batches are written by loads only: the admin shows them, uploads, re-runs and cancels.

    Re-run creates a *new* forced batch for the same file (the old one stays as history).
    """

    resource_classes = [LoadBatchResource]
    formats = EXPORT_FORMATS
    list_display = (
        "id",
        "file_name",
        "source",
        "created_by",
        "status_display",
        "rows_read",
        "loaded_display",
        "rows_rejected",
        "rejection_rate",
        "duration",
        "started_at",
    )
    list_display_links = ("id", "file_name")
    list_filter = ("status", "source", "dry_run", "force", ("created_at", admin.DateFieldListFilter))
    search_fields = ("file_name", "=sha256", "note")
    list_select_related = ("created_by",)
    actions = ("rerun_batches", "cancel_batches")
    change_list_template = "ingestion/admin/batch_change_list.html"
    change_form_template = "ingestion/admin/batch_change_form.html"
    fieldsets = (
        (None, {"fields": ("file_name", "status_display", "progress_display", "error", "note")}),
        (
            "Rows",
            {
                "fields": (
                    *LoadBatch.COUNT_FIELDS,
                    "rejection_rate",
                    "reasons_display",
                    "rejected_link",
                )
            },
        ),
        (
            "File",
            {"fields": ("file_path", "sha256", "size_bytes", "source", "created_by", "force", "dry_run")},
        ),
        (
            "Run",
            {
                "fields": (
                    "task_id",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "duration",
                    "stage_seconds",
                    "heartbeat_at",
                    "lease_owner",
                    "attempts_display",
                )
            },
        ),
    )
    readonly_fields = tuple(f for fs in fieldsets for f in fs[1]["fields"])

    class Media:
        css = {"all": ["ingestion/admin.css"]}

    # -- permissions: view for everyone with view; upload, re-run, cancel need add ----------

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="warehouse_loadbatch_upload"),
            path("<int:pk>/progress/", wrap(self.progress_view), name="warehouse_loadbatch_progress"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="warehouse_loadbatch_cancel"),
            path("<int:pk>/rerun/", wrap(self.rerun_view), name="warehouse_loadbatch_rerun"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:warehouse_loadbatch_upload")

    def upload_view(self, request):
        return views.invoice_upload(request, model_admin=self)

    def progress_view(self, request, pk):
        return views.batch_progress(request, pk, model_admin=self)

    def _post_action(self, request, pk, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            return self._denied()
        batch = get_object_or_404(LoadBatch, pk=pk)
        try:
            result = action(batch=batch, user=request.user)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:warehouse_loadbatch_change", pk)
        return result

    @staticmethod
    def _denied():
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied

    def cancel_view(self, request, pk):
        def cancel(*, batch, user):
            batch, warning = batch_cancel(batch=batch, user=user)
            self.message_user(request, f"Batch #{batch.pk} cancelled.", messages.SUCCESS)
            if warning:
                self.message_user(request, warning, messages.WARNING)
            return redirect("admin:warehouse_loadbatch_change", batch.pk)

        return self._post_action(request, pk, cancel)

    def rerun_view(self, request, pk):
        def rerun(*, batch, user):
            new = batch_rerun(batch=batch, user=user)
            level, text = views.batch_outcome_message(new)
            self.message_user(request, f"Re-run of #{batch.pk}: {text}", level)
            return redirect("admin:warehouse_loadbatch_change", new.pk)

        return self._post_action(request, pk, rerun)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        batch = LoadBatch.objects.filter(pk=object_id).first() if object_id else None
        if batch is not None:
            can_act = self.has_add_permission(request)
            extra_context.update(
                batch=batch,
                progress=views.batch_progress_payload(batch),
                can_cancel=can_act and batch.status in (LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING),
                can_rerun=can_act and batch.status in LoadBatch.FINISHED and bool(batch.file_path),
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    # -- actions ---------------------------------------------------------------------------

    @admin.action(description="Re-run selected batches (forced, as new batches)", permissions=["add"])
    def rerun_batches(self, request, queryset):
        self._bulk(request, queryset, batch_rerun, "queued {n} re-run(s)")

    @admin.action(description="Cancel selected queued or running batches", permissions=["add"])
    def cancel_batches(self, request, queryset):
        self._bulk(request, queryset, batch_cancel, "cancelled {n} batch(es)")

    def _bulk(self, request, queryset, action, done: str) -> None:
        ok = 0
        for batch in queryset:
            try:
                action(batch=batch, user=request.user)
                ok += 1
            except ValueError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if ok:
            self.message_user(request, done.format(n=ok).capitalize() + ".", messages.SUCCESS)

    # -- columns -----------------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_display(self, obj):
        return status_badge(obj.status)

    @admin.display(description="loaded (ins / upd / same)", ordering="rows_loaded")
    def loaded_display(self, obj):
        return f"{obj.rows_loaded:,} ({obj.rows_inserted:,} / {obj.rows_updated:,} / {obj.rows_unchanged:,})"

    @admin.display(description="rejected %")
    def rejection_rate(self, obj):
        return "-" if obj.rejection_rate is None else f"{obj.rejection_rate:.1f}%"

    @admin.display(description="duration")
    def duration(self, obj):
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="progress")
    def progress_display(self, obj):
        payload = views.batch_progress_payload(obj)
        return format_html(
            '<div class="ingestion-progress" data-url="{}" data-finished="{}" data-status="{}">'
            '<div class="ingestion-progress-bar" style="width:{}%"></div></div>'
            '<span class="ingestion-progress-text">{}</span>',
            reverse("admin:warehouse_loadbatch_progress", args=[obj.pk]),
            "true" if payload["finished"] else "false",
            payload["status"],
            payload["percent"] or 0,
            payload["progress_text"],
        )

    @admin.display(description="attempts")
    def attempts_display(self, obj):
        if not obj.attempts:
            return "-"
        return format_html(
            '<ol class="ingestion-attempts">{}</ol>',
            format_html_join(
                "",
                "<li>{} · {} · {} s · {} rows{}</li>",
                (
                    (
                        a.get("started_at") or "-",
                        a.get("status"),
                        a.get("seconds") if a.get("seconds") is not None else "-",
                        f"{a.get('rows_done') or 0:,}",
                        f" · {a['error']}" if a.get("error") else "",
                    )
                    for a in obj.attempts
                ),
            ),
        )

    @admin.display(description="rejected per reason")
    def reasons_display(self, obj):
        if not obj.reason_counts:
            return "-"
        base = reverse("admin:warehouse_rejectedinvoice_changelist")
        rows = (
            (f"{base}?{urlencode({'batch__id__exact': obj.pk, 'reason': reason})}", reason, f"{count:,}")
            for reason, count in obj.reason_counts.items()
        )
        return format_html(
            '<table class="ingestion-reasons">{}</table>',
            format_html_join("", '<tr><td><a href="{}">{}</a></td><td class="num">{}</td></tr>', rows),
        )

    @admin.display(description="rejected rows")
    def rejected_link(self, obj):
        url = reverse("admin:warehouse_rejectedinvoice_changelist") + f"?batch__id__exact={obj.pk}"
        return format_html('<a href="{}">rejected rows of batch #{}</a>', url, obj.pk)


# --- rejected rows -----------------------------------------------------------------------------


class ResolvedFilter(admin.SimpleListFilter):
    title = "resolved"
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return (("no", "Unresolved"), ("yes", "Resolved"))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


class ReasonFilter(admin.SimpleListFilter):
    """Every reason the rules declare, in check order (``?reason=CODE``)."""

    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(code, code) for code in REASONS]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


class BatchFilter(admin.SimpleListFilter):
    """The 20 most recent batches that have rejected rows (any batch by URL: ?batch__id__exact=N)."""

    title = "batch"
    parameter_name = "batch__id__exact"

    def lookups(self, request, model_admin):
        ids = RejectedInvoice.objects.order_by("-batch_id").values_list("batch_id", flat=True).distinct()[:20]
        batches = LoadBatch.objects.filter(pk__in=list(ids)).order_by("-pk")
        choices = [(str(b.pk), f"#{b.pk} {b.file_name}") for b in batches]
        if self.value() and self.value() not in {c[0] for c in choices}:
            choices.append((self.value(), f"#{self.value()}"))
        return choices

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(batch_id=int(self.value()))
        return queryset


@admin.register(RejectedInvoice)
class RejectedInvoiceAdmin(ImportExportPermissionMixin, ReadOnlyAdminMixin, ExportActionModelAdmin):
    resource_classes = [RejectedInvoiceResource]
    formats = EXPORT_FORMATS
    list_display = (
        "id",
        "invoice_id",
        "reason",
        "detail_short",
        "customer",
        "batch_link",
        "file_name",
        "source_row",
        "created_at",
        "resolved",
    )
    list_display_links = ("id", "invoice_id")
    list_filter = (
        ReasonFilter,
        ResolvedFilter,
        BatchFilter,
        "file_name",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("invoice_id",)  # plus the customer in raw_record: see get_search_results
    search_help_text = "Invoice id, customer id or customer name."
    actions = ("reprocess_rows",)
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "ingestion/admin/rejected_change_list.html"
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

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(
            Q(invoice_id__icontains=term)
            | Q(raw_record__customer_id__icontains=term)
            | Q(raw_record__customer_name__icontains=term)
        ), False

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
        return response

    @admin.action(
        description="Re-process selected rows (validate again; load those that pass)",
        permissions=["reprocess"],
    )
    def reprocess_rows(self, request, queryset):
        try:
            batch = rejected_reprocess(
                rejected_ids=list(queryset.values_list("pk", flat=True)), user=request.user
            )
        except (ValueError, FactsLockTimeout) as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return None
        url = reverse("admin:warehouse_loadbatch_change", args=[batch.pk])
        self.message_user(
            request,
            format_html(
                'Re-processed {} rows in <a href="{}">batch #{}</a>: {} loaded, {} still rejected.',
                batch.rows_read,
                url,
                batch.pk,
                batch.rows_loaded,
                batch.rows_rejected,
            ),
            messages.SUCCESS if batch.rows_loaded else messages.WARNING,
        )
        return None

    @admin.display(description="detail")
    def detail_short(self, obj):
        return obj.detail if len(obj.detail) <= 90 else obj.detail[:87] + "..."

    @admin.display(description="customer")
    def customer(self, obj):
        raw = obj.raw_record or {}
        return " ".join(str(raw.get(k) or "") for k in ("customer_id", "customer_name")).strip() or "-"

    @admin.display(description="batch", ordering="batch_id")
    def batch_link(self, obj):
        url = reverse("admin:warehouse_loadbatch_change", args=[obj.batch_id])
        return format_html('<a href="{}">#{}</a>', url, obj.batch_id)

    @admin.display(description="resolved by")
    def resolved_by_link(self, obj):
        if not obj.resolved_by_batch_id:
            return "-"
        url = reverse("admin:warehouse_loadbatch_change", args=[obj.resolved_by_batch_id])
        return format_html('<a href="{}">batch #{}</a>', url, obj.resolved_by_batch_id)

    @admin.display(description="resolved", boolean=True, ordering="resolved_at")
    def resolved(self, obj):
        return obj.resolved_at is not None

    @admin.display(description="raw record")
    def raw_record_table(self, obj):
        raw = obj.raw_record or {}
        failing = failing_fields(obj.reason, obj.detail)
        keys = [*RAW_COLUMNS, *(k for k in raw if k not in RAW_COLUMNS)]
        rows = (
            (
                mark_safe(' class="ingestion-failing"') if key in failing else "",
                key,
                "" if raw.get(key) is None else str(raw.get(key)),
                "fails" if key in failing else ("extra column" if key not in RAW_COLUMNS else ""),
            )
            for key in keys
        )
        return format_html(
            '<table class="ingestion-raw"><thead><tr><th>field</th><th>value as read</th><th></th></tr>'
            "</thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr{}><th>{}</th><td><code>{}</code></td><td>{}</td></tr>", rows),
        )
