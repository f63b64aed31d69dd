"""Previews before a load: an upload that could change existing invoices is first a dry run
of the stored file; confirming it loads that same file (no second upload).

- ``preview_wanted``: whether an upload is previewed first (the warehouse holds invoices,
  and the content was not loaded already unless forced: an unforced repeat is skipped anyway);
- ``preview_settle`` (run by the ``preview_settle`` task once the dry run ended): a preview
  that would update no existing invoice (only new, unchanged or rejected rows) starts its
  load by itself; one that would update some waits for a user's confirmation (its sample of
  changes is read then, into the cache, so that its page answers at once);
- ``preview_confirm``: the load of a finished dry run's file, once (a second confirmation,
  or a confirmation after the automatic start, is refused with a message).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import transaction

from ingestion.batches.dispatch import batch_enqueue
from ingestion.batches.previews import preview_changes
from ingestion.batches.services import batch_create
from warehouse.models import Invoice, LoadBatch

logger = logging.getLogger(__name__)

PREVIEW_NOT_LOADABLE = "batch #{batch_id} is not a finished dry run: there is nothing to confirm"
PREVIEW_ALREADY_LOADED = "batch #{batch_id} was loaded already, by batch #{load_id}"
PREVIEW_FILE_GONE = "batch #{batch_id}: its file is no longer at {path}; upload it again"
PREVIEW_LOAD_NOTE = "load of dry run #{batch_id}"


def preview_wanted(*, sha256: str, force: bool) -> bool:
    """An upload is previewed when its load could update invoices that exist."""
    if not Invoice.objects.exists():
        return False
    if force:
        return True
    loaded = LoadBatch.objects.filter(sha256=sha256, status=LoadBatch.Status.SUCCEEDED, dry_run=False)
    return not loaded.exists()  # a repeat is skipped by its load, with a note naming the first


def preview_load(preview: LoadBatch) -> LoadBatch | None:
    """The load of a dry run's file started after it (by confirmation or by itself), if any."""
    return (
        LoadBatch.objects.filter(
            file_path=preview.file_path, sha256=preview.sha256, dry_run=False, pk__gt=preview.pk
        )
        .order_by("pk")
        .first()
    )


def preview_loadable(preview: LoadBatch) -> bool:
    """A finished, successful dry run whose file is still there."""
    return (
        preview.dry_run
        and preview.status == LoadBatch.Status.SUCCEEDED
        and bool(preview.file_path)
        and Path(preview.file_path).is_file()
    )


def preview_confirm(*, preview: LoadBatch, user=None) -> LoadBatch:
    """Load the dry run's stored file as a new batch (enqueued); ``ValueError`` says why not."""
    with transaction.atomic():
        preview = LoadBatch.objects.select_for_update().get(pk=preview.pk)  # one confirmation at a time
        if not preview.dry_run or preview.status != LoadBatch.Status.SUCCEEDED or not preview.file_path:
            raise ValueError(PREVIEW_NOT_LOADABLE.format(batch_id=preview.pk))
        if (load := preview_load(preview)) is not None:
            raise ValueError(PREVIEW_ALREADY_LOADED.format(batch_id=preview.pk, load_id=load.pk))
        if not Path(preview.file_path).is_file():
            raise ValueError(PREVIEW_FILE_GONE.format(batch_id=preview.pk, path=preview.file_path))
        load = batch_create(
            path=Path(preview.file_path),
            source=preview.source,
            created_by=user if getattr(user, "pk", None) else preview.created_by,
            force=preview.force,
            file_name=preview.file_name,
            sheet=preview.sheet,
            digest=(preview.sha256, preview.size_bytes),  # the dry run read it; preview_load finds it
        )
        load.note = PREVIEW_LOAD_NOTE.format(batch_id=preview.pk)
        load.save(update_fields=["note"])
        batch_enqueue(batch=load)
    load.refresh_from_db()
    return load


def preview_settle(*, batch_id: int) -> LoadBatch | None:
    """After a preview's dry run: load it now if it updates no existing invoice; the load, or None."""
    preview = LoadBatch.objects.filter(pk=batch_id).first()
    if preview is None or not preview_loadable(preview):
        return None
    if preview.rows_updated:  # waits for a user: the sample is read now, so the page answers at once
        preview_changes(batch_id=preview.pk)
        return None
    try:
        return preview_confirm(preview=preview)
    except ValueError as exc:  # loaded meanwhile (a second delivery), or the file went away
        logger.info("%s", exc)
        return None


def preview_then(batch_id: int):
    """The task signature that settles a preview once its dry run ended (``batch_enqueue(then=)``)."""
    from ingestion.tasks import preview_settle as task

    return task.si(batch_id)
