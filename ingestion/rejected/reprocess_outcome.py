"""A re-processing's outcome, written in the merge's transaction (on the merger's connection)
once the merge has settled its staging rows: which selected rows are resolved, which keep
(or change) their reason. The batch's staging stays as the settled lineage of the rows it
staged (``ingestion.rejected.reprocess_rows`` reads it over the load's own staging).

The merge wrote the batch's rejected rows as a load of the source file would have: for the
selected rows those records already exist, so the merge's copies are dropped and the
existing records updated (their ids and history stay); the others (a loaded row that an
earlier row now displaces: a duplicate) become rejected rows of the source load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import connection

from ingestion.pipeline.sql import MARKS_JOIN, STAGED_DETAIL, STAGED_REASON
from ingestion.rejected.reprocess_keys import keys_table

_ROWS = "tmp_reprocessed_rows"  # source rows of the selected records not known resolved (column k)
_IDS = "tmp_reprocessed_ids"  # record ids (column k)
_CANDIDATES = "tmp_reprocessed_candidates"  # those the merge settled as repeated ids
# Params: (batch,).
CANDIDATE_REASONS = (
    f"SELECT {STAGED_REASON}, COUNT(*) FROM stg_invoices s {MARKS_JOIN}"
    f" WHERE s.batch_id = %s AND s.source_row IN (SELECT k FROM {_CANDIDATES}) GROUP BY {STAGED_REASON}"
)
# Params: (batch,): the merge's copies of the selected rows' records.
MERGED_RECORDS_DROP = (
    f"DELETE FROM rejected_invoices WHERE batch_id = %s AND source_row IN (SELECT k FROM {_ROWS})"
)
# Params: (source batch, batch): the records left are rows of the source load.
RECORDS_MOVE = "UPDATE rejected_invoices SET batch_id = %s WHERE batch_id = %s"
# Params: (now, batch): the records of the rows the load's rules now pass, by id (the primary
# key, in its order): no staging read. Each grows by its resolution, so this is the costly write.
RECORDS_RESOLVE = {
    "mysql": f"UPDATE rejected_invoices j JOIN {_IDS} t ON t.k = j.id"
    " SET j.resolved_at = %s, j.resolved_by_batch_id = %s WHERE j.resolved_at IS NULL",
    "sqlite": "UPDATE rejected_invoices SET resolved_at = %s, resolved_by_batch_id = %s"
    f" WHERE id IN (SELECT k FROM {_IDS}) AND resolved_at IS NULL",
}


def records_update(vendor: str) -> str:
    """The other selected records (still rejected, or repeated ids the merge settled): the
    reason and detail the merge gave their staged row; resolved if it loaded. By id.

    Params: ``records_params``.
    """
    if vendor == "mysql":
        return (
            f"UPDATE rejected_invoices j JOIN {_IDS} t ON t.k = j.id"
            f" JOIN stg_invoices s ON s.batch_id = %s AND s.source_row = j.source_row {MARKS_JOIN}"
            f" SET j.resolved_at = CASE WHEN {STAGED_REASON} IS NULL THEN %s END,"
            f" j.resolved_by_batch_id = CASE WHEN {STAGED_REASON} IS NULL THEN %s END,"
            f" j.reason = COALESCE({STAGED_REASON}, j.reason), j.detail = COALESCE({STAGED_DETAIL}, j.detail)"
            " WHERE j.batch_id = %s AND j.resolved_at IS NULL"
        )
    return (
        f"UPDATE rejected_invoices AS j SET resolved_at = CASE WHEN {STAGED_REASON} IS NULL THEN %s END,"
        f" resolved_by_batch_id = CASE WHEN {STAGED_REASON} IS NULL THEN %s END,"
        f" reason = COALESCE({STAGED_REASON}, j.reason), detail = COALESCE({STAGED_DETAIL}, j.detail)"
        f" FROM stg_invoices AS s {MARKS_JOIN} WHERE s.batch_id = %s AND s.source_row = j.source_row"
        f" AND j.batch_id = %s AND j.resolved_at IS NULL AND j.id IN (SELECT k FROM {_IDS})"
    )


def records_params(vendor: str, *, now, batch_id: int, source_batch_id: int) -> list:
    if vendor == "mysql":
        return [batch_id, now, batch_id, source_batch_id]
    return [now, batch_id, batch_id, source_batch_id]


@dataclass
class ReprocessOutcome:
    batch_id: int
    source_batch_id: int
    resolved_ids: list[int]  # records of selected rows that load (known before the merge)
    other_ids: list[int]  # the other selected records: still rejected, or settled by the merge
    other_rows: list[int]  # their source rows
    reasons_known: Counter  # reason (None: loaded) -> selected rows, but for the candidates
    candidate_rows: list[int]  # selected rows of repeated ids: the merge settles them

    def reasons(self) -> Counter:
        """Selected rows per final reason (None: loaded)."""
        reasons = Counter(self.reasons_known)
        if self.candidate_rows:
            keys_table(_CANDIDATES, self.candidate_rows, text=False)
            with connection.cursor() as cursor:
                cursor.execute(CANDIDATE_REASONS, [self.batch_id])
                reasons.update(dict(cursor.fetchall()))
        return reasons

    def record(self, *, now) -> None:
        """Write the outcome to the rejected rows."""
        vendor = connection.vendor
        with connection.cursor() as cursor:
            if self.resolved_ids:
                keys_table(_IDS, self.resolved_ids, text=False)
                cursor.execute(RECORDS_RESOLVE[vendor], [now, self.batch_id])
            if self.other_ids:
                keys_table(_IDS, self.other_ids, text=False)
                keys_table(_ROWS, self.other_rows, text=False)
                params = records_params(
                    vendor, now=now, batch_id=self.batch_id, source_batch_id=self.source_batch_id
                )
                cursor.execute(records_update(vendor), params)
                cursor.execute(MERGED_RECORDS_DROP, [self.batch_id])
            cursor.execute(RECORDS_MOVE, [self.source_batch_id, self.batch_id])
