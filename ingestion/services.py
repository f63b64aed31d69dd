"""Loading an invoice file: the one entry point shared by the command, the admin and the task."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone
from django.utils.text import slugify

from ingestion import leases
from ingestion.pipeline import errors, extract, load, sql
from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID, dimensions_from_rows, invoices_clean
from ingestion.pipeline.seen import InvoiceIdFilter
from warehouse.models import Customer, Item, LoadBatch, Status

logger = logging.getLogger(__name__)

# Errors worth retrying the whole batch for: deadlock, lock wait timeout, lost connection.
TRANSIENT_DB_ERRORS = {1205, 1213, 2006, 2013}
BATCH_SKIPPED_NOTE = "identical to batch #{batch_id}, already loaded (use force to load again)"
BATCH_CANCELLED_ERROR = "cancelled while running"
BATCH_UNEXPECTED_ERROR = "unexpected error while loading: {error}"
BATCH_RETRYING = "queued again after a transient database error: {error}"


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
    if fmt.kind != "csv":
        return None
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
    return max(lines - 1, 0)


def dimensions_load():
    """The dimension lookups the cleaning rules check against, as they are now."""
    return dimensions_from_rows(
        customers=Customer.objects.values_list("customer_id", "customer_key"),
        items=Item.objects.values_list("item_description", "item_key"),
        statuses=Status.objects.values_list("status_name", "status_key"),
    )


def invoices_validate(raw: pd.DataFrame, *, dims) -> pd.DataFrame:
    """``invoices_clean`` with this installation's settings (date order, missing ids)."""
    return invoices_clean(
        raw,
        dims=dims,
        day_first=settings.INVOICE_DATE_ORDER.upper() != "MDY",
        allow_missing_invoice_id=settings.ALLOW_MISSING_INVOICE_ID,
    )


def reason_counts_ordered(reasons: Counter) -> dict[str, int]:
    """Counts per reason, the most frequent first (as batches store them)."""
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


class BatchCancelled(Exception):
    """A user cancelled the batch while it ran."""


class LeaseLost(Exception):
    """Another run took the batch over (this run's lease had expired)."""


class BatchRetry(Exception):
    """A transient database error: the batch is queued again for another attempt."""


def _connection_drop() -> None:
    """Close this thread's connection, dead or alive; the next query opens a new one."""
    try:
        connection.close()
    except Exception:
        logger.debug("closing a broken connection", exc_info=True)


def _tmp_dirs_sweep(root: Path) -> None:
    """Remove the temporary folders of runs that no longer hold their batch (killed ones)."""
    for folder in root.glob("batch-*"):
        _, batch_id, owner = (folder.name.split("-", 2) + ["", ""])[:3]
        live = LoadBatch.objects.filter(
            pk=int(batch_id) if batch_id.isdigit() else 0,
            status=LoadBatch.Status.RUNNING,
            lease_owner__endswith=owner,
        ).exists()
        if not live:
            shutil.rmtree(folder, ignore_errors=True)


