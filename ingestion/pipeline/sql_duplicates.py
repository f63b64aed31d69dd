"""The statements that settle a batch's repeated invoice ids (``duplicates``), for
MySQL/MariaDB and SQLite.

The maybe-seen rows are kept in ``CANDIDATE_ROWS`` (of this batch only) as the merge goes,
from each chunk (or from staging, for the rows merged from there), marked there at the end,
and their marks added to ``MARKS``: staging's wide rows, scattered through a table larger
than the server's buffer pool, are neither read back nor rewritten.
An id's first row, when it is not itself a candidate, is known by its ``raw_fingerprint``,
read with its id by the stager.

Values always go as parameters; the rest of the load's SQL is in ``sql``.
"""

from ingestion.pipeline.columns import RAW_COLUMNS
from ingestion.pipeline.rules import DUPLICATE_INVOICE_ID
from ingestion.pipeline.sql import MARKS

CANDIDATE_ROWS = "tmp_candidate_rows"
_TABLES = {
    # first_fingerprint: the first row's ``raw_fingerprint`` when that row is not a candidate
    "tmp_duplicates": "(source_row BIGINT PRIMARY KEY, first_row BIGINT NOT NULL, first_fingerprint TEXT)",
    "tmp_deferred": "(source_row BIGINT PRIMARY KEY)",
}


def _temporary(vendor: str) -> tuple[str, str]:
    """How the vendor drops (the name follows) and creates a temporary table."""
    if vendor == "mysql":
        return "DROP TEMPORARY TABLE IF EXISTS ", "CREATE TEMPORARY TABLE"
    return "DROP TABLE IF EXISTS temp.", "CREATE TEMP TABLE"


def candidate_rows_create(vendor: str) -> list[str]:
    """(Re)create ``CANDIDATE_ROWS``, empty, with the columns of staging (at the merge's start)."""
    drop, create = _temporary(vendor)
    if vendor == "mysql":
        return [f"{drop}{CANDIDATE_ROWS}", f"{create} {CANDIDATE_ROWS} LIKE stg_invoices"]
    return [
        f"{drop}{CANDIDATE_ROWS}",
        f"{create} {CANDIDATE_ROWS} AS SELECT * FROM stg_invoices WHERE 0",
        f"CREATE UNIQUE INDEX temp.{CANDIDATE_ROWS}_row ON {CANDIDATE_ROWS} (source_row)",
    ]


def candidate_rows_copy(where: str) -> str:
    """The candidates among the staged rows matching ``where`` into ``CANDIDATE_ROWS`` (rows
    merged from staging; the merge copies a chunk's from the chunk itself)."""
    return (
        f"INSERT INTO {CANDIDATE_ROWS} SELECT s.* FROM stg_invoices s WHERE {where} AND s.dup_candidate = 1"
    )


def candidate_tables(vendor: str) -> list[str]:
    """(Re)create the temporary tables of the settling: the later rows (duplicates) and the
    other candidates (deferred)."""
    drop, create = _temporary(vendor)
    return [f"{drop}{name}" for name in _TABLES] + [
        f"{create} {name} {cols}" for name, cols in _TABLES.items()
    ]


DUPLICATE_INSERT = "INSERT INTO tmp_duplicates (source_row, first_row, first_fingerprint) VALUES (%s, %s, %s)"
DEFERRED_INSERT = "INSERT INTO tmp_deferred (source_row) VALUES (%s)"


def raw_fingerprint(vendor: str, alias: str = "s") -> str:
    """One text per staged row, equal for two rows only when every raw value is byte for byte
    the same (extra columns included; a NULL differs from any text)."""
    values = ", ".join(f"{alias}.{c}" for c in (*RAW_COLUMNS, "extra"))
    return f"SHA2(JSON_ARRAY({values}), 256)" if vendor == "mysql" else f"json_array({values})"


def staged_ids(vendor: str, rows: int) -> str:
    """(source row, cleaned invoice id, ``raw_fingerprint``) of some staged rows of a batch.

    Params: (batch_id, *rows)."""
    marks = ", ".join(["%s"] * rows)
    return (
        f"SELECT s.source_row, s.clean_invoice_id, {raw_fingerprint(vendor)} FROM stg_invoices s"
        f" WHERE s.batch_id = %s AND s.source_row IN ({marks})"
    )


# The candidates to merge, and the later rows, in ``CANDIDATE_ROWS``. Params: (batch_id,).
DEFERRED_FILTER = "s.batch_id = %s AND s.source_row IN (SELECT source_row FROM tmp_deferred)"
DUPLICATES_FILTER = "s.batch_id = %s AND s.source_row IN (SELECT source_row FROM tmp_duplicates)"


def duplicates_mark(vendor: str) -> str:
    """Mark the rows of ``tmp_duplicates`` in ``CANDIDATE_ROWS``: the detail names the first
    row and says whether the two rows are identical."""
    said = f"'{DUPLICATE_INVOICE_ID}: invoice_id '''"
    same = f"{raw_fingerprint(vendor, 's')} = COALESCE(t.first_fingerprint, {raw_fingerprint(vendor, 'f')})"
    if vendor == "mysql":
        return (
            f"UPDATE {CANDIDATE_ROWS} s JOIN tmp_duplicates t ON s.source_row = t.source_row"
            f" LEFT JOIN {CANDIDATE_ROWS} f ON f.batch_id = s.batch_id AND f.source_row = t.first_row"
            f" SET s.reason = '{DUPLICATE_INVOICE_ID}', s.detail = CONCAT({said}, s.clean_invoice_id,"
            " ''' was already loaded from row ', t.first_row,"
            f" IF({same}, ' (identical row)', ' (the rows differ)'))"
        )
    return (
        f"UPDATE {CANDIDATE_ROWS} AS s SET reason = '{DUPLICATE_INVOICE_ID}', detail ="
        f" {said} || s.clean_invoice_id || ''' was already loaded from row ' || t.first_row ||"
        f" CASE WHEN {same} THEN ' (identical row)' ELSE ' (the rows differ)' END"
        f" FROM tmp_duplicates AS t LEFT JOIN {CANDIDATE_ROWS} AS f ON f.source_row = t.first_row"
        " WHERE s.source_row = t.source_row"
    )


MARKS_INSERT = (
    f"INSERT INTO {MARKS} (batch_id, source_row, reason, detail)"
    f" SELECT s.batch_id, s.source_row, s.reason, s.detail FROM {CANDIDATE_ROWS} s"
    " WHERE s.source_row IN (SELECT source_row FROM tmp_duplicates)"
)
