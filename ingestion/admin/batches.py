"""The batch history: list, outcome-first batch page with live progress, upload, re-run, cancel."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils.html import format_html, format_html_join
from import_export.admin import ExportActionModelAdmin

from ingestion.admin import views
from ingestion.admin.display import admin_url, admin_url_name, moment, number, seconds_text, status_badge
from ingestion.admin.exports import LoadBatchResource
from ingestion.admin.summary import batch_preview_context, batch_summary
from ingestion.batches.dispatch import batch_cancel, batch_rerun
from ingestion.batches.preview_loads import preview_confirm
from warehouse.admin_permissions import ImportExportPermissionMixin, permission_before_body
from warehouse.exports import EXPORT_FORMATS, ExportAdminMixin
from warehouse.models import LoadBatch


@admin.register(LoadBatch)
class LoadBatchAdmin(ExportAdminMixin, ImportExportPermissionMixin, ExportActionModelAdmin):
    """Batches are written by loads only: the admin shows them, uploads, re-runs and cancels.

    Re-run creates a *new* forced batch for the same file (the old one stays as history).
    """

    resource_classes = [LoadBatchResource]
    add_label = "Upload a file"  # the index's add link (config.admin_site); the list's says the same
    formats = EXPORT_FORMATS
    list_display = (
        "id",
        "file_name",
        "status_display",
        "read_display",
        "loaded_display",
        "rejected_display",
        "rejection_rate",
        "duration",
        "when",
    )
    list_display_links = ("id", "file_name")
    list_filter = ("status", "source", "dry_run", "force", ("created_at", admin.DateFieldListFilter))
    search_fields = ("file_name", "=sha256", "note")
    list_select_related = ("created_by",)
    actions = ("rerun_batches", "cancel_batches")
    change_list_template = "ingestion/admin/batch_change_list.html"
    change_form_template = "ingestion/admin/batch_change_form.html"
    fieldsets = (
        (None, {"fields": ("file_name", "status_display", "error", "note")}),
        (
            "File",
            {"fields": ("file_path", "sha256", "size_display", "source", "created_by", "force", "dry_run")},
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
    readonly_fields = flatten_fieldsets(fieldsets)

    class Media:
        css = {"all": ["ingestion/admin.css"]}

    # -- permissions: view for everyone with view; upload, re-run, cancel need add ----------

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = admin_url_name
        return [
            path("upload/", wrap(self._upload_guarded()), name=name(self.opts, "upload")),
            path("<int:pk>/progress/", wrap(self.progress_view), name=name(self.opts, "progress")),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name=name(self.opts, "cancel")),
            path("<int:pk>/rerun/", wrap(self.rerun_view), name=name(self.opts, "rerun")),
            path("<int:pk>/load/", wrap(self.load_view), name=name(self.opts, "load")),
            *super().get_urls(),
        ]

    def _upload_guarded(self):
        """The upload page, refusing a user who may not upload before reading the files."""
        return permission_before_body(self.has_add_permission)(self.upload_view)

    def add_view(self, request, form_url="", extra_context=None):
        return redirect(admin_url(self.opts, "upload"))

    def upload_view(self, request):
        return views.invoice_upload(request, model_admin=self)

    def progress_view(self, request, pk):
        return views.batch_progress(request, pk, model_admin=self)

    def _post_action(self, request, pk, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(LoadBatch, pk=pk)
        try:
            result = action(batch=batch, user=request.user)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(admin_url(self.opts, "change", pk))
        return result

    def cancel_view(self, request, pk):
        def cancel(*, batch, user):
            batch, warning = batch_cancel(batch=batch, user=user)
            self.message_user(request, f"Batch #{batch.pk} cancelled.", messages.SUCCESS)
            if warning:
                self.message_user(request, warning, messages.WARNING)
            return redirect(admin_url(self.opts, "change", batch.pk))

        return self._post_action(request, pk, cancel)

    def rerun_view(self, request, pk):
        def rerun(*, batch, user):
            new = batch_rerun(batch=batch, user=user)
            level, text = views.batch_outcome_message(new)
            self.message_user(request, f"Re-run of #{batch.pk}: {text}", level)
            return redirect(admin_url(self.opts, "change", new.pk))

        return self._post_action(request, pk, rerun)

    def load_view(self, request, pk):
        """Confirm a dry run (a preview): load its stored file as a new batch."""

        def load(*, batch, user):
            new = preview_confirm(preview=batch, user=user)
            level, text = views.batch_outcome_message(new)
            self.message_user(request, f"Load of dry run #{batch.pk}: {text}", level)
            return redirect(admin_url(self.opts, "change", new.pk))

        return self._post_action(request, pk, load)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        batch = self.get_object(request, unquote(object_id)) if object_id else None  # None: malformed too
        if batch is not None:
            can_act = self.has_add_permission(request)
            extra_context.update(
                batch=batch,
                summary=batch_summary(batch),
                can_cancel=can_act and batch.status in (LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING),
                can_rerun=can_act and batch.status in LoadBatch.FINISHED and bool(batch.file_path),
                **batch_preview_context(batch, can_act=can_act),
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
        return status_badge(obj.status, dry_run=obj.dry_run)

    @admin.display(description="read", ordering="rows_read")
    def read_display(self, obj):
        return number(obj.rows_read)

    @admin.display(description="loaded", ordering="rows_loaded")
    def loaded_display(self, obj):
        return format_html(
            '<span title="{} new / {} updated / {} unchanged">{}</span>',
            number(obj.rows_inserted),
            number(obj.rows_updated),
            number(obj.rows_unchanged),
            number(obj.rows_loaded),
        )

    @admin.display(description="rejected", ordering="rows_rejected")
    def rejected_display(self, obj):
        return number(obj.rows_rejected)

    @admin.display(description="rejected %")
    def rejection_rate(self, obj):
        return "-" if obj.rejection_rate is None else f"{obj.rejection_rate:.1f}%"

    @admin.display(description="duration")
    def duration(self, obj):
        return seconds_text(obj.duration_seconds)

    @admin.display(description="size")
    def size_display(self, obj):
        return f"{filesizeformat(obj.size_bytes)} ({number(obj.size_bytes)} bytes)"

    @admin.display(description="when", ordering="created_at")
    def when(self, obj):
        when = obj.started_at or obj.created_at
        return format_html('<span title="{}">{}</span>', when.isoformat(), moment(when))

    @admin.display(description="attempts")
    def attempts_display(self, obj):
        if not obj.attempts:
            return "-"
        return format_html(
            '<ol class="ingestion-attempts">{}</ol>',
            format_html_join(
                "",
                "<li>{} · {} · {} · {} rows{}</li>",
                (
                    (
                        moment(a.get("started_at")),
                        a.get("status"),
                        seconds_text(a.get("seconds")),
                        number(a.get("rows_done") or 0),
                        f" · {a['error']}" if a.get("error") else "",
                    )
                    for a in obj.attempts
                ),
            ),
        )
