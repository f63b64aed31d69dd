"""Retention on the beat: staging rows and uploaded files of batches ended long enough ago."""

import datetime as dt
import logging
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery import app
from ingestion import tasks
from ingestion.batches.uploads import upload_storage
from ingestion.tests.files import ingest, write_invoices
from warehouse.models import Invoice, LoadBatch, RejectedInvoice, StagingInvoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def _uploaded(media: Path, day: str, prefix: str) -> Path:
    """An admin upload as ``upload_save`` keeps it: MEDIA_ROOT/uploads/YYYY/MM/DD/<name>."""
    return write_invoices(
        Path(upload_storage().location) / day,
        (f"{prefix}-1", "2024-01-05", "C-100", "Acme Corp", "Server Setup", 2, "10.00", "20.00", "PAID"),
        (f"{prefix}-2", "2024-01-06", "C-101", "Globex Inc", "Audit Service", 1, "5.00", "9.00", "PAID"),
        name=f"{prefix}.csv",
    )


def _ended_days_ago(batch: LoadBatch, days: int) -> None:
    LoadBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now() - dt.timedelta(days=days))


@pytest.fixture
def old_and_recent(media):
    old = ingest(_uploaded(media, "2024/01/01", "OLD"), source=LoadBatch.Source.ADMIN)
    recent = ingest(_uploaded(media, "2024/03/01", "NEW"), source=LoadBatch.Source.ADMIN)
    _ended_days_ago(old, 100)
    _ended_days_ago(recent, 10)
    return old, recent


def test_the_beat_task_removes_old_staging_rows_and_uploads_and_logs_what_it_removed(
    old_and_recent, caplog, settings
):
    settings.STAGING_RETENTION_DAYS, settings.UPLOAD_RETENTION_DAYS = 30, 90
    old, recent = old_and_recent
    old_size = Path(old.file_path).stat().st_size

    with caplog.at_level(logging.INFO, logger="ingestion.batches.retention"):
        result = tasks.retention_apply.delay().get()

    assert result == {"staging_batches": 1, "staging_rows": 2, "upload_files": 1, "upload_bytes": old_size}
    assert not StagingInvoice.objects.filter(batch=old).exists()
    assert StagingInvoice.objects.filter(batch=recent).count() == 2
    assert not Path(old.file_path).exists()
    assert not Path(old.file_path).parent.exists()  # the emptied day folder goes too
    assert Path(recent.file_path).exists()
    assert Invoice.objects.count() == 2 and RejectedInvoice.objects.count() == 2  # facts are kept
    assert LoadBatch.objects.count() == 2
    assert (
        f"retention: staging 2 rows of 1 batches removed (ended over 30 days ago);"
        f" uploads 1 files ({old_size:,} bytes) removed (ended over 90 days ago)"
    ) in caplog.messages


def test_a_retention_of_zero_keeps_staging_and_uploads_for_ever(old_and_recent, caplog, settings):
    settings.STAGING_RETENTION_DAYS, settings.UPLOAD_RETENTION_DAYS = 0, 0
    old, _ = old_and_recent

    with caplog.at_level(logging.INFO, logger="ingestion.batches.retention"):
        result = tasks.retention_apply.delay().get()

    assert set(result.values()) == {0}
    assert StagingInvoice.objects.filter(batch=old).count() == 2
    assert Path(old.file_path).exists()
    assert "retention: staging kept (retention 0); uploads kept (retention 0)" in caplog.messages


def test_an_upload_still_named_by_an_unfinished_batch_is_kept(old_and_recent, settings):
    settings.UPLOAD_RETENTION_DAYS = 90
    old, _ = old_and_recent
    LoadBatch.objects.create(file_name="again.csv", file_path=old.file_path, sha256=old.sha256)  # queued

    assert tasks.retention_apply.delay().get()["upload_files"] == 0
    assert Path(old.file_path).exists()


def test_files_outside_the_upload_folder_are_never_removed(media, tmp_path, settings):
    settings.UPLOAD_RETENTION_DAYS = 1
    outside = write_invoices(
        tmp_path / "inbox",
        ("OUT-1", "2024-01-05", "C-100", "Acme Corp", "Server Setup", 1, "1.00", "1.00", "PAID"),
    )
    for source in (LoadBatch.Source.CLI, LoadBatch.Source.ADMIN):
        batch = ingest(outside, source=source, force=True)
        _ended_days_ago(batch, 400)

    assert tasks.retention_apply.delay().get()["upload_files"] == 0
    assert outside.exists()


def test_the_beat_schedules_retention_every_retention_sweep_minutes():
    entry = django_settings.CELERY_BEAT_SCHEDULE["retention"]

    assert entry["schedule"] == django_settings.RETENTION_SWEEP_MINUTES * 60
    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].name == tasks.retention_apply.name
