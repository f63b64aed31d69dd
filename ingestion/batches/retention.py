"""Retention, applied by the beat: staging rows and admin-uploaded files of batches that ended
long enough ago (``STAGING_RETENTION_DAYS``, ``UPLOAD_RETENTION_DAYS``; 0 keeps for ever).
Facts, rejected rows and the batch history are always kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ingestion.batches.services import staging_prune
from ingestion.batches.uploads import upload_storage
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RetentionReport:
    staging_batches: int = 0
    staging_rows: int = 0
    upload_files: int = 0
    upload_bytes: int = 0


def uploads_prune(*, ended_before: dt.datetime) -> tuple[int, int]:
    """Delete the uploaded files of admin batches that ended before ``ended_before``, unless a
    batch still queued, running or newer names the same file; (files, bytes) removed."""
    root = Path(upload_storage().location).resolve()
    ended = LoadBatch.objects.filter(
        source=LoadBatch.Source.ADMIN, status__in=LoadBatch.FINISHED, finished_at__lt=ended_before
    )
    paths = set(ended.values_list("file_path", flat=True))
    paths -= set(
        LoadBatch.objects.filter(file_path__in=paths)
        .exclude(pk__in=ended)
        .values_list("file_path", flat=True)
    )
    files = size = 0
    for name in sorted(paths):
        path = Path(name)
        if not path.is_relative_to(root) or not path.is_file():
            continue  # elsewhere (never ours to delete), or removed already
        size += path.stat().st_size
        path.unlink()
        files += 1
        for folder in path.parents:  # the emptied day/month/year folders, never the root
            if folder == root or not folder.is_relative_to(root) or any(folder.iterdir()):
                break
            folder.rmdir()
    return files, size


def retention_apply(*, now: dt.datetime | None = None) -> RetentionReport:
    now = now or timezone.now()
    batches = rows = files = size = 0
    if settings.STAGING_RETENTION_DAYS > 0:
        batches, rows = staging_prune(ended_before=now - dt.timedelta(days=settings.STAGING_RETENTION_DAYS))
    if settings.UPLOAD_RETENTION_DAYS > 0:
        files, size = uploads_prune(ended_before=now - dt.timedelta(days=settings.UPLOAD_RETENTION_DAYS))
    report = RetentionReport(batches, rows, files, size)
    logger.info(
        "retention: staging %s; uploads %s",
        _kept_or(settings.STAGING_RETENTION_DAYS, f"{rows:,} rows of {batches} batches removed"),
        _kept_or(settings.UPLOAD_RETENTION_DAYS, f"{files} files ({size:,} bytes) removed"),
    )
    return report


def _kept_or(days: int, removed: str) -> str:
    return f"{removed} (ended over {days} days ago)" if days > 0 else "kept (retention 0)"
