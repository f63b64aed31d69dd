"""The statements that write a chunk's valid rows straight into the facts (MySQL/MariaDB).

Values always go as parameters; the rest of the load's SQL is in ``sql``.
"""

from ingestion.pipeline.sql import CSV_FORMAT, FACT_VALUES


def facts_read(ids: int) -> str:
    """Some invoices' ids, each with its fact values as one text (``fact_changes.facts_text``):
    one string to convert per fact instead of a date, integers and decimals."""
    marks = ", ".join(["%s"] * ids)
    values = f"CONCAT_WS(',', {', '.join(FACT_VALUES)})"
    return f"SELECT invoice_id, {values} FROM fact_invoices WHERE invoice_id IN ({marks})"


# Changed invoices of a chunk, loaded here and written over the facts in one statement.
FACT_CHANGES_TABLE = "tmp_fact_changes"
FACT_CHANGES_CREATE = (
    f"DROP TEMPORARY TABLE IF EXISTS {FACT_CHANGES_TABLE}",
    f"CREATE TEMPORARY TABLE {FACT_CHANGES_TABLE} (invoice_id VARCHAR(64) CHARACTER SET utf8mb4"
    " COLLATE utf8mb4_bin PRIMARY KEY, issue_date DATE NOT NULL, customer_key INTEGER NOT NULL,"
    " item_key INTEGER NOT NULL, status_key INTEGER NOT NULL, qty INTEGER NOT NULL,"
    " unit_price DECIMAL(12, 2) NOT NULL, total DECIMAL(14, 2) NOT NULL, source_row INTEGER NULL)",
)


def fact_changes_load_data() -> str:
    """LOAD DATA of changed invoices into the temporary table (MySQL/MariaDB). Params: (path,)."""
    return (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {FACT_CHANGES_TABLE} CHARACTER SET utf8mb4"
        f" {CSV_FORMAT} (invoice_id, {', '.join(FACT_VALUES)}, source_row)"
    )


def fact_changes_write() -> str:
    """Every invoice of the temporary table over its fact row, with the batch and the line of the
    file that changed it (MySQL/MariaDB). Params: (batch_id,)."""
    columns = ", ".join(("invoice_id", *FACT_VALUES, "source_row"))
    updates = ", ".join(f"{c} = VALUES({c})" for c in (*FACT_VALUES, "source_row", "batch_id"))
    return (
        f"INSERT INTO fact_invoices ({columns}, batch_id) SELECT {columns}, %s FROM {FACT_CHANGES_TABLE}"
        f" ON DUPLICATE KEY UPDATE {updates}"
    )
