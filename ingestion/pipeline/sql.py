"""The load's set-based SQL, for MySQL/MariaDB and SQLite. Values always go as parameters."""

from ingestion.pipeline.columns import CLEAN_COLUMNS, RAW_COLUMNS, STAGING_COLUMNS
from warehouse.models import RejectedInvoiceQuerySet, RejectedResolution

FACT_VALUES = ("issue_date", "customer_key", "item_key", "status_key", "qty", "unit_price", "total")
STAGED_VALUES = CLEAN_COLUMNS[1:8]  # staging's cleaned columns for FACT_VALUES, in order

# How the chunk files are written: every value quoted, nulls as a bare NULL (which, with
# ESCAPED BY '', LOAD DATA reads as SQL NULL; a quoted "NULL" stays text). ESCAPED BY ''
# also keeps backslashes as they are.
CSV_FORMAT = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"
STAGING = "stg_invoices"  # the staging table; the statements below that read it take a copy's name too
MARKS = "stg_invoice_marks"  # reasons settled after staging (``warehouse.models.StagingMark``)
# A batch's staging, its marks first. Params of each: (batch_id,).
STAGING_CLEAR = (f"DELETE FROM {MARKS} WHERE batch_id = %s", "DELETE FROM stg_invoices WHERE batch_id = %s")
# A staged row ``s``'s reason and detail as settled: its mark's, else its own (with ``MARKS_JOIN``).
MARKS_JOIN = f"LEFT JOIN {MARKS} m ON m.batch_id = s.batch_id AND m.source_row = s.source_row"
STAGED_REASON = "COALESCE(m.reason, s.reason)"
STAGED_DETAIL = "COALESCE(m.detail, s.detail)"
RESOLUTIONS = RejectedResolution._meta.db_table  # rejected rows a re-processing loaded
FACTS_ANY = "SELECT 1 FROM fact_invoices LIMIT 1"
BATCHES_OF_FILE = "SELECT id FROM load_batch WHERE sha256 = %s AND id <> %s"


# Staging rows are replaced, not duplicated: a run that took over a batch from a lost one
# may meet rows that run staged (the same rows of the same file).
def staging_insert(table: str = STAGING) -> str:
    """Multi-row insert of staged rows into ``table`` (staging, or a copy of its columns)."""
    return (
        f"REPLACE INTO {table} ({', '.join(STAGING_COLUMNS)}, batch_id, file_name, loaded_at)"
        f" VALUES ({', '.join(['%s'] * (len(STAGING_COLUMNS) + 3))})"
    )


# The rejected row ``alias`` has no resolution: no re-processing loaded it (the warehouse's rule).
unresolved = RejectedInvoiceQuerySet.unresolved_sql


def rejected_clear(batches: int) -> str:
    """Unresolved rejected rows of earlier loads of the same file (replaced by this load)."""
    marks = ", ".join(["%s"] * batches)
    return f"DELETE FROM rejected_invoices WHERE batch_id IN ({marks}) AND {unresolved('rejected_invoices')}"


# Rows of one chunk. Params: (batch_id, first source_row, last source_row).
CHUNK_FILTER = "s.batch_id = %s AND s.source_row BETWEEN %s AND %s"


def staging_load_data(table: str = STAGING) -> str:
    """LOAD DATA of a chunk into ``table`` (staging, or a copy of its columns).

    Params: (path, batch_id, file_name, loaded_at)."""
    return (
        f"LOAD DATA LOCAL INFILE %s REPLACE INTO TABLE {table} CHARACTER SET utf8mb4"
        f" {CSV_FORMAT} ({', '.join(STAGING_COLUMNS)}) SET batch_id = %s, file_name = %s, loaded_at = %s"
    )


def facts_load_data() -> str:
    """LOAD DATA of new invoices straight into the fact table. Params: (path, batch_id)."""
    return (
        "LOAD DATA LOCAL INFILE %s INTO TABLE fact_invoices CHARACTER SET utf8mb4"
        f" {CSV_FORMAT} (invoice_id, {', '.join(FACT_VALUES)}, source_row) SET batch_id = %s"
    )


def sales_delta_load_data() -> str:
    """LOAD DATA into the aggregates' temporary delta table. Params: (path,)."""
    return f"LOAD DATA LOCAL INFILE %s INTO TABLE {SALES_DELTA_TABLE} CHARACTER SET utf8mb4 {CSV_FORMAT}"


