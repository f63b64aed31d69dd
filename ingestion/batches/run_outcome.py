"""Writing a run's outcome on its batch row (``ingestion.batches.run``)."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from ingestion.batches import leases
from ingestion.batches.reconnect import db_retry
from ingestion.pipeline.timings import Timings
from warehouse.models import LoadBatch
from warehouse.versions import data_version_bump


class BatchOutcome:
    """The outcome half of a ``BatchRun``: its batch, lease owner, stage seconds, progress hook."""

    batch: LoadBatch
    owner: str
    stage_seconds: Timings
    on_progress: Callable[[LoadBatch], None] | None

    def finish(self, status: str, *, error: str = "", note: str = "") -> bool:
        """Write the outcome, if the batch is still this run's; False if it is not.

        Anything but success leaves no counts: nothing of the file reached the warehouse.
        A user's cancel stays a cancel (with the user's message). A lost connection is
        retried on a new one (``ingestion.batches.reconnect``), except inside the load's transaction.
        """
        batch, now = self.batch, timezone.now()
        if status != LoadBatch.Status.SUCCEEDED:
            for name in LoadBatch.COUNT_FIELDS:
                setattr(batch, name, 0)
            batch.reason_counts = {}
        mine = LoadBatch.objects.filter(pk=batch.pk, lease_owner=self.owner)
        if status == LoadBatch.Status.CANCELLED:
            cancelled = mine.filter(status=LoadBatch.Status.CANCELLED).values_list("error", flat=True)
            current = db_retry(cancelled.first, what=f"batch {batch.pk}")
            error = current or error
        else:
            mine = mine.filter(status=LoadBatch.Status.RUNNING)
        batch.status, batch.error, batch.note = status, error, note or batch.note
        batch.finished_at = None if status == LoadBatch.Status.QUEUED else now
        batch.stage_seconds = self.stage_seconds
        batch.attempts = leases.attempt_record(batch, status=status, error=error, now=now)
        batch.lease_owner, batch.lease_expires_at = "", None
        fields = (
            *LoadBatch.COUNT_FIELDS,
            "sha256",
            "size_bytes",
            "reason_counts",
            "status",
            "error",
            "note",
            "finished_at",
            "stage",
            "rows_done",
            "rows_total",
            "stage_seconds",
            "attempts",
            "lease_owner",
            "lease_expires_at",
        )
        values = {name: getattr(batch, name) for name in fields}
        written = db_retry(lambda: mine.update(**values), what=f"batch {batch.pk}: writing the outcome")
        if not written:  # cancelled meanwhile, or taken over: the row is not this run's to write
            db_retry(batch.refresh_from_db, what=f"batch {batch.pk}")
            return False
        if status == LoadBatch.Status.SUCCEEDED and not batch.dry_run:
            data_version_bump()  # in the batch's transaction: cached answers end with it
        if self.on_progress:
            self.on_progress(batch)
        return True
