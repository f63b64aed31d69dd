"""Admin views of the ingestion app: the upload form and the batch progress JSON.

They are wired into the admin by ``ingestion.admin.LoadBatchAdmin.get_urls`` (so the
admin's login, staff check and CSRF apply) and stay thin: the work is in
``ingestion.uploads`` and ``ingestion.services``.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse

from ingestion.forms import InvoiceUploadForm
from ingestion.uploads import UploadRejected, uploads_enqueue
from warehouse.models import LoadBatch

UPLOAD_QUEUED = "{count} file(s) queued for loading: {names}"


def batch_progress_payload(batch: LoadBatch) -> dict:
    finished = batch.status in LoadBatch.FINISHED
    if batch.status == LoadBatch.Status.SUCCEEDED:
        percent = 100
    elif batch.rows_total:
        percent = min(99, int(batch.rows_done * 100 / batch.rows_total))
    else:
        percent = 0 if batch.status == LoadBatch.Status.QUEUED else None
    return {
        "id": batch.pk,
        "status": batch.status,
        "stage": batch.stage,
        "rows_done": batch.rows_done,
        "rows_total": batch.rows_total,
        "percent": percent,
        "finished": finished,
        "rows_read": batch.rows_read,
        "rows_loaded": batch.rows_loaded,
        "rows_rejected": batch.rows_rejected,
        "error": batch.error,
    }


def batch_progress(request, pk: int, *, model_admin):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    batch = get_object_or_404(LoadBatch, pk=pk)
    return JsonResponse(batch_progress_payload(batch), headers={"Cache-Control": "no-store"})


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
            )
        except UploadRejected as exc:
            form.add_error("files", str(exc))
        else:
            names = ", ".join(b.file_name for b in batches)
            messages.success(request, UPLOAD_QUEUED.format(count=len(batches), names=names))
            if len(batches) == 1:
                return redirect(reverse("admin:warehouse_loadbatch_change", args=[batches[0].pk]))
            ids = ",".join(str(b.pk) for b in batches)
            return redirect(reverse("admin:warehouse_loadbatch_changelist") + f"?id__in={ids}")
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