REJECTED_COLUMNS = ("invoice_id", "reason", "detail", "raw_record", "source_row")
REJECTED_INSERT = (
    f"INSERT INTO rejected_invoices ({', '.join(REJECTED_COLUMNS)}, batch_id, file_name,"
    " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def rejected_load_data() -> str:
    """LOAD DATA of rejected rows. Params: (path, batch_id, file_name, created_at)."""
    return (
        "LOAD DATA LOCAL INFILE %s INTO TABLE rejected_invoices CHARACTER SET utf8mb4"
        f" {CSV_FORMAT} ({', '.join(REJECTED_COLUMNS)})"
        " SET batch_id = %s, file_name = %s, created_at = %s"
    )


def merge_preview(where: str, staged: str = STAGING) -> str:
    """(rows, rows whose invoice exists, rows identical to the existing invoice).

    ``staged`` (here and below): the table holding the staged rows, ``stg_invoices`` or a copy."""
    same = " AND ".join(f"f.{f} = s.{s}" for f, s in zip(FACT_VALUES, STAGED_VALUES))
    return (
        f"SELECT COUNT(*), COUNT(f.invoice_id), SUM(CASE WHEN {same} THEN 1 ELSE 0 END)"
        f" FROM {staged} s LEFT JOIN fact_invoices f ON f.invoice_id = s.clean_invoice_id"
        f" WHERE {where}"
    )


def sales_deltas(where: str, *, warehouse_empty: bool, staged: str = STAGING) -> tuple[str, ...]:
    """Per day x customer x item x status: (old versions to subtract, new rows to add).

    Unchanged invoices contribute nothing. Run before the upsert.
    """
    keys = ("issue_date", "customer_key", "item_key", "status_key")
    measures = "COUNT(*), SUM({qty}), SUM({total})"
    old_keys = ", ".join(f"f.{k}" for k in keys)
    new_keys = ", ".join(f"s.{k}" for k in STAGED_VALUES[:4])
    added = (
        f"SELECT {new_keys}, {measures.format(qty='s.clean_qty', total='s.clean_total')}"
        f" FROM {staged} s {{join}} WHERE {{where}} GROUP BY " + new_keys
    )
    if warehouse_empty:
        return (added.format(join="", where=where),)
    same = " AND ".join(f"f.{f} = s.{s}" for f, s in zip(FACT_VALUES, STAGED_VALUES))
    join = "LEFT JOIN fact_invoices f ON f.invoice_id = s.clean_invoice_id"
    removed = (
        f"SELECT {old_keys}, {measures.format(qty='f.qty', total='f.total')} FROM {staged} s"
        f" JOIN fact_invoices f ON f.invoice_id = s.clean_invoice_id WHERE {where} AND NOT ({same})"
        f" GROUP BY {old_keys}"
    )
    changed = f"{where} AND (f.invoice_id IS NULL OR NOT ({same}))"
    return removed, added.format(join=join, where=changed)


def facts_upsert(vendor: str, where: str, staged: str = STAGING) -> str:
    """Insert new invoices, update changed ones; an identical one keeps the batch (and the line of
    its file) that wrote it."""
    columns = ", ".join(("invoice_id", *FACT_VALUES, "source_row", "batch_id"))
    select = (
        f"SELECT s.clean_invoice_id, {', '.join(f's.{c}' for c in STAGED_VALUES)}, s.source_row, s.batch_id"
        f" FROM {staged} s WHERE {where}"
    )
    if vendor == "mysql":
        same = " AND ".join(f"fact_invoices.{c} = VALUES({c})" for c in FACT_VALUES)
        updates = ", ".join(f"{c} = VALUES({c})" for c in FACT_VALUES)
        kept = ", ".join(
            f"{c} = IF({same}, fact_invoices.{c}, VALUES({c}))" for c in ("batch_id", "source_row")
        )
        return f"INSERT INTO fact_invoices ({columns}) {select} ON DUPLICATE KEY UPDATE {kept}, {updates}"
    same = " AND ".join(f"fact_invoices.{c} IS excluded.{c}" for c in FACT_VALUES)
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*FACT_VALUES, "source_row", "batch_id"))
    return (
        f"INSERT INTO fact_invoices ({columns}) {select}"
        f" ON CONFLICT (invoice_id) DO UPDATE SET {updates} WHERE NOT ({same})"
    )


