"""One run of a claimed batch: skip a file already loaded, or read, clean, stage and merge
it; record the outcome.

``ingestion.batches.services.invoice_file_ingest`` is the entry point (it claims the batch); this
module is its engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from ingestion.batches import leases
from ingestion.batches.content_turn import CONTENT_WAIT_STAGE, content_turn
from ingestion.batches.memory import memory_trim
from ingestion.batches.reconnect import connection_lost, db_retry
from ingestion.batches.run_stops import (
    BATCH_CANCELLED_ERROR,
    BATCH_RETRYING,
    BATCH_SKIPPED_NOTE,
    BATCH_UNEXPECTED_ERROR,
    TRANSIENT_DB_ERRORS,
    BatchCancelled,
    BatchRetry,
    LeaseLost,
)
from ingestion.batches.tmp_dirs import batch_tmp_dir
from ingestion.batches.validation import (
    dimensions_load,
    invoices_validate,
    read_limits,
    reason_counts_ordered,
)
from ingestion.pipeline import errors, extract
from ingestion.pipeline import writer as pipeline_writer
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID
from ingestion.pipeline.invoice_id_filter import InvoiceIdFilter
from ingestion.pipeline.lanes import connection_close
from warehouse.models import LoadBatch
from warehouse.versions import data_version_bump

logger = logging.getLogger(__name__)


class BatchRun:
    """One execution of a batch: reads, cleans and stages the file, then merges it."""

    def __init__(self, batch: LoadBatch, owner: str, on_progress: Callable[[LoadBatch], None] | None):
        self.batch = batch
        self.owner = owner
        self.on_progress = on_progress
        self.stage_started = time.perf_counter()
        self.stage_seconds: dict[str, float] = {}
        self.writer: pipeline_writer.BatchWriter | None = None
        self.lost = threading.Event()

    def stage(self, name: str) -> None:
        now = time.perf_counter()
        if self.batch.stage:
            self.stage_seconds[self.batch.stage] = round(now - self.stage_started, 3)
        self.stage_started = now
        self.batch.stage = name
        self.progress_save()

    def progress_save(self) -> None:
        batch = self.batch
        if self.lost.is_set() or not leases.lease_renew(
            batch_id=batch.pk,
            owner=self.owner,
            stage=batch.stage,
            rows_done=batch.rows_done,
            rows_total=batch.rows_total,
        ):
            self.stopped()
        if self.on_progress:
            self.on_progress(batch)

    def stopped(self) -> None:
        """Raise why this run may not go on: a user's cancel, or a lost lease."""
        if LoadBatch.objects.filter(pk=self.batch.pk, status=LoadBatch.Status.CANCELLED).exists():
            raise BatchCancelled
        raise LeaseLost

    def on_lease_lost(self) -> None:  # from the heartbeat thread
        self.lost.set()
        if self.writer is not None:
            self.writer.abort()

    def writer_open(self, tmp_dir: Path, rows_of: LoadBatch, **options) -> pipeline_writer.BatchWriter:
        """The batch's writer (a lost lease aborts it), writing rows of ``rows_of``'s file."""
        self.writer = pipeline_writer.BatchWriter(
            self.batch.pk, rows_of.file_name, rows_of.sha256, tmp_dir, self.batch.dry_run, **options
        )
        return self.writer

    def load(self, fmt: extract.FileFormat, tmp_dir: Path) -> None:
        """Read, clean, stage and merge every row; commit with the batch's final counts."""
        batch = self.batch
        dims = dimensions_load()
        writer = self.writer_open(tmp_dir, batch)
        seen = InvoiceIdFilter()
        reasons: Counter = Counter()
        conventions, notes = AmountConventions(), list[str]()
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
            clock = time.perf_counter()  # the main thread's own time: reading, cleaning, waiting
            for raw in chunks:
                clock = writer.lap("py_read", since=clock)
                if raw.empty:
                    continue
                cleaned = invoices_validate(raw, dims=dims, conventions=conventions)
                valid = cleaned["reason"].isna().to_numpy()
                candidate = np.zeros(len(raw), dtype=bool)
                candidate[valid] = seen.maybe_seen(cleaned["clean_invoice_id"][valid])
                cleaned["dup_candidate"] = candidate.astype(np.int8)
                reasons.update(cleaned["reason"].dropna().tolist())
                clock = writer.lap("py_clean", since=clock)
                writer.chunk_write(pd.concat([raw, cleaned], axis=1))
                clock = writer.lap("py_wait_db", since=clock)
                batch.rows_read += len(raw)
                batch.rows_done = batch.rows_read
                batch.rows_total = extract.rows_estimate(batch.rows_read, raw, batch.size_bytes)
                self.progress_save()
                memory_trim()
            if notes:
                batch.note = "; ".join(notes)[:255]
            writer.commit(lambda: self.commit(writer, reasons), on_stage=self.stage)
        except pipeline_writer.WriteAborted:
            writer.rollback()
            self.stopped()
        except BaseException:
            writer.rollback()
            raise

    def commit(self, writer: pipeline_writer.BatchWriter, reasons: Counter) -> None:
        """Final counts on the batch row, inside the batch's transaction."""
        batch, counts = self.batch, writer.counts
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
        batch.stage = LoadBatch.Stage.DONE
        if not self.finish(LoadBatch.Status.SUCCEEDED):
            self.stopped()

    def execute(self, tmp_dir: Path) -> None:
        batch = self.batch
        self.stage(LoadBatch.Stage.LOADING)
        fmt = extract.file_format_detect(Path(batch.file_path))
        try:
            self.load(fmt, tmp_dir)
        except errors.EncodingMismatch:
            logger.info("batch %s: not UTF-8 after all, reading again as cp1252", batch.pk)
            self.load(extract.FileFormat("csv", "cp1252", fmt.delimiter), tmp_dir)

    def finish(self, status: str, *, error: str = "", note: str = "") -> bool:
        """Write the outcome, if the batch is still this run's; False if it is not.

        Anything but success leaves no counts: nothing of the file reached the warehouse.
        A user's cancel stays a cancel (with the user's message). A lost connection is
        retried on a new one (``ingestion.batches.reconnect``), except inside the load's transaction.
        """
        batch, now = self.batch, timezone.now()
        if status != LoadBatch.Status.SUCCEEDED:
            for name in LoadBatch.COUNT_FIELDS:
                setattr(batch, name, 0)
            batch.reason_counts = {}
        mine = LoadBatch.objects.filter(pk=batch.pk, lease_owner=self.owner)
        if status == LoadBatch.Status.CANCELLED:
            cancelled = mine.filter(status=LoadBatch.Status.CANCELLED).values_list("error", flat=True)
            current = db_retry(cancelled.first, what=f"batch {batch.pk}")
            error = current or error
        else:
            mine = mine.filter(status=LoadBatch.Status.RUNNING)
        batch.status, batch.error, batch.note = status, error, note or batch.note
        batch.finished_at = None if status == LoadBatch.Status.QUEUED else now
        batch.stage_seconds = self.stage_seconds
        batch.attempts = leases.attempt_record(batch, status=status, error=error, now=now)
        batch.lease_owner, batch.lease_expires_at = "", None
        fields = (
            *LoadBatch.COUNT_FIELDS,
            "reason_counts",
            "status",
            "error",
            "note",
            "finished_at",
            "stage",
            "rows_done",
            "rows_total",
            "stage_seconds",
            "attempts",
            "lease_owner",
            "lease_expires_at",
        )
        values = {name: getattr(batch, name) for name in fields}
        written = db_retry(lambda: mine.update(**values), what=f"batch {batch.pk}: writing the outcome")
        if not written:  # cancelled meanwhile, or taken over: the row is not this run's to write
            db_retry(batch.refresh_from_db, what=f"batch {batch.pk}")
            return False
        if status == LoadBatch.Status.SUCCEEDED and not batch.dry_run:
            data_version_bump()  # in the batch's transaction: cached answers end with it
        if self.on_progress:
            self.on_progress(batch)
        return True

    def skipped(self) -> bool:
        """A file already loaded (unless forced) ends skipped, naming the batch that loaded it."""
        batch = self.batch
        if batch.force or batch.dry_run:
            return False
        succeeded = LoadBatch.objects.filter(
            sha256=batch.sha256, status=LoadBatch.Status.SUCCEEDED, dry_run=False
        )
        earlier = succeeded.exclude(pk=batch.pk).order_by("-pk").first()
        if earlier is not None:
            self.finish(LoadBatch.Status.SKIPPED, note=BATCH_SKIPPED_NOTE.format(batch_id=earlier.pk))
        return earlier is not None

    def content_wait(self) -> None:
        """Another run loads the same content: show it, keep the lease (raises on a cancel)."""
        self.batch.stage = CONTENT_WAIT_STAGE
        self.progress_save()

    def run(self, *, retry_transient: bool) -> LoadBatch:
        batch = self.batch
        with batch_tmp_dir(batch_id=batch.pk, owner=self.owner) as tmp_dir:
            heartbeat = None
            if connection.vendor == "mysql":  # SQLite: one process; progress updates renew the lease
                heartbeat = leases.BatchHeartbeat(
                    batch_id=batch.pk, owner=self.owner, on_lost=self.on_lease_lost
                )
                heartbeat.start()
            try:
                self._execute_and_finish(retry_transient=retry_transient, tmp_dir=tmp_dir)
            finally:
                if heartbeat is not None:
                    heartbeat.stop()
        return batch

    def work(self, tmp_dir: Path) -> None:
        """Load the file, unless a load of the same content ran (skipped) or runs (waits)."""
        if self.batch.dry_run:  # writes nothing: no need to wait for another load of the file
            self.execute(tmp_dir)
            return
        with content_turn(batch=self.batch, owner=self.owner, wait=self.content_wait):
            if not self.skipped():
                self.execute(tmp_dir)

    def _execute_and_finish(self, *, retry_transient: bool, tmp_dir: Path) -> None:
        batch = self.batch
        try:
            self.work(tmp_dir)
        except BatchCancelled:
            batch.stage = LoadBatch.Stage.CANCELLED
            self.finish(LoadBatch.Status.CANCELLED, error=BATCH_CANCELLED_ERROR)
        except LeaseLost:
            logger.warning("batch %s: taken over by another run; this run stopped", batch.pk)
            batch.refresh_from_db()
        except errors.FileRejected as exc:
            self.finish(LoadBatch.Status.FAILED, error=str(exc))
        except (OperationalError, InterfaceError) as exc:
            connection_close()  # it may be the connection that failed: retry on a new one
            error = BATCH_UNEXPECTED_ERROR.format(error=exc)
            transient = connection_lost(exc) or (exc.args and exc.args[0] in TRANSIENT_DB_ERRORS)
            if retry_transient and transient:
                if self.finish(LoadBatch.Status.QUEUED, error=BATCH_RETRYING.format(error=exc)):
                    raise BatchRetry(error) from exc
                return
            self.finish(LoadBatch.Status.FAILED, error=error)
        except Exception as exc:
            logger.exception("batch %s failed", batch.pk)
            connection_close()
            self.finish(LoadBatch.Status.FAILED, error=BATCH_UNEXPECTED_ERROR.format(error=exc))
