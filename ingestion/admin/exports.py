"""Export resources for the ingestion admin: rejected rows (raw record flattened) and batches."""

from import_export import fields, widgets

from ingestion.pipeline.columns import RAW_COLUMNS
from warehouse.exports import SafeModelResource
from warehouse.models import LoadBatch, RejectedInvoice

# The columns of an export of rejected rows, in order (the admin's CSV/XLSX and the
# streamed CSV): the row's own fields with its raw record flattened in, one column a field.
REJECTED_EXPORT_COLUMNS = (
    *("id", "batch_id", "file_name", "source_row", "reason", "detail"),
    *(f"raw_{c}" for c in RAW_COLUMNS),
    *("created_at", "resolved_at"),
)


def _raw(column: str):
    def dehydrate(instance: RejectedInvoice) -> str:
        value = (instance.raw_record or {}).get(column)
        return "" if value is None else str(value)

    return dehydrate


def _raw_field(column: str) -> fields.Field:
    return fields.Field(column_name=column, dehydrate_method=_raw(column), readonly=True)


class RejectedInvoiceResource(SafeModelResource):
    """One column per raw field, so the export holds the file's rows as they were read."""

    batch_id = fields.Field(
        attribute="batch_id", column_name="batch_id", readonly=True, widget=widgets.IntegerWidget()
    )
    raw_invoice_id = _raw_field("invoice_id")
    raw_issue_date = _raw_field("issue_date")
    raw_customer_id = _raw_field("customer_id")
    raw_customer_name = _raw_field("customer_name")
    raw_item_description = _raw_field("item_description")
    raw_qty = _raw_field("qty")
    raw_unit_price = _raw_field("unit_price")
    raw_total = _raw_field("total")
    raw_status = _raw_field("status")
    # Not a column of the row: its resolution, which the rows' manager reads with it.
    resolved_at = fields.Field(
        attribute="resolved_at", column_name="resolved_at", readonly=True, widget=widgets.DateTimeWidget()
    )

    class Meta:
        model = RejectedInvoice
        fields = REJECTED_EXPORT_COLUMNS
        export_order = fields


class LoadBatchResource(SafeModelResource):
    class Meta:
        model = LoadBatch
        fields = (
            "id",
            "file_name",
            "sha256",
            "size_bytes",
            "source",
            "status",
            "force",
            "dry_run",
            *LoadBatch.COUNT_FIELDS,
            "error",
            "note",
            "created_at",
            "started_at",
            "finished_at",
        )
        export_order = fields
