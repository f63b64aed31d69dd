"""A re-processing's outcome, written in the merge's transaction (on the merger's connection):
which selected rows are resolved (a row each in ``rejected_resolutions``), which keep (or
change) their reason. What cleaning decided is known before the merge (``decided``): it is
written a chunk at a time while the merger waits for the chunk, or with the rest; the rows of
repeated ids once the merge has settled its staging rows. The batch's staging stays as the
settled lineage of the rows it staged (``ingestion.rejected.reprocess_rows`` reads it over
the load's own staging).

The merge wrote the batch's rejected rows as a load of the source file would have: for the
selected rows those records already exist, so the merge's copies are dropped and the
existing records updated (their ids and history stay); the others (a loaded row that an
earlier row now displaces: a duplicate) become rejected rows of the source load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd
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


def decided(frame: pd.DataFrame, selected: pd.DataFrame) -> tuple[list[int], list[tuple[int, str, str]]]:
    """Of ``frame``'s selected rows whose outcome cleaning decided (not those of repeated ids,
    which the merge settles): the records of those that load; (record, reason, detail) of
    those still rejected (``decided_record``)."""
    settled = frame[frame["dup_candidate"] == 0]
    loaded = settled.loc[settled["reason"].isna(), "source_row"]
    rejected = settled.loc[settled["reason"].notna(), ["source_row", "reason", "detail"]]
    records = selected.set_index("source_row")["rejected_id"]
    return (
        selected.loc[selected["source_row"].isin(loaded), "rejected_id"].tolist(),
        list(
            zip(
                records.reindex(rejected["source_row"]).astype(int).tolist(),
                rejected["reason"].tolist(),
                rejected["detail"].tolist(),
                strict=True,
            )
        ),
    )


def decided_record(
    *, batch_id: int, resolved_ids: list[int], rejected: list[tuple[int, str, str]], now
) -> None:
    """The selected records whose outcome cleaning decided: a resolution each for those that
    load, the new reason and detail of those still rejected (``ReprocessOutcome``'s fields)."""
    if resolved_ids:
        keys_insert(RECORDS_RESOLVE, sorted(resolved_ids), [batch_id, now], text=False)
    with connection.cursor() as cursor:
        for array in json_arrays(rejected, per_statement=_RECORDS_PER_STATEMENT):
            cursor.execute(rejected_update(connection.vendor), [array])


@dataclass
class ReprocessOutcome:
    batch_id: int
    source_batch_id: int
    # Records of selected rows that load (known before the merge), and (record, reason, detail)
    # of those still rejected; empty when written a chunk at a time (``decided_record``).
    resolved_ids: list[int]
    rejected: list[tuple[int, str, str]]
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
        decided_record(
            batch_id=self.batch_id, resolved_ids=self.resolved_ids, rejected=self.rejected, now=now
        )
        with connection.cursor() as cursor:
            if self.candidate_ids:
                keys_table(_IDS, self.candidate_ids, text=False)
                batches = [self.batch_id, self.source_batch_id]
                cursor.execute(CANDIDATES_RESOLVE, [self.batch_id, now, *batches])
                cursor.execute(candidates_update(vendor), batches)
            if self.other_rows:
                keys_table(_ROWS, self.other_rows, text=False)
                cursor.execute(MERGED_RECORDS_DROP, [self.batch_id])
            cursor.execute(RECORDS_MOVE, [self.source_batch_id, self.batch_id])


def outcome_of(
    frame: pd.DataFrame, selected: pd.DataFrame, *, batch_id: int, source_batch_id: int, decided_written: bool
) -> ReprocessOutcome:
    """What is known of the selected rows (``frame``: the rows staged, ``selected``: their
    ``source_row`` and ``rejected_id``) before the merge: reasons (and the details of those
    still rejected), except the repeated ids' rows (``dup_candidate``), which the merge
    settles; so which records are resolved (unless already written: ``decided_written``)."""
    mine = frame[frame["source_row"].isin(selected["source_row"])]
    settled = mine["dup_candidate"] == 0
    records = selected.set_index("source_row")["rejected_id"]
    candidates = mine.loc[~settled, "source_row"].astype(int)
    loaded = mine.loc[settled & mine["reason"].isna(), "source_row"]
    resolved_ids, rejected = ([], []) if decided_written else decided(mine, selected)
    return ReprocessOutcome(
        batch_id=batch_id,
        source_batch_id=source_batch_id,
        resolved_ids=resolved_ids,
        rejected=rejected,
        candidate_ids=records.reindex(candidates).astype(int).tolist(),
        candidate_rows=candidates.tolist(),
        other_rows=selected.loc[~selected["source_row"].isin(loaded), "source_row"].tolist(),
        reasons_known=Counter(mine.loc[settled, "reason"].tolist()),
    )