def rejected_insert(vendor: str, where: str, staged: str = STAGING) -> str:
    """Rejected rows from staging; ``raw_record`` is the row as read, extra columns included.

    Params: (created_at, *params of ``where``).
    """
    pairs = ", ".join(f"'{c}', s.{c}" for c in RAW_COLUMNS)
    if vendor == "mysql":
        raw = f"JSON_OBJECT({pairs})"
        record = f"IF(s.extra IS NULL, {raw}, JSON_MERGE_PATCH({raw}, s.extra))"
        invoice_id = "NULLIF(LEFT(TRIM(s.invoice_id), 255), '')"
    else:
        raw = f"json_object({pairs})"
        record = f"CASE WHEN s.extra IS NULL THEN {raw} ELSE json_patch({raw}, s.extra) END"
        invoice_id = "NULLIF(substr(trim(s.invoice_id), 1, 255), '')"
    return (
        "INSERT INTO rejected_invoices (invoice_id, reason, detail, raw_record, batch_id,"
        " file_name, source_row, created_at)"
        f" SELECT {invoice_id}, s.reason, s.detail, {record}, s.batch_id, s.file_name,"
        f" s.source_row, %s FROM {staged} s WHERE {where} AND s.reason IS NOT NULL"
    )


# --- the sales aggregates' changes --------------------------------------------------------

SALES_DELTA_TABLE = "tmp_sales_delta"
_AGG_KEYS = ("customer_key", "item_key", "status_key")
_AGG_MEASURES = ("invoice_count", "qty", "revenue")
SALES_DELTA_INSERT = f"INSERT INTO {SALES_DELTA_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s)"


def sales_delta_table(vendor: str) -> list[str]:
    """(Re)create the connection's temporary table of signed per-day changes."""
    if vendor == "mysql":
        drop, create = f"DROP TEMPORARY TABLE IF EXISTS {SALES_DELTA_TABLE}", "CREATE TEMPORARY TABLE"
    else:
        drop, create = f"DROP TABLE IF EXISTS temp.{SALES_DELTA_TABLE}", "CREATE TEMP TABLE"
    return [
        drop,
        f"{create} {SALES_DELTA_TABLE} (day DATE NOT NULL, customer_key INTEGER NOT NULL,"
        " item_key INTEGER NOT NULL, status_key INTEGER NOT NULL, invoice_count BIGINT NOT NULL,"
        " qty BIGINT NOT NULL, revenue DECIMAL(18, 2) NOT NULL)",
    ]


SALES_TABLES = (("agg_daily_sales", "day"), ("agg_monthly_sales", "month"), ("agg_weekly_sales", "week"))
SALES_ANY = "SELECT 1 FROM agg_daily_sales LIMIT 1"


def sales_load_data(table: str, period: str) -> str:
    """LOAD DATA of changes straight into an empty aggregate table. Params: (path,)."""
    columns = ", ".join((period, *_AGG_KEYS, *_AGG_MEASURES))
    return f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 {CSV_FORMAT} ({columns})"


def _added_into(vendor: str, table: str, period: str, select: str) -> str:
    columns = ", ".join((period, *_AGG_KEYS, *_AGG_MEASURES))
    if vendor == "mysql":
        adds = ", ".join(f"{m} = {table}.{m} + VALUES({m})" for m in _AGG_MEASURES)
        return f"INSERT INTO {table} ({columns}) {select} ON DUPLICATE KEY UPDATE {adds}"
    adds = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in _AGG_MEASURES)
    return (
        f"INSERT INTO {table} ({columns}) SELECT * FROM ({select}) WHERE true"
        f" ON CONFLICT ({period}, {', '.join(_AGG_KEYS)}) DO UPDATE SET {adds}"
    )


def sales_deltas_merge(vendor: str, *, removals: bool) -> list[str]:
    """Add the delta table to ``agg_daily_sales``, ``agg_monthly_sales`` and ``agg_weekly_sales``.

    ``removals``: some changes were negative, so rows that reached zero are dropped.
    """
    keys = ", ".join(_AGG_KEYS)
    mysql = vendor == "mysql"
    month = "DATE_FORMAT(day, '%Y-%m-01')" if mysql else "date(day, 'start of month')"
    monday = "DATE_SUB(day, INTERVAL WEEKDAY(day) DAY)" if mysql else "date(day, 'weekday 0', '-6 days')"
    statements = [_added_into(vendor, "agg_daily_sales", "day", f"SELECT * FROM {SALES_DELTA_TABLE}")]
    for table, column, start in (("agg_monthly_sales", "month", month), ("agg_weekly_sales", "week", monday)):
        select = (
            f"SELECT {start}, {keys}, SUM(invoice_count), SUM(qty), SUM(revenue) FROM {SALES_DELTA_TABLE}"
        )
        statements.append(_added_into(vendor, table, column, f"{select} GROUP BY {start}, {keys}"))
    if removals:
        statements += [
            f"DELETE FROM {table} WHERE invoice_count = 0"
            for table in ("agg_daily_sales", "agg_monthly_sales", "agg_weekly_sales")
        ]
    return statements


def staged_count(where: str, staged: str = STAGING) -> str:
    return f"SELECT COUNT(*) FROM {staged} s WHERE {where}"
