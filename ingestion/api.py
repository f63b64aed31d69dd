"""Batch and rejected-row endpoints of the JSON API: upload, progress, re-run, cancel,
rejected rows by cursor, re-processing, and the streamed CSV of rejected rows.

Thin: the upload goes through the admin's form and ``ingestion.uploads.uploads_enqueue``,
re-run and cancel through ``ingestion.dispatch``, re-processing through
``ingestion.reprocess``; every batch is shown by ``warehouse.selectors.batch_present``.
"""

from enum import StrEnum

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile

from config.api_auth import auth_for
from config.api_schemas import Batch, BatchList, Error, RejectedPage
from config.permissions import REPROCESS, UPLOAD, VIEW_BATCHES, VIEW_REJECTED
from dashboard.api import json_answer
from dashboard.forms import LimitForm
from dashboard.openapi import form_parameters
from ingestion.dispatch import batch_cancel, batch_queue_failed, batch_rerun
from ingestion.forms import InvoiceUploadForm
from ingestion.pipeline.clean import REASONS
from ingestion.reprocess import rejected_reprocess
from ingestion.streams import rejected_csv_response
from ingestion.uploads import UploadRejected, uploads_enqueue
from warehouse.locks import FactsLockTimeout
from warehouse.models import LoadBatch
from warehouse.rejected import cursor_decode, rejected_filter, rejected_page
from warehouse.selectors import batch_present, batches_recent

router = Router(tags=["batches"])

BATCH_NOT_FOUND = "batch not found"
ONE_FILE = "file: send one file per request"
REPROCESS_WHICH = "send either ids or a filter (batch, reason), not both"
REPROCESS_TOO_MANY = "{rows:,} rows match: re-process at most {limit:,} per request (narrow the filter)"

Reason = StrEnum("Reason", {r: r for r in REASONS})


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
    form = InvoiceUploadForm({"force": force, "dry_run": dry_run}, MultiValueDict({"files": file}))
    if not form.is_valid():
        return json_answer({"error": "file: " + " ".join(form.errors.get("files", []))}, status=400)
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


class RejectedQuery(Schema):
    reason: Reason | None = None
    resolved: bool | None = None
    cursor: str | None = Field(None, description="`next` of the previous page")
    limit: int = Field(100, ge=1, le=1000)


@router.get(
    "/batches/{int:batch_id}/rejected/",
    url_name="batch_rejected",
    summary="A batch's rejected rows in id order, a page at a time (follow `next`)",
    response={200: RejectedPage, 400: Error, 401: Error, 403: Error, 404: Error},
    auth=auth_for(VIEW_REJECTED),
)
def batch_rejected(request, batch_id: int, query: Query[RejectedQuery]):
    if not LoadBatch.objects.filter(pk=batch_id).exists():
        return json_answer({"error": BATCH_NOT_FOUND}, status=404)
    try:
        after = None if query.cursor is None else cursor_decode(query.cursor)
    except ValueError as exc:
        return json_answer({"error": f"cursor: {exc}"}, status=400)
    queryset = rejected_filter(
        batch_id=batch_id, reason=query.reason and query.reason.value, resolved=query.resolved
    )
    rows, cursor = rejected_page(queryset=queryset, after=after, limit=query.limit)
    next_url = None
    if cursor:
        params = request.GET.copy()
        params["cursor"] = cursor
        next_url = f"{request.path}?{params.urlencode()}"
    return json_answer({"results": rows, "next": next_url})


class RejectedFilter(Schema):
    batch: int | None = Field(None, ge=1)
    reason: Reason | None = None
    resolved: bool | None = None


@router.get(
    "/rejected.csv",
    url_name="rejected_csv",
    summary="Rejected rows as CSV, streamed (any number of rows; formula-safe cells)",
    response={200: str, 400: Error, 401: Error, 403: Error},
    openapi_extra={
        "responses": {
            200: {"description": "CSV, streamed", "content": {"text/csv": {"schema": {"type": "string"}}}}
        }
    },
    auth=auth_for(VIEW_REJECTED),
)
def rejected_csv(request, query: Query[RejectedFilter]):
    queryset = rejected_filter(
        batch_id=query.batch, reason=query.reason and query.reason.value, resolved=query.resolved
    )
    return rejected_csv_response(queryset=queryset, filename=f"rejected-{timezone.now():%Y-%m-%d}.csv")


class ReprocessIn(Schema):
    ids: list[int] | None = Field(None, description="Rejected row ids; or give a filter instead")
    batch: int | None = Field(None, ge=1)
    reason: Reason | None = None


@router.post(
    "/rejected/reprocess/",
    url_name="rejected_reprocess",
    summary="Validate unresolved rejected rows again (ids or a filter); load those that pass",
    description="Answers the batch that records it. 409 when a running load holds the warehouse too long.",
    response={200: Batch, 400: Error, 401: Error, 403: Error, 409: Error},
    auth=auth_for(VIEW_REJECTED, REPROCESS),
)
def rejected_reprocess_view(request, payload: ReprocessIn):
    by_filter = payload.batch is not None or payload.reason is not None
    if (payload.ids is None) == (not by_filter):
        return json_answer({"error": f"ids: {REPROCESS_WHICH}"}, status=400)
    if by_filter:
        queryset = rejected_filter(
            batch_id=payload.batch, reason=payload.reason and payload.reason.value, resolved=False
        )
        parameter, rows = ("batch" if payload.batch is not None else "reason"), queryset.count()
    else:
        parameter, rows = "ids", len(set(payload.ids))
    limit = settings.API_REPROCESS_MAX_ROWS
    if rows > limit:
        return json_answer(
            {"error": f"{parameter}: " + REPROCESS_TOO_MANY.format(rows=rows, limit=limit)}, 400
        )
    ids = payload.ids if not by_filter else list(queryset.values_list("pk", flat=True))
    try:
        batch = rejected_reprocess(rejected_ids=ids, user=request.user)
    except ValueError as exc:
        return json_answer({"error": f"{parameter}: {exc}"}, status=400)
    except FactsLockTimeout as exc:
        return json_answer({"error": str(exc)}, status=409)
    return _batch_answer(batch, 200)
