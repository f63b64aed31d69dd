"""Staging, the fact table and the rejected rows: the rows a load writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import models
from django.db.models import Exists, F, OuterRef

from warehouse.fields import BusinessKeyField
from warehouse.models.batches import LoadBatch
from warehouse.models.dimensions import Customer, Item, Status

if TYPE_CHECKING:
    from warehouse.models.reprocessing import RejectedResolution

INVOICE_ID_MAX_LENGTH = 64


class StagingInvoice(models.Model):
    """Every input row, its raw text exactly as read, plus what cleaning made of it.

    The ``clean_*`` columns and ``reason`` are filled by the pipeline; the load's merge
    writes the fact and rejected tables from here. A reason given once the whole file is
    staged (a repeated invoice id) is a ``StagingMark`` beside the row, not on it.
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


class StagingMark(models.Model):
    """The reason a staged row was given after it was staged: a repeated invoice id, settled
    once the whole file is staged (``reason`` and ``detail`` as ``StagingInvoice`` has them).

    A staged row's reason is its mark's, else its own. Kept apart from staging so that
    settling writes a few narrow rows instead of rewriting scattered wide ones."""

    pk = models.CompositePrimaryKey("batch", "source_row")
    batch = models.ForeignKey(LoadBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    source_row = models.BigIntegerField()
    reason = models.CharField(max_length=32)
    detail = models.TextField()

    class Meta:
        db_table = "stg_invoice_marks"

    def __str__(self):
        return f"batch {self.batch_id} row {self.source_row}: {self.reason}"


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


def _resolutions() -> type[RejectedResolution]:
    from warehouse.models.reprocessing import RejectedResolution  # it points at this model

    return RejectedResolution


class RejectedInvoiceQuerySet(models.QuerySet):
    """``unresolved()`` / ``resolved()``: whether a re-processing loaded the row, as an
    ``EXISTS`` on its resolution. Checked as each row is read, so a sorted list (the admin's)
    sorts only the rows that pass; a filter on the joined ``resolution`` would sort them all
    first. Nothing in the warehouse changes a rejected row's resolution but a re-processing."""

    def _resolution(self) -> Exists:
        return Exists(_resolutions().objects.filter(rejected_id=OuterRef("pk")))

    def unresolved(self):
        return self.filter(~self._resolution())

    def resolved(self):
        return self.filter(self._resolution())

    @staticmethod
    def unresolved_sql(alias: str) -> str:
        """``unresolved()`` for set-based SQL: the rejected row ``alias`` has no resolution."""
        resolutions = _resolutions()._meta
        rejected_id = cast(models.Field, resolutions.get_field("rejected")).column
        return f"NOT EXISTS (SELECT 1 FROM {resolutions.db_table} r WHERE r.{rejected_id} = {alias}.id)"


class RejectedInvoiceManager(models.Manager.from_queryset(RejectedInvoiceQuerySet)):  # type: ignore[misc]
    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .annotate(resolved_at=F("resolution__resolved_at"), resolved_by_batch_id=F("resolution__batch"))
        )


class _Resolved:
    """``resolved_at`` / ``resolved_by_batch_id`` of a rejected row: what the manager's join
    read with the row; for a row read without it (a relation's or the base manager,
    ``refresh_from_db``, a row just created), its resolution read once, on first use."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, row, owner=None):
        if row is None:
            return self
        if self.name not in row.__dict__:
            row.__dict__.update(zip(_RESOLVED, _resolution_of(row.pk), strict=True))
        return row.__dict__[self.name]

    def __set__(self, row, value) -> None:
        row.__dict__[self.name] = value


def _resolution_of(pk: int | None) -> tuple:
    found = _resolutions().objects.filter(rejected_id=pk).values_list("resolved_at", "batch_id").first()
    return found or (None, None)


_RESOLVED = ("resolved_at", "resolved_by_batch_id")


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
    source_row = models.BigIntegerField()
    created_at = models.DateTimeField()

    # Every row read through the manager carries its resolution (``RejectedResolution``),
    # both None while it is unresolved (filter with ``objects.unresolved()`` / ``resolved()``).
    resolved_at = _Resolved()
    resolved_by_batch_id = _Resolved()
    objects = RejectedInvoiceManager()

    class Meta:
        db_table = "rejected_invoices"
        ordering = ["batch_id", "source_row"]

    def __str__(self):
        return f"row {self.source_row}: {self.reason}"

    @property
    def file_sha256(self) -> str:
        """The sha256 of the file the row was read from: its batch's (kept there once)."""
        return self.batch.sha256

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        for name in _RESOLVED:  # read again on next use
            self.__dict__.pop(name, None)
