"""The columns of an invoice file, as the load contract names them."""

RAW_COLUMNS = (
    "invoice_id",
    "issue_date",
    "customer_id",
    "customer_name",
    "item_description",
    "qty",
    "unit_price",
    "total",
    "status",
)

CLEAN_COLUMNS = (
    "clean_invoice_id",
    "clean_issue_date",
    "customer_key",
    "item_key",
    "status_key",
    "clean_qty",
    "clean_unit_price",
    "clean_total",
    "reason",
    "detail",
)

# The staging row as the pipeline writes it (batch, file name and timestamp are constants).
STAGING_COLUMNS = ("source_row", *RAW_COLUMNS, "extra", *CLEAN_COLUMNS, "dup_candidate")

# What the reader keeps of a field over the field limit: its start, then this mark.
FIELD_CUT_KEEP = 256
FIELD_CUT = "\u2026[cut: {size} bytes]"
