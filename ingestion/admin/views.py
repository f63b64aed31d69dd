"""Admin views of the ingestion app: the upload form and the batch progress JSON.

They are wired into the admin by ``ingestion.admin.batches.LoadBatchAdmin.get_urls`` (so the
admin's login, staff check and CSRF apply) and stay thin: the upload's work is in
``ingestion.batches.uploads``, the progress JSON is ``warehouse.selectors.batches.batch_present``.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse

from ingestion.admin.display import admin_url
from ingestion.batches.forms import InvoiceUploadForm
from ingestion.batches.preview_loads import preview_load
from ingestion.batches.uploads import UploadRejected, uploads_enqueue
from warehouse.models import LoadBatch
from warehouse.selectors.batches import DRY_RUN_TEXT, batch_present

BATCH_QUEUED = "batch #{id} {name}: queued for loading"
BATCH_RUNNING = "batch #{id} {name}: loading"
BATCH_ENDED = "batch #{id} {name}: {status}, {read:,} read, {loaded:,} loaded, {rejected:,} rejected"
BATCH_DRY_RUN_ENDED = (
    "batch #{id} {name}: {dry_run}: {status}, {read:,} read, {loaded:,} would load,"
    " {rejected:,} would be rejected"
)
BATCH_NOT_LOADED = "batch #{id} {name}: {status}: {reason}"
PREVIEW_QUEUED = (
    "batch #{id} {name}: previewed first, as a dry run (the warehouse holds invoices it could change):"
    " it loads by itself if it changes none, and otherwise waits for you to confirm"
)
PREVIEW_WAITING = (
    "batch #{id} {name}: {dry_run}: it would update {updated:,} existing invoices."
    " Check the changes below, then load the file"
)


def batch_outcome_message(batch: LoadBatch) -> tuple[int, str]:
    """(message level, what happened to the batch), for the messages after an action."""
    values = {"id": batch.pk, "name": batch.file_name, "status": batch.status}
    if batch.status == LoadBatch.Status.QUEUED:
        return messages.SUCCESS, BATCH_QUEUED.format(**values)
    if batch.status == LoadBatch.Status.RUNNING:
        return messages.SUCCESS, BATCH_RUNNING.format(**values)
    if batch.status == LoadBatch.Status.SUCCEEDED:
        counts = {"read": batch.rows_read, "loaded": batch.rows_loaded, "rejected": batch.rows_rejected}
        if batch.dry_run:
            return messages.SUCCESS, BATCH_DRY_RUN_ENDED.format(**values, **counts, dry_run=DRY_RUN_TEXT)
        return messages.SUCCESS, BATCH_ENDED.format(**values, **counts)
    level = messages.WARNING if batch.status == LoadBatch.Status.SKIPPED else messages.ERROR
    return level, BATCH_NOT_LOADED.format(**values, reason=batch.error or batch.note)


def upload_outcome(batch: LoadBatch, *, asked_dry_run: bool) -> tuple[LoadBatch, int, str]:
    """(the batch to show, message level, what happened) after an upload: a preview that
    loaded by itself shows its load; one waiting for confirmation says so."""
    if not batch.dry_run or asked_dry_run or batch.status == LoadBatch.Status.FAILED:
        return (batch, *batch_outcome_message(batch))
    if (load := preview_load(batch)) is not None:
        return (load, *batch_outcome_message(load))
    values = {"id": batch.pk, "name": batch.file_name}
    if batch.status == LoadBatch.Status.SUCCEEDED:
        text = PREVIEW_WAITING.format(**values, dry_run=DRY_RUN_TEXT, updated=batch.rows_updated)
        return batch, messages.WARNING, text
    return batch, messages.SUCCESS, PREVIEW_QUEUED.format(**values)


def batch_progress(request, pk: int, *, model_admin):
    """The progress JSON: the batch as every other view presents it (``batch_present``)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    batch = get_object_or_404(LoadBatch, pk=pk)
    return JsonResponse(batch_present(batch), headers={"Cache-Control": "no-store"})


def invoice_upload(request, *, model_admin):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = InvoiceUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batches = uploads_enqueue(
                files=form.cleaned_data["files"],
                user=request.user,
                force=form.cleaned_data["force"],
                dry_run=form.cleaned_data["dry_run"],
                sheet=form.cleaned_data["sheet"],
                preview=True,
            )
        except UploadRejected as exc:
            form.add_error("files", str(exc))
        else:
            shown = []
            for batch in batches:
                batch, level, text = upload_outcome(batch, asked_dry_run=form.cleaned_data["dry_run"])
                messages.add_message(request, level, text)
                shown.append(batch)
            batches = shown
            opts = model_admin.opts
            if len(batches) == 1:
                return redirect(admin_url(opts, "change", batches[0].pk))
            ids = ",".join(str(b.pk) for b in batches)
            return redirect(admin_url(opts, "changelist") + f"?id__in={ids}")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Upload invoices",
        "form": form,
        "opts": model_admin.model._meta,
        "max_size": filesizeformat(settings.ADMIN_UPLOAD_MAX_BYTES),
        "max_files": settings.ADMIN_UPLOAD_MAX_FILES,
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    }
    return TemplateResponse(request, "ingestion/admin/upload.html", context)
