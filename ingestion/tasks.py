"""Celery tasks: they only orchestrate; the work is in ``ingestion.services``."""

from celery import shared_task
from django.db import OperationalError

from ingestion.services import invoice_file_ingest


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),  # only transient database errors are re-raised
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def ingest_batch(self, batch_id: int) -> dict:
    batch = invoice_file_ingest(batch_id=batch_id)
    return {"batch_id": batch.pk, "status": batch.status}
