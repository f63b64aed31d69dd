"""One run of a claimed batch: skip a file already loaded, or read, clean, stage and merge
it; record the outcome.

The file is opened once and read once (``FileSource``): its sha256 is taken from the bytes
the parse reads. A batch that knows its sha256 before (the folder scan, an upload) is
checked first, as is a file whose size some earlier load had (hashed first: a probable
repeat is skipped without parsing it). Every load is checked again, with the sha256 of what
it read, in its transaction under the warehouse's write lock: a content loaded meanwhile
(two loads of one file at once) rolls the load back and ends it skipped.

``ingestion.batches.services.invoice_file_ingest`` is the entry point (it claims the batch); this
module is its engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from ingestion.batches import leases
from ingestion.batches.content_turn import CONTENT_WAIT_STAGE, content_loaded, content_turn, size_loaded
from ingestion.batches.memory import memory_trim
from ingestion.batches.reconnect import transient
from ingestion.batches.run_outcome import BatchOutcome
from ingestion.batches.run_stops import (
    BATCH_CANCELLED_ERROR,
    BATCH_RETRYING,
    BATCH_SKIPPED_NOTE,
    BATCH_UNEXPECTED_ERROR,
    AlreadyLoaded,
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
from ingestion.pipeline.merge import FILE_SHA256_PENDING
from ingestion.pipeline.readers.source import file_sha256
from ingestion.pipeline.timings import Timings
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)


class BatchRun(BatchOutcome):
    """One execution of a batch: reads, cleans and stages the file, then merges it."""

    def __init__(self, batch: LoadBatch, owner: str, on_progress: Callable[[LoadBatch], None] | None):
        self.batch = batch
        self.owner = owner
        self.on_progress = on_progress
        self.stage_started = time.perf_counter()
        self.stage_seconds = Timings()
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

    def writer_open(
        self, tmp_dir: Path, rows_of: LoadBatch, *, file_sha256: str | None = None, **options
    ) -> pipeline_writer.BatchWriter:
        """The batch's writer (a lost lease aborts it), writing rows of ``rows_of``'s file
        (``file_sha256``: its hash, when ``rows_of`` does not hold it yet)."""
        sha256 = rows_of.sha256 if file_sha256 is None else file_sha256
        self.writer = pipeline_writer.BatchWriter(
            self.batch.pk, rows_of.file_name, sha256, tmp_dir, self.batch.dry_run, **options
        )
        return self.writer

    def load(self, source: extract.FileSource, fmt: extract.FileFormat, tmp_dir: Path) -> None:
        """Read, clean, stage and merge every row; commit with the batch's final counts."""
        batch = self.batch
        dims = dimensions_load()
        writer = self.writer_open(tmp_dir, batch, file_sha256=batch.sha256 or FILE_SHA256_PENDING)
        seen = InvoiceIdFilter()
        reasons: Counter = Counter()
        conventions, notes = AmountConventions(), list[str]()
        batch.rows_read = batch.rows_done = 0
        try:
            chunks = extract.chunks_read(
                source,
                fmt,
                chunk_rows=settings.INGEST_CHUNK_ROWS,
                limits=read_limits(),
                sheet=batch.sheet or None,
                notes=notes,
            )
            clock = time.perf_counter()  # the main thread's own time: reading, cleaning, waiting
            for raw in chunks:
                clock = writer.timings.lap("py_read", since=clock)
                if raw.empty:
                    continue
                cleaned = invoices_validate(raw, dims=dims, conventions=conventions)
                valid = cleaned["reason"].isna().to_numpy()
                candidate = np.zeros(len(raw), dtype=bool)
                candidate[valid] = seen.maybe_seen(cleaned["clean_invoice_id"][valid])
                cleaned["dup_candidate"] = candidate.astype(np.int8)
                reasons.update(cleaned["reason"].dropna().tolist())
                clock = writer.timings.lap("py_clean", since=clock)
                writer.chunk_write(pd.concat([raw, cleaned], axis=1))
                clock = writer.timings.lap("py_wait_db", since=clock)
                batch.rows_read += len(raw)
                batch.rows_done = batch.rows_read
                batch.rows_total = extract.rows_estimate(batch.rows_read, raw, batch.size_bytes)
                self.progress_save()
                memory_trim()
            if notes:
                batch.note = "; ".join(notes)[:255]
            sha256 = source.rest_hash()  # the parse read it all: nothing more is read
            batch.size_bytes = source.bytes_read
            writer.commit(
                lambda: self.commit(writer, reasons),
                on_stage=self.stage,
                file_sha256=sha256,
                on_hashed=lambda: self.content_settle(sha256),
            )
        except pipeline_writer.WriteAborted:
            writer.rollback()
            self.stopped()
        except BaseException:
            writer.rollback()
            raise

    def content_settle(self, sha256: str) -> None:
        """In the transaction, under the write lock: the content loaded already ends the run."""
        self.batch.sha256 = sha256
        if not (self.batch.force or self.batch.dry_run) and (earlier := content_loaded(self.batch)):
            raise AlreadyLoaded(earlier.pk)

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
        path = Path(batch.file_path)
        with extract.source_open(path) as source:
            fmt = extract.file_format_detect(source)
            try:
                self.load(source, fmt, tmp_dir)
                return
            except errors.EncodingMismatch:
                logger.info("batch %s: not UTF-8 after all, reading again as cp1252", batch.pk)
        with extract.source_open(path) as source:
            self.load(source, extract.FileFormat("csv", "cp1252", fmt.delimiter), tmp_dir)

    def skipped(self) -> bool:
        """A file already loaded (unless forced) ends skipped, naming the batch that loaded it."""
        earlier = None if self.batch.force else content_loaded(self.batch)
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
        batch = self.batch
        if batch.dry_run:  # writes nothing: no need to wait for another load of the file
            self.execute(tmp_dir)
            return
        if not batch.sha256 and not batch.force and size_loaded(batch):  # a probable repeat
            with suppress(OSError):  # unreadable: its load says why
                batch.sha256 = file_sha256(Path(batch.file_path))[0]
                LoadBatch.objects.filter(pk=batch.pk).update(sha256=batch.sha256)
        if not batch.sha256:  # a new file: hashed as it is read, checked at the end
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
        except AlreadyLoaded as exc:
            self.finish(LoadBatch.Status.SKIPPED, note=BATCH_SKIPPED_NOTE.format(batch_id=exc.batch_id))
        except LeaseLost:
            logger.warning("batch %s: taken over by another run; this run stopped", batch.pk)
            batch.refresh_from_db()
        except errors.FileRejected as exc:
            self.finish(LoadBatch.Status.FAILED, error=str(exc))
        except (OperationalError, InterfaceError) as exc:
            connection_close()  # it may be the connection that failed: retry on a new one
            error = BATCH_UNEXPECTED_ERROR.format(error=exc)
            if retry_transient and transient(exc):
                if self.finish(LoadBatch.Status.QUEUED, error=BATCH_RETRYING.format(error=exc)):
                    raise BatchRetry(error) from exc
                return
            self.finish(LoadBatch.Status.FAILED, error=error)
        except Exception as exc:
            logger.exception("batch %s failed", batch.pk)
            connection_close()
            self.finish(LoadBatch.Status.FAILED, error=BATCH_UNEXPECTED_ERROR.format(error=exc))
