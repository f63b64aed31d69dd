"""Loading an invoice file: the one entry point shared by the command, the admin and the task."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from ingestion.pipeline import errors, extract, formats, load, sql
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID, dimensions_from_rows, invoices_clean
from ingestion.pipeline.seen import InvoiceIdFilter
from warehouse.models import Customer, Item, LoadBatch, Status

logger = logging.getLogger(__name__)

# Errors worth retrying the whole batch for: deadlock, lock wait timeout, lost connection.
TRANSIENT_DB_ERRORS = {1205, 1213, 2006, 2013}
BATCH_SKIPPED_NOTE = "identical to batch #{batch_id}, already loaded (use force to load again)"
BATCH_CANCELLED_ERROR = "cancelled while running"
BATCH_UNEXPECTED_ERROR = "unexpected error while loading: {error}"
ESTIMATE_BYTES = 64 * 1024 * 1024  # progress: lines counted up to here, then extrapolated


class BatchCancelled(Exception):
    pass


def _libc_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


# pandas frees each chunk's memory, but glibc keeps it in its arenas (one per thread);
# handing it back after every chunk keeps the footprint flat on very long files.
_malloc_trim = _libc_malloc_trim()


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def batch_create(
    *,
    path: Path,
    source: str = LoadBatch.Source.CLI,
    created_by=None,
    force: bool = False,
    dry_run: bool = False,
    file_name: str | None = None,
    sheet: str = "",
) -> LoadBatch:
    """Record a file to load (queued). The file must stay where every worker can read it."""
    path = Path(path)
    sha256, size = file_sha256(path)
    return LoadBatch.objects.create(
        file_name=file_name or path.name,
        file_path=str(path.resolve()),
        sha256=sha256,
        size_bytes=size,
        source=source,
        created_by=created_by,
        force=force,
        dry_run=dry_run,
        sheet=sheet,
    )


def staging_prune(*, ended_before) -> tuple[int, int]:
    """Delete the staging rows of batches that ended before ``ended_before``; (batches, rows)."""
    batch_ids = list(
        LoadBatch.objects.filter(status__in=LoadBatch.FINISHED, finished_at__lt=ended_before).values_list(
            "pk", flat=True
        )
    )
    rows = 0
    with connection.cursor() as cursor:
        for batch_id in batch_ids:  # one batch per statement: each is a range of the primary key
            cursor.execute(sql.STAGING_CLEAR, [batch_id])
            rows += cursor.rowcount
    return len(batch_ids), rows


def _rows_estimate(path: Path, fmt: extract.FileFormat) -> int | None:
    """Lines in the file (less the header): counted up to 64 MiB, extrapolated beyond."""
    if formats.reader_for(fmt.kind).workbook:
        return None
    size, counted, lines = path.stat().st_size, 0, 0
    with open(path, "rb") as handle:
        while counted < ESTIMATE_BYTES and (block := handle.read(1 << 22)):
            lines += block.count(b"\n")
            counted += len(block)
    if counted < size:
        lines = lines * size // max(counted, 1)
    return max(lines - 1, 0)


def dimensions_load():
    """The dimension lookups the cleaning rules check against, as they are now."""
    return dimensions_from_rows(
        customers=Customer.objects.values_list("customer_id", "customer_key"),
        items=Item.objects.values_list("item_description", "item_key"),
        statuses=Status.objects.values_list("status_name", "status_key"),
    )


def invoices_validate(
    raw: pd.DataFrame, *, dims, conventions: AmountConventions | None = None
) -> pd.DataFrame:
    """``invoices_clean`` with this installation's settings (date order, missing ids)."""
    return invoices_clean(
        raw,
        dims=dims,
        day_first=settings.INVOICE_DATE_ORDER.upper() != "MDY",
        allow_missing_invoice_id=settings.ALLOW_MISSING_INVOICE_ID,
        conventions=conventions,
    )


