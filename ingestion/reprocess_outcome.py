"""A re-processing's outcome, written in the merge's transaction (on the merger's connection)
once the merge has settled its staging rows: which selected rows are resolved, which keep
(or change) their reason, and the source load's lineage brought up to date.

The merge wrote the batch's rejected rows as a load of the source file would have: for the
selected rows those records already exist, so they are dropped and the existing records
updated (their ids and history stay); the others (a loaded row that an earlier row now
displaces: a duplicate) become rejected rows of the source load.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from ingestion.pipeline import bulk

_TMP = "tmp_reprocessed"
_COPIED = (
    "reason",
    "detail",
    "clean_invoice_id",
    "clean_issue_date",
    "customer_key",
    "item_key",
    "status_key",
    "clean_qty",
    "clean_unit_price",
    "clean_total",
)


def _tmp_table(vendor: str) -> list[str]:
    if vendor == "mysql":
        return [f"DROP TEMPORARY TABLE IF EXISTS {_TMP}", f"CREATE TEMPORARY TABLE {_TMP} (source_row BIGINT PRIMARY KEY)"]
    return [f"DROP TABLE IF EXISTS temp.{_TMP}", f"CREATE TEMP TABLE {_TMP} (source_row BIGINT PRIMARY KEY)"]


_SELECTED = f"s.batch_id = %s AND s.source_row IN (SELECT source_row FROM {_TMP})"
REASONS = f"SELECT s.reason, COUNT(*) FROM stg_invoices s WHERE {_SELECTED} GROUP BY s.reason"
# Params: (batch_id,): the merge's records of the selected rows.
MERGED_RECORDS_DROP = f"DELETE FROM rejected_invoices WHERE batch_id = %s AND source_row IN (SELECT source_row FROM {_TMP})"
# Params: (source batch, batch): the other records are the source load's rows.
RECORDS_MOVE = "UPDATE rejected_invoices SET batch_id = %s WHERE batch_id = %s"


def records_update(vendor: str) -> str:
    """Resolve the selected rows that passed; the others take their new reason and detail.

    Params: ``records_params``.
    """
    if vendor == "mysql":
        return (
            f"UPDATE rejected_invoices j JOIN {_TMP} t ON t.source_row = j.source_row"
            " JOIN stg_invoices s ON s.batch_id = %s AND s.source_row = j.source_row"
            " SET j.resolved_at = CASE WHEN s.reason IS NULL THEN %s END,"
            " j.resolved_by_batch_id = CASE WHEN s.reason IS NULL THEN %s END,"
            " j.reason = COALESCE(s.reason, j.reason), j.detail = COALESCE(s.detail, j.detail)"
            " WHERE j.batch_id = %s AND j.resolved_at IS NULL"
        )
    return (
        "UPDATE rejected_invoices AS j SET resolved_at = CASE WHEN s.reason IS NULL THEN %s END,"
        " resolved_by_batch_id = CASE WHEN s.reason IS NULL THEN %s END,"
        " reason = COALESCE(s.reason, j.reason), detail = COALESCE(s.detail, j.detail)"
        " FROM stg_invoices AS s WHERE s.batch_id = %s AND s.source_row = j.source_row"
        f" AND j.batch_id = %s AND j.resolved_at IS NULL AND j.source_row IN (SELECT source_row FROM {_TMP})"
    )


def records_params(vendor: str, *, now, batch_id: int, source_batch_id: int) -> list:
    if vendor == "mysql":
        return [batch_id, now, batch_id, source_batch_id]
    return [now, batch_id, batch_id, source_batch_id]


def lineage_copy(vendor: str) -> str:
    """The source load's staging rows take the settled state of the batch's. Params: (batch, source)."""
    if vendor == "mysql":
        sets = ", ".join(f"b.{c} = r.{c}" for c in _COPIED)
        return (
            "UPDATE stg_invoices b JOIN stg_invoices r ON r.batch_id = %s AND r.source_row = b.source_row"
            f" SET {sets} WHERE b.batch_id = %s"
        )
    sets = ", ".join(f"{c} = r.{c}" for c in _COPIED)
    return (
        f"UPDATE stg_invoices AS b SET {sets} FROM stg_invoices AS r"
        " WHERE r.batch_id = %s AND r.source_row = b.source_row AND b.batch_id = %s"
    )


@dataclass
class ReprocessOutcome:
    batch_id: int
    source_batch_id: int
    selected_rows: list[int]  # the source rows re-processed (the others staged are its loaded rows)

    def reasons(self) -> dict[str | None, int]:
        """Rows per final reason (None: loaded), over the selected rows; creates the row table."""
        vendor = connection.vendor
        with connection.cursor() as cursor:
            for statement in _tmp_table(vendor):
                cursor.execute(statement)
            bulk.rows_insert(f"INSERT INTO {_TMP} (source_row) VALUES (%s)", [(r,) for r in self.selected_rows])
            cursor.execute(REASONS, [self.batch_id])
            return dict(cursor.fetchall())

    def record(self, *, now) -> None:
        """Write the outcome to the rejected rows and the source load's staging (after ``reasons``)."""
        vendor = connection.vendor
        with connection.cursor() as cursor:
            params = records_params(vendor, now=now, batch_id=self.batch_id, source_batch_id=self.source_batch_id)
            cursor.execute(records_update(vendor), params)
            cursor.execute(MERGED_RECORDS_DROP, [self.batch_id])
            cursor.execute(RECORDS_MOVE, [self.source_batch_id, self.batch_id])
            cursor.execute(lineage_copy(vendor), [self.batch_id, self.source_batch_id])
