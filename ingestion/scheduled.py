"""Celery beat's periodic scan of INPUT_DIR: new files become batches (source=scheduled).

A file whose content (sha256) already has a queued, running or succeeded batch is left
alone, and so is one whose scheduled load failed (re-run it from the admin once fixed):
scanning every few minutes is then cheap and never loads a file twice.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from ingestion.batch_actions import batch_enqueue
from ingestion.paths import input_files
from ingestion.services import batch_create, file_sha256
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)
_DONE_OR_PENDING = (LoadBatch.Status.QUEUED, LoadBatch.Status.RUNNING, LoadBatch.Status.SUCCEEDED)


def _already_handled(sha256: str) -> bool:
    batches = LoadBatch.objects.filter(sha256=sha256, dry_run=False)
    return (
        batches.filter(status__in=_DONE_OR_PENDING).exists()
        or batches.filter(source=LoadBatch.Source.SCHEDULED, status=LoadBatch.Status.FAILED).exists()
    )


@shared_task(acks_late=True, ignore_result=True)
def scan_input_dir() -> list[int]:
    """Create and enqueue a batch for each new file in INPUT_DIR; return the batch ids."""
    if not settings.INPUT_DIR.is_dir():
        logger.warning("INPUT_DIR %s is not a folder; nothing to scan", settings.INPUT_DIR)
        return []
    created = []
    for path in input_files([str(settings.INPUT_DIR)]):
        sha256, _ = file_sha256(path)
        if _already_handled(sha256):
            continue
        with transaction.atomic():
            batch = batch_create(path=path, source=LoadBatch.Source.SCHEDULED)
            batch_enqueue(batch=batch)
        created.append(batch.pk)
        logger.info("scheduled batch #%s for %s", batch.pk, path)
    return created
