"""A re-processing's outcome, written in the merge's transaction (on the merger's connection)
once the merge has settled its staging rows: which selected rows are resolved (a row each
in ``rejected_resolutions``), which keep (or change) their reason. The batch's staging stays
as the settled lineage of the rows it staged (``ingestion.rejected.reprocess_rows`` reads it
over the load's own staging).

The merge wrote the batch's rejected rows as a load of the source file would have: for the
selected rows those records already exist, so the merge's copies are dropped and the
existing records updated (their ids and history stay); the others (a loaded row that an
earlier row now displaces: a duplicate) become rejected rows of the source load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import connection

from ingestion.pipeline.sql import MARKS_JOIN, RESOLUTIONS, STAGED_DETAIL, STAGED_REASON, unresolved
from ingestion.rejected.reprocess_keys import json_arrays, keys_insert, keys_table

_ROWS = "tmp_reprocessed_rows"  # source rows of the selected records not known resolved (column k)
_IDS = "tmp_reprocessed_ids"  # ids of the candidates' records (column k)
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
# The rows the load's rules now pass, by id (``keys_insert``; params: batch, now): no staging
# read. A narrow row each in the resolutions' table; the wide rejected rows are not rewritten.
_RESOLVE = f"INSERT INTO {RESOLUTIONS} (rejected_id, batch_id, resolved_at)"
RECORDS_RESOLVE = f"{_RESOLVE} SELECT {{key}}, %s, %s FROM {{keys}}"
# Params: (batch, now, batch, source batch): the selected records of repeated ids whose
# staged row the merge loaded (its row now wins).
CANDIDATES_RESOLVE = (
    f"{_RESOLVE} SELECT j.id, %s, %s FROM {_IDS} t JOIN rejected_invoices j ON j.id = t.k"
    f" JOIN stg_invoices s ON s.batch_id = %s AND s.source_row = j.source_row {MARKS_JOIN}"
    f" WHERE j.batch_id = %s AND {STAGED_REASON} IS NULL AND {unresolved('j')}"
)
_RECORDS_PER_STATEMENT = 20_000  # (id, reason, detail) triples: one JSON array well under the packet


def candidates_update(vendor: str) -> str:
    """The selected records of repeated ids the merge kept rejected: the reason and detail
    it gave their staged row. By id. Params: (batch, source batch)."""
    if vendor == "mysql":
        return (
            f"UPDATE rejected_invoices j JOIN {_IDS} t ON t.k = j.id"
            f" JOIN stg_invoices s ON s.batch_id = %s AND s.source_row = j.source_row {MARKS_JOIN}"
            f" SET j.reason = {STAGED_REASON}, j.detail = COALESCE({STAGED_DETAIL}, j.detail)"
            f" WHERE j.batch_id = %s AND {STAGED_REASON} IS NOT NULL AND {unresolved('j')}"
        )
    return (
        f"UPDATE rejected_invoices AS j SET reason = {STAGED_REASON},"
        f" detail = COALESCE({STAGED_DETAIL}, j.detail) FROM stg_invoices AS s {MARKS_JOIN}"
        " WHERE s.batch_id = %s AND s.source_row = j.source_row"
        f" AND j.batch_id = %s AND {STAGED_REASON} IS NOT NULL AND {unresolved('j')}"
        f" AND j.id IN (SELECT k FROM {_IDS})"
    )


def rejected_update(vendor: str) -> str:
    """The selected records still rejected, their new reason and detail known before the merge
    (cleaning gave them): from one JSON array of ``[id, reason, detail]``, no staging read.
    Params: (array,)."""
    if vendor == "mysql":
        records = (
            "JSON_TABLE(%s, '$[*]' COLUMNS (k BIGINT PATH '$[0]', reason VARCHAR(32) PATH '$[1]',"
            " detail LONGTEXT PATH '$[2]')) t"
        )
        return (
            f"UPDATE rejected_invoices j JOIN {records} ON t.k = j.id"
            f" SET j.reason = t.reason, j.detail = COALESCE(t.detail, j.detail) WHERE {unresolved('j')}"
        )
    records = "(SELECT value ->> 0 AS k, value ->> 1 AS reason, value ->> 2 AS detail FROM json_each(%s)) t"
    return (
        f"UPDATE rejected_invoices AS j SET reason = t.reason, detail = COALESCE(t.detail, j.detail)"
        f" FROM {records}"
        f" WHERE t.k = j.id AND {unresolved('j')}"
    )


@dataclass
class ReprocessOutcome:
    batch_id: int
    source_batch_id: int
    resolved_ids: list[int]  # records of selected rows that load (known before the merge)
    rejected: list[tuple[int, str, str]]  # (record, reason, detail) of those still rejected
    candidate_ids: list[int]  # records of selected rows of repeated ids: the merge settles them
    candidate_rows: list[int]  # their source rows
    other_rows: list[int]  # source rows of every selected record not resolved before the merge
    reasons_known: Counter  # reason (None: loaded) -> selected rows, but for the candidates

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
                keys_insert(RECORDS_RESOLVE, sorted(self.resolved_ids), [self.batch_id, now], text=False)
            for array in json_arrays(self.rejected, per_statement=_RECORDS_PER_STATEMENT):
                cursor.execute(rejected_update(vendor), [array])
            if self.candidate_ids:
                keys_table(_IDS, self.candidate_ids, text=False)
                batches = [self.batch_id, self.source_batch_id]
                cursor.execute(CANDIDATES_RESOLVE, [self.batch_id, now, *batches])
                cursor.execute(candidates_update(vendor), batches)
            if self.other_rows:
                keys_table(_ROWS, self.other_rows, text=False)
                cursor.execute(MERGED_RECORDS_DROP, [self.batch_id])
            cursor.execute(RECORDS_MOVE, [self.source_batch_id, self.batch_id])
