"""Storing admin uploads where every worker can read them, and checking what they are."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from ingestion.batches.dispatch import batch_enqueue
from ingestion.batches.preview_loads import preview_then, preview_wanted
from ingestion.batches.services import batch_create
from ingestion.batches.validation import read_limits
from ingestion.pipeline import errors, extract, formats
from warehouse.models import LoadBatch

# The stored name's part after ``<random>-``: well under the 255 bytes file systems allow.
STORED_NAME_MAX_BYTES = 150


class UploadRejected(Exception):
    pass


def upload_storage() -> FileSystemStorage:
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / settings.ADMIN_UPLOAD_SUBDIR)


def _content_check(path: Path, name: str) -> tuple[str, int]:
    """The checks a load would make first: what the file is, and for a workbook its parts;
    the file's (sha256, size), read on from the format check's first bytes."""
    try:
        with extract.source_open(path) as source:
            reader = formats.reader_for(extract.file_format_detect(source).kind)
            reader.check(path, read_limits())
            return source.rest_hash(), source.bytes_read
    except errors.FileRejected as exc:
        raise UploadRejected(f"{name}: {exc}") from None


def stored_name(name: str, *, max_bytes: int = STORED_NAME_MAX_BYTES) -> str:
    """``name`` cut to ``max_bytes`` of UTF-8 (file systems allow 255), keeping its extension."""
    name = Path(name).name or "upload"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix.encode()) > 16:
        stem, suffix = name, ""
    suffix = f".{suffix}" if suffix else ""
    room = max_bytes - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore") + suffix


def upload_save(uploaded) -> tuple[Path, tuple[str, int]]:
    """Save under MEDIA_ROOT/<subdir>/YYYY/MM/DD/<random>-<name>; check the content, not the name.

    Returns the stored path and the file's (sha256, size)."""
    storage = upload_storage()
    name = storage.save(
        f"{timezone.now():%Y/%m/%d}/{uuid.uuid4().hex[:12]}-{stored_name(uploaded.name)}", uploaded
    )
    path = Path(storage.path(name))
    try:
        digest = _content_check(path, uploaded.name)
    except UploadRejected:
        path.unlink(missing_ok=True)
        raise
    return path, digest


def uploads_enqueue(
    *, files, user, force: bool, dry_run: bool, sheet: str = "", preview: bool = False
) -> list[LoadBatch]:
    """Save every file first (all or none), then create and enqueue one batch per file.

    ``preview``: a file whose load could update existing invoices becomes a dry run first,
    which loads by itself if it updates none and otherwise waits to be confirmed
    (``ingestion.batches.preview_loads``)."""
    saved: list[tuple[Path, tuple[str, int], str]] = []
    try:
        for uploaded in files:
            saved.append((*upload_save(uploaded), uploaded.name))  # noqa: PERF401 - kept one by one: a rejected file's predecessors are deleted
    except UploadRejected:
        for path, _, _ in saved:
            path.unlink(missing_ok=True)
        raise
    batches = []
    with transaction.atomic():
        for path, digest, original_name in saved:
            batch = batch_create(
                path=path,
                digest=digest,
                source=LoadBatch.Source.ADMIN,
                created_by=user,
                force=force,
                dry_run=dry_run,
                file_name=stored_name(original_name, max_bytes=255),
                sheet=sheet,
            )
            then = None
            if preview and not dry_run and batch.status == LoadBatch.Status.QUEUED:
                if preview_wanted(sha256=batch.sha256, force=force):
                    batch.dry_run = True
                    batch.save(update_fields=["dry_run"])
                    then = preview_then(batch.pk)
            batch_enqueue(batch=batch, then=then)  # sent once this transaction commits
            batches.append(batch)
    for batch in batches:  # what happened: queued, already loaded (no broker), or not queued
        batch.refresh_from_db()
    return batches
