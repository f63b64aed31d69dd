"""Rejected-row endpoints of the JSON API: a batch's rows by cursor, re-processing (ids or a
filter, queued through ``ingestion.rejected.reprocess``) and the streamed CSV
(``ingestion.rejected.streams``)."""

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from api.answers import json_answer
from api.auth import auth_for
from api.permissions import REPROCESS, VIEW_REJECTED
from api.schemas import Error, RejectedPage, ReprocessQueued
from ingestion.batches.api import BATCH_NOT_FOUND
from ingestion.batches.dispatch import batch_queue_failed
from ingestion.pipeline.rules import Reason
from ingestion.rejected.reprocess import reprocess_batches_create
from ingestion.rejected.streams import rejected_csv_response
from warehouse.models import LoadBatch
from warehouse.rejected import rejected_cursor_decode, rejected_filter, rejected_page
from warehouse.selectors.batches import batch_present

router = Router(tags=["rejected rows"])

REPROCESS_WHICH = "send either ids or a filter (batch, reason), not both"
REPROCESS_TOO_MANY = "{rows:,} rows match: re-process at most {limit:,} per request (narrow the filter)"


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
        after = None if query.cursor is None else rejected_cursor_decode(query.cursor)
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
    dry_run: bool = Field(False, description="Validate and count; write nothing")


@router.post(
    "/rejected/reprocess/",
    url_name="rejected_reprocess",
    summary="Queue the re-processing of unresolved rejected rows (ids or a filter): 202",
    description=(
        "Answers at once (202) with the batches that will do it, one per load the rows come from,"
        " and their URLs (Location: the first); follow them like a load's. 503 with the batches"
        " when the broker cannot be reached."
    ),
    response={202: ReprocessQueued, 400: Error, 401: Error, 403: Error, 503: ReprocessQueued},
    auth=auth_for(VIEW_REJECTED, REPROCESS),
)
def rejected_reprocess_view(request, payload: ReprocessIn):
    by_filter = payload.batch is not None or payload.reason is not None
    if (payload.ids is None) == (not by_filter):
        return json_answer({"error": f"ids: {REPROCESS_WHICH}"}, status=400)
    selected: QuerySet | list[int]
    if payload.ids is None:  # by filter
        selected = queryset = rejected_filter(
            batch_id=payload.batch, reason=payload.reason and payload.reason.value, resolved=False
        )
        parameter, rows = ("batch" if payload.batch is not None else "reason"), queryset.count()
    else:
        selected, parameter, rows = payload.ids, "ids", len(set(payload.ids))
    limit = settings.API_REPROCESS_MAX_ROWS
    if rows > limit:
        return json_answer(
            {"error": f"{parameter}: " + REPROCESS_TOO_MANY.format(rows=rows, limit=limit)}, 400
        )
    try:
        batches = reprocess_batches_create(
            rejected_ids=selected, user=request.user, dry_run=payload.dry_run, source=LoadBatch.Source.API
        )
    except ValueError as exc:
        return json_answer({"error": f"{parameter}: {exc}"}, status=400)
    urls = [reverse("api:batch_detail", args=[batch.pk]) for batch in batches]
    status = 503 if any(batch_queue_failed(batch) for batch in batches) else 202
    answer = {"batches": [batch_present(batch) for batch in batches], "urls": urls}
    return json_answer(answer, status=status, headers={"Location": urls[0]})