class _Run:
    """One execution of a batch: reads, cleans and stages the file, then merges it."""

    def __init__(self, batch: LoadBatch, owner: str, on_progress: Callable[[LoadBatch], None] | None):
        self.batch = batch
        self.owner = owner
        self.on_progress = on_progress
        self.stage_started = time.perf_counter()
        self.stage_seconds: dict[str, float] = {}
        self.writer: load.BatchWriter | None = None
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
            raise BatchCancelled()
        raise LeaseLost()

    def on_lease_lost(self) -> None:  # from the heartbeat thread
        self.lost.set()
        if self.writer is not None:
            self.writer.abort()

    def load(self, fmt: extract.FileFormat, tmp_dir: Path) -> None:
        """Read, clean, stage and merge every row; commit with the batch's final counts."""
        batch = self.batch
        dims = dimensions_load()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.writer = writer = load.BatchWriter(
            batch_id=batch.pk,
            file_name=batch.file_name,
            file_sha256=batch.sha256,
            loaded_at=now,
            created_at=now,
            tmp_dir=tmp_dir,
            dry_run=batch.dry_run,
        )
        seen = InvoiceIdFilter()
        reasons: Counter = Counter()
        batch.rows_read = batch.rows_done = 0
        try:
            for raw in extract.chunks_read(Path(batch.file_path), fmt, chunk_rows=settings.INGEST_CHUNK_ROWS):
                if raw.empty:
                    continue
                cleaned = invoices_validate(raw, dims=dims)
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
            self.stage("waiting" if writer.waiting else "finishing")
            writer.commit(lambda: self.commit(writer, reasons))
        except load.WriteAborted:
            writer.rollback()
            self.stopped()
        except BaseException:
            writer.rollback()
            raise

    def commit(self, writer: load.BatchWriter, reasons: Counter) -> None:
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
        batch.stage = "done"
        if not self.finish(LoadBatch.Status.SUCCEEDED):
            self.stopped()

    def execute(self, tmp_dir: Path) -> None:
        batch = self.batch
        self.stage("loading")
        fmt = extract.file_format_detect(Path(batch.file_path))
        batch.rows_total = _rows_estimate(Path(batch.file_path), fmt)
        try:
            self.load(fmt, tmp_dir)
        except errors.EncodingMismatch:
            logger.info("batch %s: not UTF-8 after all, reading again as cp1252", batch.pk)
            self.load(extract.FileFormat("csv", "cp1252", fmt.delimiter), tmp_dir)

    def finish(self, status: str, *, error: str = "", note: str = "") -> bool:
        """Write the outcome, if the batch is still this run's; False if it is not.

        Anything but success leaves no counts: nothing of the file reached the warehouse.
        A user's cancel stays a cancel (with the user's message).
        """
        batch, now = self.batch, timezone.now()
        if status != LoadBatch.Status.SUCCEEDED:
            for name in LoadBatch.COUNT_FIELDS:
                setattr(batch, name, 0)
            batch.reason_counts = {}
        mine = LoadBatch.objects.filter(pk=batch.pk, lease_owner=self.owner)
        if status == LoadBatch.Status.CANCELLED:
            current = mine.filter(status=LoadBatch.Status.CANCELLED).values_list("error", flat=True).first()
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
        written = mine.update(**{name: getattr(batch, name) for name in fields})
        if not written:  # cancelled meanwhile, or taken over: the row is not this run's to write
            batch.refresh_from_db()
            return False
        if self.on_progress:
            self.on_progress(batch)
        return True

    def run(self, *, retry_transient: bool) -> LoadBatch:
        batch = self.batch
        if not batch.force and not batch.dry_run:
            earlier = (
                LoadBatch.objects.filter(
                    sha256=batch.sha256, status=LoadBatch.Status.SUCCEEDED, dry_run=False
                )
                .exclude(pk=batch.pk)
                .order_by("-pk")
                .first()
            )
            if earlier is not None:
                self.finish(LoadBatch.Status.SKIPPED, note=BATCH_SKIPPED_NOTE.format(batch_id=earlier.pk))
                return batch
        # One folder per database: the sweep only judges runs of batches it can see.
        root = Path(settings.LOAD_TMP_DIR) / (
            slugify(str(connection.settings_dict["NAME"]))[:60] or "default"
        )
        root.mkdir(parents=True, exist_ok=True)
        _tmp_dirs_sweep(root)
        tmp_dir = root / f"batch-{batch.pk}-{self.owner.rsplit(':', 1)[-1]}"
        tmp_dir.mkdir()
        heartbeat = None
        if connection.vendor == "mysql":  # SQLite: one process; progress updates renew the lease
            heartbeat = leases.BatchHeartbeat(batch_id=batch.pk, owner=self.owner, on_lost=self.on_lease_lost)
            heartbeat.start()
        try:
            self._execute_and_finish(retry_transient=retry_transient, tmp_dir=tmp_dir)
        finally:
            if heartbeat is not None:
                heartbeat.stop()
            shutil.rmtree(tmp_dir, ignore_errors=True)
        return batch

    def _execute_and_finish(self, *, retry_transient: bool, tmp_dir: Path) -> None:
        batch = self.batch
        try:
            self.execute(tmp_dir)
        except BatchCancelled:
            batch.stage = "cancelled"
            self.finish(LoadBatch.Status.CANCELLED, error=BATCH_CANCELLED_ERROR)
        except LeaseLost:
            logger.warning("batch %s: taken over by another run; this run stopped", batch.pk)
            batch.refresh_from_db()
        except errors.FileRejected as exc:
            self.finish(LoadBatch.Status.FAILED, error=str(exc))
        except OperationalError as exc:
            _connection_drop()  # it may be the connection that failed: retry on a new one
            error = BATCH_UNEXPECTED_ERROR.format(error=exc)
            if retry_transient and exc.args and exc.args[0] in TRANSIENT_DB_ERRORS:
                if self.finish(LoadBatch.Status.QUEUED, error=BATCH_RETRYING.format(error=exc)):
                    raise BatchRetry(error) from exc
                return
            self.finish(LoadBatch.Status.FAILED, error=error)
        except Exception as exc:
            logger.exception("batch %s failed", batch.pk)
            _connection_drop()
            self.finish(LoadBatch.Status.FAILED, error=BATCH_UNEXPECTED_ERROR.format(error=exc))


def invoice_file_ingest(
    *,
    batch_id: int,
    on_progress: Callable[[LoadBatch], None] | None = None,
    retry_transient: bool = False,
) -> LoadBatch:
    """Load one batch's file into the warehouse; the batch row records the outcome.

    The run first claims the batch (see ``ingestion.leases``): a batch that ended, or
    that another run holds, is returned untouched. File-level faults and unexpected
    errors end as a failed batch with a message, never as partial facts. With
    ``retry_transient``, a transient database error (deadlock, lock wait timeout, lost
    connection) queues the batch again and raises ``BatchRetry`` for the caller to retry.
    """
    owner = leases.lease_owner_new()
    if not leases.batch_claim(batch_id=batch_id, owner=owner):
        batch = LoadBatch.objects.get(pk=batch_id)
        logger.info("batch %s is %s (lease %r): nothing to do", batch.pk, batch.status, batch.lease_owner)
        return batch
    batch = _Run(LoadBatch.objects.get(pk=batch_id), owner, on_progress).run(retry_transient=retry_transient)
    logger.info(
        "batch %s %s: read=%s loaded=%s rejected=%s",
        batch.pk,
        batch.status,
        batch.rows_read,
        batch.rows_loaded,
        batch.rows_rejected,
    )
    return batch
