import pytest

from ingestion.batches.services import batch_create
from ingestion.tasks import ingest_batch
from warehouse.models import Invoice, LoadBatch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def test_task_runs_the_service_eagerly_without_a_broker(seed_file, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    batch = batch_create(path=seed_file)

    result = ingest_batch.delay(batch.pk).get()

    batch.refresh_from_db()
    assert result == {"batch_id": batch.pk, "status": "succeeded"}
    assert (batch.status, batch.rows_loaded) == (LoadBatch.Status.SUCCEEDED, 9_011)
    assert Invoice.objects.count() == 9_011


def test_redelivered_message_for_a_finished_batch_changes_nothing(seed_file):
    batch = batch_create(path=seed_file)
    ingest_batch.delay(batch.pk)
    finished_at = LoadBatch.objects.get(pk=batch.pk).finished_at

    assert ingest_batch.delay(batch.pk).get()["status"] == "succeeded"
    assert LoadBatch.objects.get(pk=batch.pk).finished_at == finished_at
