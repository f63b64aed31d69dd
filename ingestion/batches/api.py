"""Batch endpoints of the JSON API: upload, progress, re-run, cancel (rejected rows:
``ingestion.rejected.api``).

Thin: the upload goes through the admin's form and ``ingestion.batches.uploads.uploads_enqueue``,
re-run and cancel through ``ingestion.batches.dispatch``; every batch is shown by
``warehouse.selectors.batches.batch_present``.
"""

from django.core.files.uploadedfile import UploadedFile as DjangoUploadedFile
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from ninja import File, Form, Router, UploadedFile

from api.answers import json_answer
from api.auth import auth_for
from api.forms import LimitForm
from api.openapi import form_parameters
from api.permissions import UPLOAD, VIEW_BATCHES
from api.schemas import Batch, BatchList, Error
from ingestion.batches.dispatch import batch_cancel, batch_queue_failed, batch_rerun
from ingestion.batches.forms import InvoiceUploadForm
from ingestion.batches.uploads import UploadRejected, uploads_enqueue
from warehouse.models import LoadBatch
from warehouse.selectors.batches import batch_present, batches_recent

router = Router(tags=["batches"])

BATCH_NOT_FOUND = "batch not found"
ONE_FILE = "file: send one file per request"


def _batch_answer(batch: LoadBatch, status: int, **extra):
    """The batch (``batch_present``) with a Location; 503 when it could not be queued."""
    if batch_queue_failed(batch):
        status = 503
    location = reverse("api:batch_detail", args=[batch.pk])
    return json_answer({**batch_present(batch), **extra}, status=status, headers={"Location": location})


def _batch(batch_id: int) -> LoadBatch | None:
    return LoadBatch.objects.filter(pk=batch_id).first()


@router.get(
    "/batches/",
    url_name="batches",
    summary="Recent loads, newest first",
    response={200: BatchList, 400: Error, 401: Error, 403: Error},
    openapi_extra={"parameters": form_parameters(LimitForm)},
    auth=auth_for(VIEW_BATCHES),
)
def batches(request):
    form = LimitForm(request.GET)
    if not form.is_valid():
        return json_answer({"error": form.first_error()}, status=400)
    return json_answer({"results": batches_recent(limit=form.cleaned_data.get("limit") or 20)})


@router.post(
    "/batches/",
    url_name="batch_upload",
    summary="Upload a CSV/XLSX file: a batch is created and queued (202, Location of the batch)",
    description=(
        "The admin upload's checks: type by content, size limit (ADMIN_UPLOAD_MAX_BYTES), the same "
        "content (sha256) already loaded gives a skipped batch unless force. 503 with the failed "
        "batch when the broker cannot be reached."
    ),
    response={202: Batch, 400: Error, 401: Error, 403: Error, 503: Batch},
    auth=auth_for(VIEW_BATCHES, UPLOAD),
)
def batch_upload(
    request,
    file: File[list[UploadedFile]],
    force: Form[bool] = False,
    dry_run: Form[bool] = False,
):
    if len(file) != 1:
        return json_answer({"error": ONE_FILE}, status=400)
    files: list[DjangoUploadedFile] = list(file)
    form = InvoiceUploadForm({"force": force, "dry_run": dry_run}, MultiValueDict({"files": files}))
    if not form.is_valid():
        return json_answer({"error": "file: " + " ".join(map(str, form.errors.get("files", [])))}, status=400)
    try:
        [batch] = uploads_enqueue(
            files=form.cleaned_data["files"], user=request.user, force=force, dry_run=dry_run
        )
    except UploadRejected as exc:
        return json_answer({"error": f"file: {exc}"}, status=400)
    return _batch_answer(batch, 202)


@router.get(
    "/batches/{int:batch_id}/",
    url_name="batch_detail",
    summary="One load and its progress (status, stage, rows_done, rows_total, percent, finished)",
    response={200: Batch, 401: Error, 403: Error, 404: Error},
    auth=auth_for(VIEW_BATCHES),
)
def batch_detail(request, batch_id: int):
    batch = _batch(batch_id)
    if batch is None:
        return json_answer({"error": BATCH_NOT_FOUND}, status=404)
    return json_answer(batch_present(batch), headers={"Cache-Control": "no-store"})


@router.post(
    "/batches/{int:batch_id}/rerun/",
    url_name="batch_rerun",
    summary="A new forced batch for the same file (202, Location of the new batch)",
    response={202: Batch, 401: Error, 403: Error, 404: Error, 409: Error, 503: Batch},
    auth=auth_for(VIEW_BATCHES, UPLOAD),
)
def batch_rerun_view(request, batch_id: int):
    batch = _batch(batch_id)
    if batch is None:
        return json_answer({"error": BATCH_NOT_FOUND}, status=404)
    try:
        new = batch_rerun(batch=batch, user=request.user)
    except ValueError as exc:
        return json_answer({"error": str(exc)}, status=409)
    return _batch_answer(new, 202)


@router.post(
    "/batches/{int:batch_id}/cancel/",
    url_name="batch_cancel",
    summary="Cancel a queued or running batch (its load rolls back)",
    response={200: Batch, 401: Error, 403: Error, 404: Error, 409: Error},
    auth=auth_for(VIEW_BATCHES, UPLOAD),
)
def batch_cancel_view(request, batch_id: int):
    batch = _batch(batch_id)
    if batch is None:
        return json_answer({"error": BATCH_NOT_FOUND}, status=404)
    try:
        batch, warning = batch_cancel(batch=batch, user=request.user)
    except ValueError as exc:
        return json_answer({"error": str(exc)}, status=409)
    return _batch_answer(batch, 200, **({"warning": warning} if warning else {}))
