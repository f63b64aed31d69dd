"""The batch table: one row per load (file, source, status, counts, progress, attempts)."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class LoadBatch(models.Model):
    """One load of one file: lineage, accounting, progress and outcome."""

    class Source(models.TextChoices):
        CLI = "cli", "Command line"
        ADMIN = "admin", "Admin"
        API = "api", "API"
        SCHEDULED = "scheduled", "Scheduled scan"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.CANCELLED)

    class Stage(models.TextChoices):
        """What a running load is doing (``stage``), in order; the label is what progress says."""

        LOADING = "loading", "loading"  # reading, checking and staging the rows
        WAITING = "waiting", "waiting for another load to finish writing"
        WRITING = "writing", "writing the rows"  # the rows staged before the write lock was taken
        AGGREGATES = "aggregates", "updating the dashboard totals"
        DUPLICATES = "duplicates", "settling repeated invoice ids"
        COMMITTING = "committing", "committing"
        DONE = "done", "done"
        REPROCESS = "reprocess", "re-processing rows"
        CANCELLED = "cancelled", "cancelled"

    # The accounting of a load: read = loaded + rejected; loaded = inserted + updated + unchanged.
    COUNT_FIELDS = (
        "rows_read",
        "rows_loaded",
        "rows_inserted",
        "rows_updated",
        "rows_unchanged",
        "rows_rejected",
    )

    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CLI)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    force = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)

    rows_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    rows_updated = models.BigIntegerField(default=0)
    rows_unchanged = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    reason_counts = models.JSONField(default=dict, blank=True)

    stage = models.CharField(max_length=32, blank=True)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    stage_seconds = models.JSONField(default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # When its task was last sent to the broker (a retry: when it is due); a batch still queued
    # a sweep period later is published again (a lost message).
    published_at = models.DateTimeField(null=True, blank=True)
    # A run holds the batch through a lease: at most one live run per batch (see services).
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    note = models.CharField(max_length=255, blank=True)
    sheet = models.CharField(max_length=255, blank=True)  # a workbook's sheet to read; blank: the first

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "load_batch"
        ordering = ["-id"]
        verbose_name_plural = "load batches"

    def __str__(self):
        return f"#{self.pk} {self.file_name} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def rejection_rate(self) -> Decimal | None:
        """Rejected rows as a percentage of the rows read (None before anything was read)."""
        return Decimal(self.rows_rejected) * 100 / self.rows_read if self.rows_read else None

    @property
    def percent_done(self) -> int | None:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if self.rows_total:
            return min(99, int(self.rows_done * 100 / self.rows_total))
        return 0 if self.status == self.Status.QUEUED else None

    def last_seen_seconds(self, now: dt.datetime | None = None) -> float | None:
        """Seconds since the running load's last heartbeat (None when it is not running)."""
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return None
        return max(0.0, ((now or timezone.now()) - self.heartbeat_at).total_seconds())
