"""Celery tasks: they only orchestrate; the work is in ``ingestion.batches.services`` and ``dispatch``."""

import dataclasses
import datetime as dt

from celery import shared_task, signals
from django.conf import settings
from django.utils import timezone

from ingestion.batches import dispatch, leases, notify, retention
from ingestion.batches.run_stops import BatchRetry
from ingestion.batches.services import batch_runs_import, invoice_file_ingest
from warehouse.models import LoadBatch

INGEST_MAX_RETRIES = 5


@signals.worker_init.connect
def worker_runs_import(**kwargs) -> None:
    """A worker imports the runs before its pool forks: its children share them, and the
    first batch each child takes does not wait for pandas."""
    batch_runs_import()


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,  # callers follow the batch row, never the result backend
    max_retries=INGEST_MAX_RETRIES,
)
def ingest_batch(self, batch_id: int) -> dict:
    try:
        batch = invoice_file_ingest(
            batch_id=batch_id, retry_transient=self.request.retries < self.max_retries
        )
    except BatchRetry as exc:  # queued again after a deadlock, lock wait or lost connection
        countdown = min(10 * 2**self.request.retries, 300)
        due = timezone.now() + dt.timedelta(seconds=countdown)  # the sweeper waits for the retry
        LoadBatch.objects.filter(pk=batch_id, status=LoadBatch.Status.QUEUED).update(published_at=due)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {"batch_id": batch.pk, "status": batch.status}  # for the worker's log


@shared_task(acks_late=True, ignore_result=True)
def scan_input_dir() -> list[int]:
    """Beat: new files of INPUT_DIR become scheduled batches."""
    return dispatch.input_dir_scan()


@shared_task(ignore_result=True)
def batch_sweep() -> list[int]:
    """Beat: running batches whose lease expired (worker lost) are queued again or failed;
    queued batches that no worker claimed (their message lost) are sent again."""
    swept = leases.batch_sweep(requeue=lambda batch: dispatch.batch_enqueue(batch=batch))
    notify.swept_batches_notify(batch_ids=swept)
    return swept + dispatch.batches_republish()


@shared_task(
    autoretry_for=(OSError,),  # mail server or webhook unreachable, refused, timed out, 5xx
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=settings.NOTIFY_MAX_RETRIES,
    ignore_result=True,
)
def notify_mail(batch_id: int, event: str) -> None:
    notify.notice_mail_send(batch_id=batch_id, event=event)


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=settings.NOTIFY_MAX_RETRIES,
    ignore_result=True,
)
def notify_webhook(batch_id: int, event: str) -> None:
    notify.notice_webhook_send(batch_id=batch_id, event=event)


@shared_task(ignore_result=True)
def retention_apply() -> dict:
    """Beat: staging rows and uploaded files past their retention are removed (see settings)."""
    return dataclasses.asdict(retention.retention_apply())


@shared_task(acks_late=True, ignore_result=True)
def preview_settle(batch_id: int) -> int | None:
    """After a preview's dry run: its load starts now if it updates no existing invoice."""
    from ingestion.batches.preview_loads import preview_settle as settle

    load = settle(batch_id=batch_id)
    return load.pk if load else None