def read_limits() -> extract.Limits:
    """The installation's limits on what one file may hold."""
    return extract.Limits(
        field_bytes=settings.INGEST_MAX_FIELD_BYTES,
        line_bytes=settings.INGEST_MAX_LINE_BYTES,
        chunk_bytes=settings.INGEST_MAX_CHUNK_BYTES,
        part_bytes=settings.INGEST_MAX_XLSX_PART_BYTES,
        part_ratio=settings.INGEST_MAX_XLSX_RATIO,
    )


def reason_counts_ordered(reasons: Counter) -> dict[str, int]:
    """Counts per reason, the most frequent first (as batches store them)."""
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


class _Run:
    """One execution of a batch: reads, cleans and stages the file, then merges it."""

    def __init__(self, batch: LoadBatch, on_progress: Callable[[LoadBatch], None] | None):
        self.batch = batch
        self.on_progress = on_progress
        self.stage_started = time.perf_counter()
        self.stage_seconds: dict[str, float] = {}

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        if self.batch.stage:
            self.stage_seconds[self.batch.stage] = round(now - self.stage_started, 3)
        self.stage_started = now
        self.batch.stage = name
        self.progress_save()

    def progress_save(self) -> None:
        still_running = LoadBatch.objects.filter(pk=self.batch.pk, status=LoadBatch.Status.RUNNING).update(
            stage=self.batch.stage,
            rows_done=self.batch.rows_done,
            rows_total=self.batch.rows_total,
        )
        if not still_running:
            raise BatchCancelled()
        if self.on_progress:
            self.on_progress(self.batch)

    def load(self, fmt: extract.FileFormat) -> None:
        """Read, clean, stage and merge every row; commit with the batch's final counts."""
        batch = self.batch
        dims = dimensions_load()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        writer = load.BatchWriter(
            batch_id=batch.pk,
            file_name=batch.file_name,
            file_sha256=batch.sha256,
            loaded_at=now,
            created_at=now,
            dry_run=batch.dry_run,
        )
        seen = InvoiceIdFilter()
        reasons: Counter = Counter()
        conventions, notes = AmountConventions(), []
        batch.rows_read = batch.rows_done = 0
        try:
            chunks = extract.chunks_read(
                Path(batch.file_path),
                fmt,
                chunk_rows=settings.INGEST_CHUNK_ROWS,
                limits=read_limits(),
                sheet=batch.sheet or None,
                notes=notes,
            )
            for raw in chunks:
                if raw.empty:
                    continue
                cleaned = invoices_validate(raw, dims=dims, conventions=conventions)
                valid = cleaned["reason"].isna().to_numpy()
                candidate = np.zeros(len(raw), dtype=bool)
                candidate[valid] = seen.maybe_seen(cleaned["clean_invoice_id"][valid])
                cleaned["dup_candidate"] = candidate.astype(np.int8)
                reasons.update(cleaned["reason"].dropna().tolist())
                writer.chunk_write(pd.concat([raw, cleaned], axis=1))
                batch.rows_read += len(raw)
                batch.rows_done = batch.rows_read
                batch.rows_total = max(batch.rows_total or 0, batch.rows_done)
                self.progress_save()
                if _malloc_trim is not None:
                    _malloc_trim(0)
            if notes:
                batch.note = "; ".join(notes)[:255]
            self.stage("finishing")
            writer.commit(lambda: self.commit(writer, reasons))
        except BaseException:
            writer.rollback()
            raise

    def commit(self, writer: load.BatchWriter, reasons: Counter) -> None:
        """Final counts on the batch row, inside the batch's transaction."""
        batch, counts = self.batch, writer.counts
        if LoadBatch.objects.select_for_update().get(pk=batch.pk).status != LoadBatch.Status.RUNNING:
            raise BatchCancelled()
        if counts.duplicates:
            reasons[DUPLICATE_INVOICE_ID] += counts.duplicates
        batch.rows_rejected = sum(reasons.values())
        batch.rows_loaded = batch.rows_read - batch.rows_rejected
        batch.rows_inserted, batch.rows_updated = counts.inserted, counts.updated
        batch.rows_unchanged = counts.unchanged
        batch.reason_counts = reason_counts_ordered(reasons)
        batch.rows_total = batch.rows_read
        self.stage_seconds[batch.stage] = round(time.perf_counter() - self.stage_started, 3)
        self.stage_seconds.update(writer.timings)
        batch.stage = "done"
        self.finish(LoadBatch.Status.SUCCEEDED)

    def execute(self) -> None:
        batch = self.batch
        self.stage("loading")
        fmt = extract.file_format_detect(Path(batch.file_path))
        batch.rows_total = _rows_estimate(Path(batch.file_path), fmt)
        try:
            self.load(fmt)
        except errors.EncodingMismatch:
            logger.info("batch %s: not UTF-8 after all, reading again as cp1252", batch.pk)
            self.load(extract.FileFormat("csv", "cp1252", fmt.delimiter))

    def finish(self, status: str, *, error: str = "", note: str = "") -> None:
        batch = self.batch
        batch.status, batch.error, batch.note = status, error, note or batch.note
        if status != LoadBatch.Status.SUCCEEDED:  # nothing of the file reached the warehouse
            batch.rows_loaded = batch.rows_inserted = batch.rows_updated = 0
            batch.rows_unchanged = batch.rows_rejected = 0
            batch.reason_counts = {}
        batch.finished_at = timezone.now()
        batch.stage_seconds = self.stage_seconds
        batch.save()
        if self.on_progress:
            self.on_progress(batch)


