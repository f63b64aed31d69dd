"""Loads as the API, the admin, the dashboard and ``load_invoices`` show them.

``batch_present`` is the one presentation of a batch: every other view of a batch (the
``--json`` line, the progress JSON, the batch page's outcome box and its progress bar)
derives from it.
"""

from __future__ import annotations

from warehouse.models import LoadBatch
from warehouse.selectors.sales import money

# What every view of a dry run says about it.
DRY_RUN_TEXT = "Dry run \u2014 nothing was written"


def stage_text(stage: str) -> str:
    """A stage as progress says it: its label (``updating the dashboard totals``)."""
    return LoadBatch.Stage(stage).label if stage in LoadBatch.Stage.values else stage


def progress_text(batch: dict) -> str:
    """``42% · 84,000 / 200,000 rows · running (loading) · last seen 3 s ago``, the bar's
    percentage first; a dry run ends with ``DRY_RUN_TEXT``."""
    parts = [f"{batch['percent']}%"] if batch["percent"] is not None else []
    total = f" / {batch['rows_total']:,}" if batch["rows_total"] else ""
    parts.append(f"{batch['rows_done']:,}{total} rows")
    stage = batch["stage"] if batch["stage"] not in ("", batch["status"], LoadBatch.Stage.DONE) else ""
    parts.append(f"{batch['status']} ({stage_text(stage)})" if stage else batch["status"])
    if batch["last_seen_seconds"] is not None:
        parts.append(f"last seen {batch['last_seen_seconds']} s ago")
    if batch["dry_run"]:
        parts.append(DRY_RUN_TEXT)
    return " \u00b7 ".join(parts)


def batch_present(batch: LoadBatch) -> dict:
    """A batch as the API, the admin's progress JSON, the dashboard and ``load_invoices`` show it."""
    rate = batch.rejection_rate
    last_seen = batch.last_seen_seconds()
    presented = {
        "id": batch.pk,
        "file_name": batch.file_name,
        "source": batch.source,
        "status": batch.status,
        "dry_run": batch.dry_run,
        "rows_read": batch.rows_read,
        "rows_loaded": batch.rows_loaded,
        "rows_inserted": batch.rows_inserted,
        "rows_updated": batch.rows_updated,
        "rows_unchanged": batch.rows_unchanged,
        "rows_rejected": batch.rows_rejected,
        "rejection_rate": None if rate is None else money(rate),
        "reason_counts": dict(batch.reason_counts or {}),
        "stage": batch.stage,
        "rows_done": batch.rows_done,
        "rows_total": batch.rows_total,
        "percent": batch.percent_done,
        "finished": batch.status in LoadBatch.FINISHED,
        "heartbeat_at": batch.heartbeat_at,
        "last_seen_seconds": None if last_seen is None else round(last_seen),
        "attempts": list(batch.attempts or []),
        "error": batch.error,
        "note": batch.note,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
    }
    presented["progress_text"] = progress_text(presented)
    return presented


_BATCH_FIELDS = (
    "id",
    "file_name",
    "source",
    "status",
    "dry_run",
    *LoadBatch.COUNT_FIELDS,
    "reason_counts",
    "stage",
    "rows_done",
    "rows_total",
    "heartbeat_at",
    "attempts",
    "error",
    "note",
    "created_at",
    "started_at",
    "finished_at",
)


# What only ``warehouse.view_loadbatch`` shows of a batch: which file, what went wrong, which
# workers (host:pid) ran it. Sales readers see its id, status and counts.
BATCH_DETAILS = ("file_name", "note", "error", "attempts")


def batch_details_removed(batch: dict | None) -> dict | None:
    """A presented batch (and its ``previous``) without ``BATCH_DETAILS``."""
    if batch is None:
        return None
    kept = {k: v for k, v in batch.items() if k not in BATCH_DETAILS}
    if "previous" in kept:
        kept["previous"] = batch_details_removed(kept["previous"])
    return kept


def batches_recent(*, limit: int = 20) -> list[dict]:
    return [batch_present(b) for b in LoadBatch.objects.only(*_BATCH_FIELDS).order_by("-id")[:limit]]


def batch_get(*, batch_id: int) -> dict | None:
    batch = LoadBatch.objects.only(*_BATCH_FIELDS).filter(pk=batch_id).first()
    return None if batch is None else batch_present(batch)


def _file_loads():
    """Successful loads of a file (a re-processing batch has no file: its sha256 is empty)."""
    return (
        LoadBatch.objects.filter(status=LoadBatch.Status.SUCCEEDED, dry_run=False)
        .exclude(sha256="")
        .only(*_BATCH_FIELDS)
    )


def batch_latest_loaded() -> dict | None:
    """The latest successful file load (its rejection rate is a KPI), with ``previous``:
    the file load before it (or None)."""
    latest = [batch_present(b) for b in _file_loads().order_by("-id")[:2]]
    if not latest:
        return None
    return {**latest[0], "previous": latest[1] if len(latest) > 1 else None}


def rejections_by_batch(*, limit: int = 10) -> list[dict]:
    """Rejected rows per reason for the recent successful file loads, oldest first."""
    batches = list(_file_loads().order_by("-id")[:limit])
    return [batch_present(b) for b in reversed(batches)]
