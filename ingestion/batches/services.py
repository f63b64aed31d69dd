"""Loading an invoice file: the one entry point shared by the command, the admin and the task."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from django.db import connection, transaction
from django.utils import timezone

from config.logs import log_fields
from ingestion.batches import leases
from ingestion.batches.notify import batch_notify
from ingestion.pipeline import errors, sql
from warehouse.models import LoadBatch, ReprocessSelection

if TYPE_CHECKING:
    from ingestion.batches.run import BatchRun
    from ingestion.rejected.reprocess_run import ReprocessRun

logger = logging.getLogger(__name__)


def batch_create(
    *,
    path: Path,
    source: str = LoadBatch.Source.CLI,
    created_by=None,
    force: bool = False,
    dry_run: bool = False,
    file_name: str | None = None,
    sheet: str = "",
    digest: tuple[str, int] | None = None,
) -> LoadBatch:
    """Record a file to load (queued). The file must stay where every worker can read it.

    ``digest`` is the file's (sha256, size) when the caller knows it already (the folder
    scan and an upload hash the file first, to decide what to do with it). Without it the
    file is not read here: its load hashes the bytes it parses (``BatchRun``) and records
    the sha256 when it ends. A file that is gone is recorded as a failed batch that says
    why, and never sent to a worker (one that cannot be read fails its load, saying why).
    """
    path = Path(path)
    outcome: dict = {}
    try:
        sha256, size = digest or ("", path.stat().st_size)
    except OSError as exc:
        sha256, size = "", 0
        reason = (exc.strerror or str(exc)).lower()
        outcome = {
            "status": LoadBatch.Status.FAILED,
            "error": errors.FILE_CANNOT_READ.format(path=path, reason=reason),
            "finished_at": timezone.now(),
        }
        logger.warning("%s", outcome["error"])
    return LoadBatch.objects.create(
        file_name=file_name or path.name,
        file_path=str(path.resolve()),
        sha256=sha256,
        size_bytes=size,
        **outcome,
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
    for batch_id in batch_ids:  # one batch per statement: each is a range of the primary key
        # A batch's marks and rows go together: no row is left without the reason it was given.
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in sql.STAGING_CLEAR:  # the marks, then the rows
                cursor.execute(statement, [batch_id])
            rows += cursor.rowcount
    return len(batch_ids), rows


def _batch_logged[**P, R](ingest: Callable[P, R]) -> Callable[P, R]:
    """Every line logged while ``ingest`` runs names its batch (``batch_id``) and file."""

    @functools.wraps(ingest)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        batch_id = cast(int, kwargs["batch_id"])
        file_name = LoadBatch.objects.filter(pk=batch_id).values_list("file_name", flat=True).first()
        with log_fields(batch_id=batch_id, file=file_name):
            return ingest(*args, **kwargs)

    return run


def batch_runs_import() -> tuple[type[BatchRun], type[ReprocessRun]]:
    """The load's run and the re-processing's, imported on first use: a run brings pandas,
    which the processes that only queue batches (the web's) never need; and the re-processing
    run queues batches (dispatch imports this module). A Celery worker calls this before its
    pool forks (``ingestion.tasks``)."""
    from ingestion.batches.run import BatchRun
    from ingestion.rejected.reprocess_run import ReprocessRun

    return BatchRun, ReprocessRun


@_batch_logged
def invoice_file_ingest(
    *,
    batch_id: int,
    on_progress: Callable[[LoadBatch], None] | None = None,
    retry_transient: bool = False,
) -> LoadBatch:
    """Load one batch's file into the warehouse; the batch row records the outcome.

    The run first claims the batch (see ``ingestion.batches.leases``): a batch that ended, or
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
    load_run, reprocess_run = batch_runs_import()
    kind = reprocess_run if ReprocessSelection.objects.filter(batch_id=batch_id).exists() else load_run
    batch = kind(LoadBatch.objects.get(pk=batch_id), owner, on_progress).run(retry_transient=retry_transient)
    logger.info(
        "batch %s %s: read=%s loaded=%s rejected=%s",
        batch.pk,
        batch.status,
        batch.rows_read,
        batch.rows_loaded,
        batch.rows_rejected,
    )
    if (batch.attempts or [{}])[-1].get("owner") == owner:  # this run wrote the outcome
        batch_notify(batch=batch)
    return batch
