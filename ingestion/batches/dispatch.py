"""Sending batches to the workers: enqueue, cancel, re-run, and the scan of INPUT_DIR.

Used by the admin, ``load_invoices``, the API and the beat tasks; the load itself is in
``ingestion.batches.services``. A broker that cannot be reached is an answer, not a crash: the
batch is marked failed with ``BATCH_QUEUE_FAILED`` (its file kept for a re-run) within
the publish retry policy's few seconds, and its notices are sent from this process (the
broker their tasks go through is down). A batch still queued a sweep period after its
message was sent (a broker restarted without persistence loses every queued message) is
published again by the sweeper, the scan and a waiting ``load_invoices``: the lease makes a
second delivery harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import suppress
from pathlib import Path

from celery import uuid
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from ingestion.batches import notify
from ingestion.batches.paths import input_files
from ingestion.batches.services import batch_create
from ingestion.pipeline.readers.source import file_sha256
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)

BATCH_NOT_CANCELLABLE = "batch #{batch_id} is {status}: only queued or running batches can be cancelled"
BATCH_NOT_RERUNNABLE = "batch #{batch_id} is {status}: only finished batches of a file can be re-run"
BATCH_FILE_GONE = "batch #{batch_id}: its file is no longer at {path}"
BATCH_CANCELLED_BY = "cancelled by {user}"
QUEUE_FAILED = "could not queue"  # how a batch that never reached the workers is recognised
BATCH_QUEUE_FAILED = QUEUE_FAILED + ": broker unreachable ({error})"
REVOKE_FAILED = "the workers could not be told (broker unreachable); the load stops at its next chunk"
RERUN_NOTE = "re-run of batch #{batch_id}"
REPUBLISHED = (
    "batch #{batch_id}: still queued {seconds:.0f} s after it was sent, claimed by no worker; sent again"
)
_BROKER_ERRORS = (BrokerError, OSError)
_PENDING = (LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING)


def _publish(batch_id: int, task_id: str, *, fail_batch: bool = True, then=None) -> None:
    from ingestion.tasks import ingest_batch

    try:
        ingest_batch.apply_async((batch_id,), task_id=task_id, link=then)
    except _BROKER_ERRORS as exc:
        if not fail_batch:  # a batch sent again stays queued: the next sweep tries once more
            logger.warning("batch %s: could not send it again: %s", batch_id, exc)
            return
        logger.error("batch %s: %s", batch_id, BATCH_QUEUE_FAILED.format(error=exc))
        failed = LoadBatch.objects.filter(pk=batch_id, status=LoadBatch.Status.QUEUED).update(
            status=LoadBatch.Status.FAILED,
            error=BATCH_QUEUE_FAILED.format(error=exc),
            finished_at=timezone.now(),
        )
        if failed:  # told without the broker (whose tasks would send it), never waited for
            notify.batch_notify_here(batch=LoadBatch.objects.get(pk=batch_id))


def batch_enqueue(*, batch: LoadBatch, then=None) -> str:
    """Queue ``ingest_batch`` once the batch row is committed; record the task id on the row.
    ``then``: a task signature to run once the load ended (a preview's, see ``ingestion.batches.previews``).

    Without a broker Celery is eager: the load then runs in-process right after commit.
    When the broker cannot be reached the batch ends ``failed`` with ``BATCH_QUEUE_FAILED``
    (reload the batch to see it). A batch that failed already (its file could not be read)
    is not sent.
    """
    if batch.status == LoadBatch.Status.FAILED:
        return batch.task_id
    task_id = uuid()
    LoadBatch.objects.filter(pk=batch.pk).update(task_id=task_id, published_at=timezone.now())
    batch.task_id = task_id
    transaction.on_commit(lambda: _publish(batch.pk, task_id, then=then))
    return task_id


def queued_unclaimed():
    """Queued batches that no worker claimed within a sweep period of their message."""
    before = timezone.now() - dt.timedelta(seconds=settings.BATCH_SWEEP_SECONDS)
    return LoadBatch.objects.filter(
        Q(published_at__lt=before) | Q(published_at__isnull=True, created_at__lt=before),
        status=LoadBatch.Status.QUEUED,
        lease_owner="",
    )


def batch_republish(*, batch: LoadBatch) -> str:
    """Send a queued batch nobody claimed again (new task id); what happened in one line,
    or "" if the batch moved meanwhile.

    One conditional UPDATE picks the one caller that sends it (sweeper, scan or a waiting
    ``load_invoices``); a broker still down leaves it queued for the next try.
    """
    task_id, now = uuid(), timezone.now()
    sent = queued_unclaimed().filter(pk=batch.pk, published_at=batch.published_at)
    if not sent.update(task_id=task_id, published_at=now):
        return ""
    waited = (now - (batch.published_at or batch.created_at)).total_seconds()
    batch.task_id, batch.published_at = task_id, now
    _publish(batch.pk, task_id, fail_batch=False)
    return REPUBLISHED.format(batch_id=batch.pk, seconds=waited)


def batches_republish() -> list[int]:
    """Beat: send again every queued batch that no worker claimed; return their ids."""
    sent = []
    for batch in queued_unclaimed():
        if said := batch_republish(batch=batch):
            logger.warning(said)
            sent.append(batch.pk)
    return sent


def batch_queue_failed(batch: LoadBatch) -> bool:
    """True if the batch could not be sent to the workers."""
    return batch.status == LoadBatch.Status.FAILED and batch.error.startswith(QUEUE_FAILED)


def batch_cancel(*, batch: LoadBatch, user=None) -> tuple[LoadBatch, str]:
    """Mark a queued or running batch cancelled and revoke its task; (batch, warning).

    A running load notices between chunks (its lease renewal fails) and rolls back: a
    cancelled load leaves no facts and no rejected rows.
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
    warning = ""
    if batch.task_id and not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        try:  # no terminate: the running load stops itself at the next chunk and rolls back
            app.control.revoke(batch.task_id)
        except _BROKER_ERRORS as exc:
            logger.warning("batch %s: revoke failed: %s", batch.pk, exc)
            warning = REVOKE_FAILED
    batch.refresh_from_db()
    return batch, warning


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
    new.refresh_from_db()
    return new


def _of_content(sha256: str, path: Path) -> Q:
    """Batches of this content: by sha256, or of this file while their load has not hashed it
    yet (``load_invoices`` leaves that to the load, which reads the file as it is then)."""
    return Q(sha256=sha256) | Q(sha256="", file_path=str(path.resolve()), status__in=_PENDING)


def _already_handled(sha256: str, path: Path) -> bool:
    """A queued, running or loaded batch of this content, or a scheduled load that failed.

    A scheduled load that failed because the broker was unreachable does not count: the
    next scan tries that file again. (A queued batch nobody claimed is sent again first.)
    """
    batches = LoadBatch.objects.filter(_of_content(sha256, path), dry_run=False)
    pending = (*_PENDING, LoadBatch.Status.SUCCEEDED)
    failed = batches.filter(source=LoadBatch.Source.SCHEDULED, status=LoadBatch.Status.FAILED)
    return (
        batches.filter(status__in=pending).exists() or failed.exclude(error__startswith=QUEUE_FAILED).exists()
    )


def _unreadable_recorded(path: Path) -> bool:
    """A scheduled batch of this file already failed because it could not be read."""
    return LoadBatch.objects.filter(
        file_path=str(path.resolve()),
        sha256="",
        source=LoadBatch.Source.SCHEDULED,
        status=LoadBatch.Status.FAILED,
    ).exists()


def input_dir_scan() -> list[int]:
    """Create and enqueue a batch for each new file in INPUT_DIR; return the batch ids.

    A file whose content already has a queued, running or succeeded batch is left alone,
    and so is one whose scheduled load failed (re-run it from the admin once fixed); a
    queued batch of it that no worker claimed within a sweep period is sent again.
    """
    if not settings.INPUT_DIR.is_dir():
        logger.warning("INPUT_DIR %s is not a folder; nothing to scan", settings.INPUT_DIR)
        return []
    created = []
    for path in input_files([str(settings.INPUT_DIR)]):
        digest = None
        with suppress(OSError):  # unreadable: recorded once as a failed batch that says why
            digest = file_sha256(path)
        sha256 = digest[0] if digest else ""
        lost = queued_unclaimed().filter(_of_content(sha256, path), dry_run=False).first() if sha256 else None
        if lost is not None and (said := batch_republish(batch=lost)):
            logger.warning(said)
            created.append(lost.pk)
            continue
        if _already_handled(sha256, path) if sha256 else _unreadable_recorded(path):
            continue
        with transaction.atomic():
            batch = batch_create(path=path, source=LoadBatch.Source.SCHEDULED, digest=digest)
            batch_enqueue(batch=batch)
        created.append(batch.pk)
        logger.info("scheduled batch #%s for %s", batch.pk, path)
    return created
