"""The floor of a load on this database: the least a loader that writes the same file can do.

Two statements, timed on the warehouse database the load uses (so the same server, the
same settings, the same moment):

1. ``LOAD DATA LOCAL INFILE`` of the raw file into a staging table of nine text columns
   (plus an auto-increment key, as any staging table has);
2. one keyed, typed ``INSERT ... SELECT`` from it into a table created with the fact
   table's own definition (primary key on the invoice id, the same secondary indexes and
   foreign keys), casting the date and the amounts and joining the three dimensions.
   Rows whose date, keys or amounts do not cast are left out; a repeated invoice id keeps
   its first row (``INSERT IGNORE``).

The floor cleans nothing, rejects nothing with a reason, keeps no lineage and maintains
no aggregates: a load that does all of that can only approach it by overlapping its work.
Both tables are dropped afterwards.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlparse

RAW = (
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
_AMOUNT = "CAST(REPLACE(REPLACE(REPLACE(TRIM(s.{c}), 'USD', ''), '$', ''), ',', '') AS DECIMAL(14, 2))"
_DATE = (
    "COALESCE(STR_TO_DATE(s.issue_date, '%Y-%m-%d'), STR_TO_DATE(s.issue_date, '%Y/%m/%d'),"
    " STR_TO_DATE(s.issue_date, '%d/%m/%Y'))"
)
FLOOR_INSERT = (
    "INSERT IGNORE INTO floor_facts (invoice_id, issue_date, customer_key, item_key, status_key,"
    " qty, unit_price, total, batch_id)"
    f" SELECT t.* FROM (SELECT TRIM(s.invoice_id) AS invoice_id, {_DATE} AS issue_date,"
    " c.customer_key, i.item_key, st.status_key, CAST(s.qty AS SIGNED) AS qty,"
    f" {_AMOUNT.format(c='unit_price')} AS unit_price, {_AMOUNT.format(c='total')} AS total, 0 AS batch_id"
    " FROM floor_staging s"
    " JOIN dim_customer c ON c.customer_id = TRIM(s.customer_id)"
    " JOIN dim_item i ON i.item_description = TRIM(s.item_description)"
    " JOIN dim_status st ON st.status_name = TRIM(s.status)"
    " WHERE s.invoice_id <> '') t"
    " WHERE t.issue_date IS NOT NULL AND t.qty > 0 AND t.unit_price IS NOT NULL AND t.total IS NOT NULL"
)


def _connect(url: str):
    import MySQLdb

    parsed = urlparse(url)
    return MySQLdb.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 3306,
        user=parsed.username or "root",
        passwd=parsed.password or "",
        db=parsed.path.lstrip("/"),
        local_infile=1,
        autocommit=True,
    )


def _fact_table_ddl(cursor) -> str:
    """``fact_invoices``'s own definition, renamed (constraint names too: they are global)."""
    cursor.execute("SHOW CREATE TABLE fact_invoices")
    ddl = cursor.fetchone()[1]
    ddl = ddl.replace("CREATE TABLE `fact_invoices`", "CREATE TABLE `floor_facts`")
    return re.sub(r"CONSTRAINT `fact_invoices", "CONSTRAINT `floor_facts", ddl)


def floor_measure(url: str, path: Path) -> dict[str, float]:
    """Seconds of the floor's two statements for ``path``, on the (migrated) database of ``url``."""
    conn = _connect(url)
    cursor = conn.cursor()
    cursor.execute("SET SESSION sql_mode = ''")  # casts that fail give NULL, not an error
    cursor.execute("DROP TABLE IF EXISTS floor_facts, floor_staging")
    columns = ", ".join(f"{c} LONGTEXT NOT NULL" for c in RAW)
    cursor.execute(f"CREATE TABLE floor_staging (id BIGINT AUTO_INCREMENT PRIMARY KEY, {columns})")
    cursor.execute(_fact_table_ddl(cursor))
    try:
        started = time.perf_counter()
        cursor.execute(
            "LOAD DATA LOCAL INFILE %s INTO TABLE floor_staging CHARACTER SET utf8mb4"
            " FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''"
            f" LINES TERMINATED BY '\\n' IGNORE 1 LINES ({', '.join(RAW)})",
            [str(path)],
        )
        staged = time.perf_counter()
        cursor.execute(FLOOR_INSERT)
        inserted = cursor.rowcount
        done = time.perf_counter()
    finally:
        cursor.execute("DROP TABLE IF EXISTS floor_facts, floor_staging")
        conn.close()
    return {
        "floor_load_data": staged - started,
        "floor_insert_select": done - staged,
        "floor_seconds": done - started,
        "floor_rows": inserted,
    }
