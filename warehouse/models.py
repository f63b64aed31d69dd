"""All tables (names are part of the contract): star schema, batches, staging, rejected rows, aggregates."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from warehouse.fields import BusinessKeyField

INVOICE_ID_MAX_LENGTH = 64


def _folded(field: str, max_length: int) -> models.GeneratedField:
    """The natural key in lower case, unique: the database itself refuses a second key that
    differs only in letter case (``api access`` next to ``API Access``), on SQLite and MySQL."""
    return models.GeneratedField(
        expression=Lower(field),
        output_field=models.CharField(max_length=max_length),
        db_persist=True,
        unique=True,
    )


def key_twins(model, field: str, value: str) -> models.QuerySet:
    """Rows whose ``field`` the database holds equal to ``value``: equal ignoring case, or
    equal under the column's collation (MariaDB's also ignores characters such as U+200B,
    which ``iexact``'s LIKE does not), so a unique index never meets a twin we missed."""
    return model.objects.filter(models.Q(**{f"{field}__iexact": value}) | models.Q(**{field: value}))


class Customer(models.Model):
    customer_key = models.AutoField(primary_key=True)
    customer_id = models.CharField(max_length=32, unique=True)
    customer_name = models.CharField(max_length=200)
    customer_id_ci = _folded("customer_id", 32)

    class Meta:
        db_table = "dim_customer"
        ordering = ["customer_id"]

    def __str__(self):
        return f"{self.customer_id} {self.customer_name}"


class Item(models.Model):
    item_key = models.AutoField(primary_key=True)
    item_description = models.CharField(max_length=200, unique=True)
    item_description_ci = _folded("item_description", 200)

    class Meta:
        db_table = "dim_item"
        ordering = ["item_description"]

    def __str__(self):
        return self.item_description


class Status(models.Model):
    status_key = models.AutoField(primary_key=True)
    status_name = models.CharField(max_length=32, unique=True)
    status_name_ci = _folded("status_name", 32)

    class Meta:
        db_table = "dim_status"
        ordering = ["status_name"]
        verbose_name_plural = "statuses"

    def __str__(self):
        return self.status_name


class LoadBatch(models.Model):
    """One load of one file: lineage, accounting, progress and outcome."""

    class Source(models.TextChoices):
        CLI = "cli", "Command line"
        ADMIN = "admin", "Admin upload"
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


class StagingInvoice(models.Model):
    """Every input row, its raw text exactly as read, plus what cleaning made of it.

    The ``clean_*`` columns and ``reason`` are filled by the pipeline; the load's merge
    writes the fact and rejected tables from here.
    """

    pk = models.CompositePrimaryKey("batch", "source_row")
    batch = models.ForeignKey(LoadBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    source_row = models.BigIntegerField()
    file_name = models.CharField(max_length=255)
    loaded_at = models.DateTimeField()

    invoice_id = models.TextField(blank=True)
    issue_date = models.TextField(blank=True)
    customer_id = models.TextField(blank=True)
    customer_name = models.TextField(blank=True)
    item_description = models.TextField(blank=True)
    qty = models.TextField(blank=True)
    unit_price = models.TextField(blank=True)
    total = models.TextField(blank=True)
    status = models.TextField(blank=True)
    # JSON of extra columns; NULL when the file has none (the SQL merges it only when present).
    extra = models.TextField(null=True, blank=True)  # noqa: DJ001

    clean_invoice_id = BusinessKeyField(max_length=INVOICE_ID_MAX_LENGTH, null=True)
    clean_issue_date = models.DateField(null=True)
    customer_key = models.IntegerField(null=True)
    item_key = models.IntegerField(null=True)
    status_key = models.IntegerField(null=True)
    clean_qty = models.IntegerField(null=True)
    clean_unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    clean_total = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    # NULL until a rule fails: the merge selects the passing rows with ``reason IS NULL``.
    reason = models.CharField(max_length=32, null=True)  # noqa: DJ001
    detail = models.TextField(null=True)  # noqa: DJ001
    dup_candidate = models.BooleanField(
        default=False, help_text="An earlier row of the file may carry the same invoice id."
    )

    class Meta:
        db_table = "stg_invoices"

    def __str__(self):
        return f"batch {self.batch_id} row {self.source_row}"


class Invoice(models.Model):
    invoice_id = BusinessKeyField(primary_key=True, max_length=INVOICE_ID_MAX_LENGTH)
    issue_date = models.DateField(db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, db_column="customer_key")
    # Indexed and constrained on the columns the contract names (date, customer, status);
    # every further index on the fact table costs about a second per million rows loaded.
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, db_column="item_key", db_constraint=False, db_index=False
    )
    status = models.ForeignKey(Status, on_delete=models.PROTECT, db_column="status_key")
    qty = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    batch = models.ForeignKey(
        LoadBatch,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        help_text="The batch that last wrote this invoice.",
    )
    # Its line in that batch's file (none: written by re-processing rejected rows).
    source_row = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "fact_invoices"
        ordering = ["invoice_id"]

    def __str__(self):
        return self.invoice_id


