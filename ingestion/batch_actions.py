"""What the admin does to batches: enqueue, cancel, re-run. The load itself stays in services."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import uuid
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion.services import batch_create
from ingestion.tasks import ingest_batch
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)

BATCH_NOT_CANCELLABLE = "batch #{batch_id} is {status}: only queued or running batches can be cancelled"
BATCH_NOT_RERUNNABLE = "batch #{batch_id} is {status}: only finished batches of a file can be re-run"
BATCH_FILE_GONE = "batch #{batch_id}: its file is no longer at {path}"
BATCH_CANCELLED_BY = "cancelled by {user}"
RERUN_NOTE = "re-run of batch #{batch_id}"


def batch_enqueue(*, batch: LoadBatch) -> str:
    """Queue ``ingest_batch`` once the batch row is committed; record the task id on the row.

    Without a broker Celery is eager: the load then runs in-process right after commit.
    """
    task_id = uuid()
    LoadBatch.objects.filter(pk=batch.pk).update(task_id=task_id)
    batch.task_id = task_id
    ingest_batch.apply_async_on_commit((batch.pk,), task_id=task_id)
    return task_id


def batch_cancel(*, batch: LoadBatch, user=None) -> LoadBatch:
    """Mark a queued or running batch cancelled and revoke its task.

    A running load notices between chunks (the service re-reads the status) and rolls
    back: a cancelled load leaves no facts and no rejected rows.
    """
    if batch.status not in (LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING):
        raise ValueError(BATCH_NOT_CANCELLABLE.format(batch_id=batch.pk, status=batch.status))
    error = BATCH_CANCELLED_BY.format(user=getattr(user, "username", None) or "an admin")
    updated = LoadBatch.objects.filter(
        pk=batch.pk, status__in=(LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING)
    ).update(status=LoadBatch.Status.CANCELLED, error=error, finished_at=timezone.now())
    if not updated:  # it ended meanwhile
        batch.refresh_from_db()
        raise ValueError(BATCH_NOT_CANCELLABLE.format(batch_id=batch.pk, status=batch.status))
    if batch.task_id and not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        # No terminate: the running load stops itself at the next chunk and rolls back.
        app.control.revoke(batch.task_id)
    batch.refresh_from_db()
    return batch


def batch_rerun(*, batch: LoadBatch, user=None) -> LoadBatch:
    """A new forced batch for the same file (the old batch stays as history), enqueued."""
    if batch.status not in LoadBatch.FINISHED or not batch.file_path:
        raise ValueError(BATCH_NOT_RERUNNABLE.format(batch_id=batch.pk, status=batch.status))
    path = Path(batch.file_path)
    if not path.is_file():
        raise ValueError(BATCH_FILE_GONE.format(batch_id=batch.pk, path=path))
    with transaction.atomic():
        new = batch_create(
            path=path,
            source=LoadBatch.Source.ADMIN,
            created_by=user if getattr(user, "pk", None) else None,
            force=True,
            dry_run=batch.dry_run,
            file_name=batch.file_name,
        )
        new.note = RERUN_NOTE.format(batch_id=batch.pk)
        new.save(update_fields=["note"])
        batch_enqueue(batch=new)
    return new