def invoice_file_ingest(
    *, batch_id: int, on_progress: Callable[[LoadBatch], None] | None = None
) -> LoadBatch:
    """Load one batch's file into the warehouse; the batch row records the outcome.

    File-level faults and unexpected errors end as a failed batch with a message,
    never as partial facts. Transient database errors are re-raised after the
    batch is marked failed, so the caller (the Celery task) can retry the batch.
    """
    batch = LoadBatch.objects.get(pk=batch_id)
    if batch.status in (LoadBatch.Status.SUCCEEDED, LoadBatch.Status.SKIPPED, LoadBatch.Status.CANCELLED):
        return batch  # a redelivered message for a batch that already ended
    run = _Run(batch, on_progress)
    if not batch.force and not batch.dry_run:
        earlier = (
            LoadBatch.objects.filter(sha256=batch.sha256, status=LoadBatch.Status.SUCCEEDED, dry_run=False)
            .exclude(pk=batch.pk)
            .order_by("-pk")
            .first()
        )
        if earlier is not None:
            batch.started_at = timezone.now()
            run.finish(LoadBatch.Status.SKIPPED, note=BATCH_SKIPPED_NOTE.format(batch_id=earlier.pk))
            return batch

    batch.status, batch.started_at, batch.finished_at = LoadBatch.Status.RUNNING, timezone.now(), None
    batch.error, batch.stage = "", ""
    batch.save(update_fields=["status", "started_at", "finished_at", "error", "stage"])
    try:
        run.execute()
    except BatchCancelled:
        batch.refresh_from_db(fields=["status", "error"])
        batch.stage = "cancelled"
        run.finish(LoadBatch.Status.CANCELLED, error=batch.error or BATCH_CANCELLED_ERROR)
    except errors.FileRejected as exc:
        run.finish(LoadBatch.Status.FAILED, error=str(exc))
    except OperationalError as exc:
        run.finish(LoadBatch.Status.FAILED, error=BATCH_UNEXPECTED_ERROR.format(error=exc))
        if exc.args and exc.args[0] in TRANSIENT_DB_ERRORS:
            raise
    except Exception as exc:
        logger.exception("batch %s failed", batch.pk)
        run.finish(LoadBatch.Status.FAILED, error=BATCH_UNEXPECTED_ERROR.format(error=exc))
    logger.info(
        "batch %s %s: read=%s loaded=%s rejected=%s",
        batch.pk,
        batch.status,
        batch.rows_read,
        batch.rows_loaded,
        batch.rows_rejected,
    )
    return batch