class RejectedInvoice(models.Model):
    # NULL when the row has no invoice id (blank), so "no id" sorts and filters apart from ids.
    invoice_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    reason = models.CharField(max_length=32, db_index=True)
    detail = models.TextField(blank=True)
    raw_record = models.JSONField()
    # No database constraint: a running load writes rejected rows in its transaction while
    # its progress is updated on the batch row from another connection.
    batch = models.ForeignKey(
        LoadBatch, on_delete=models.CASCADE, related_name="rejected_rows", db_constraint=False
    )
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    source_row = models.BigIntegerField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_batch = models.ForeignKey(
        LoadBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolved_rows",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        db_table = "rejected_invoices"
        ordering = ["batch_id", "source_row"]

    def __str__(self):
        return f"row {self.source_row}: {self.reason}"


# --- Dashboard aggregates (kept current by loads; rebuilt by warehouse.aggregates) ------


def _dimension_key(model, column: str):
    # Keyed like the facts, without constraints or extra indexes: the primary key covers reads.
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_column=column, db_constraint=False, db_index=False
    )


class SalesAggregate(models.Model):
    """fact_invoices summed per period x customer x item x status."""

    customer = _dimension_key(Customer, "customer_key")
    item = _dimension_key(Item, "item_key")
    status = _dimension_key(Status, "status_key")
    invoice_count = models.BigIntegerField()
    qty = models.BigIntegerField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        abstract = True


class DailySales(SalesAggregate):
    """Per day; the dashboard reads it for partial months and weekly series.

    A load adds its changes in its own transaction (``ingestion.pipeline.sales_changes``);
    ``warehouse.aggregates.daily_sales_refresh`` rebuilds days from the facts.
    """

    pk = models.CompositePrimaryKey("day", "customer", "item", "status")
    day = models.DateField()

    class Meta:
        db_table = "agg_daily_sales"

    def __str__(self):
        return f"{self.day}: {self.invoice_count} invoices, {self.revenue}"


class MonthlySales(SalesAggregate):
    """agg_daily_sales rolled up per month (``month`` is its first day): few rows to scan."""

    pk = models.CompositePrimaryKey("month", "customer", "item", "status")
    month = models.DateField()

    class Meta:
        db_table = "agg_monthly_sales"

    def __str__(self):
        return f"{self.month:%Y-%m}: {self.invoice_count} invoices, {self.revenue}"


class WeeklySales(SalesAggregate):
    """agg_daily_sales rolled up per ISO week (``week`` is its Monday): the weekly series."""

    pk = models.CompositePrimaryKey("week", "customer", "item", "status")
    week = models.DateField()

    class Meta:
        db_table = "agg_weekly_sales"

    def __str__(self):
        return f"{self.week:%G-W%V}: {self.invoice_count} invoices, {self.revenue}"


class DataVersion(models.Model):
    """One row: a number that changes in the transaction of every commit that changes what
    the dashboard shows (``warehouse.versions``). Cached answers are keyed by it."""

    version = models.BigIntegerField()

    class Meta:
        db_table = "warehouse_data_version"

    def __str__(self):
        return f"data version {self.version}"


from warehouse.reprocessing import ReprocessSelection  # noqa: E402  (a table of its own module)

__all__ = [
    "Customer",
    "DailySales",
    "DataVersion",
    "Invoice",
    "Item",
    "LoadBatch",
    "MonthlySales",
    "RejectedInvoice",
    "ReprocessSelection",
    "StagingInvoice",
    "Status",
    "WeeklySales",
]
