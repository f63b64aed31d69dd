"""The merger's writes inside a batch's transaction, once the warehouse's write lock is held.

Valid rows go straight from the chunk to ``fact_invoices`` (their invoices' existing
versions read by key first); where ``LOAD DATA`` is unavailable, and for the rows staged
while another load held the lock, they are merged from staging. Rejected rows go to
``rejected_invoices``. Each merge is counted before it
writes (``MergeCounts``: inserted, updated, unchanged) and its effect on the sales
aggregates collected (``SalesChanges``), from the facts as they are at that point of the
serial order of the loads. ``load.BatchWriter`` runs these steps on its merger lane.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import OperationalError, connection

from ingestion.pipeline import aggregates, bulk, duplicates, fact_changes, sql, sql_duplicates, sql_facts
from ingestion.pipeline.aggregate_changes import SalesChanges
from ingestion.pipeline.fact_changes import FACT_SOURCE
from ingestion.pipeline.rejected import rejected_rows

FACTS_READ_IDS = 10_000  # invoice ids per read of existing facts
# A load's file is hashed as it is read: until the end its sha256 is this, and the rejected
# rows of earlier loads of the file are replaced then (``file_hashed``).
FILE_SHA256_PENDING = "-" * 64


@dataclass
class MergeCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0

    def add(self, *, rows: int, existing: int, unchanged: int) -> None:
        self.inserted += rows - existing
        self.updated += existing - unchanged
        self.unchanged += unchanged


@dataclass
class FactsMerge:
    """One batch's merge steps, on the merger's connection, in the batch's transaction."""

    batch_id: int
    file_name: str
    file_sha256: str
    created_at: Any  # already adapted for the database
    dry_run: bool
    bulk: bulk.BulkWriter
    timed: Callable[[str], AbstractContextManager]  # times a step under a label
    counts: MergeCounts
    sales: SalesChanges = field(default_factory=SalesChanges)  # for the aggregates
    # A load replaces the unresolved rejected rows of earlier loads of its file; a
    # re-processing replaces only the rows it re-processes (``ingestion.rejected.reprocess_run``).
    rejected_replace: bool = True

    def __post_init__(self) -> None:
        self.vendor = connection.vendor
        self.warehouse_empty = False
        self.aggregates_empty = False

    def begin(self) -> None:
        """Note whether the warehouse is empty; clear the rejected rows of earlier loads of the
        file; start the copy of the candidate rows (``sql_duplicates.CANDIDATE_ROWS``)."""
        with connection.cursor() as cursor:
            for statement in sql_duplicates.candidate_rows_create(self.vendor):
                cursor.execute(statement)
            cursor.execute(sql.FACTS_ANY)
            self.warehouse_empty = cursor.fetchone() is None
            cursor.execute(sql.SALES_ANY)
            self.aggregates_empty = self.warehouse_empty and cursor.fetchone() is None
        if self.file_sha256 != FILE_SHA256_PENDING:
            self._rejected_of_file_clear()

    def file_hashed(self, sha256: str) -> None:
        """The file was read to its end: the rejected rows of earlier loads of it replaced (the
        batch row, which holds the sha256 for its rejected rows, is written at the commit)."""
        pending, self.file_sha256 = self.file_sha256, sha256
        if pending == FILE_SHA256_PENDING:
            self._rejected_of_file_clear()

    def _rejected_of_file_clear(self) -> None:
        if self.dry_run or not self.rejected_replace:
            return
        with connection.cursor() as cursor:
            cursor.execute(sql.BATCHES_OF_FILE, [self.file_sha256, self.batch_id])
            batch_ids = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(batch_ids), 500):
                part = batch_ids[start : start + 500]
                cursor.execute(sql.rejected_clear(len(part)), part)

    def chunk_merge(
        self, frame: pd.DataFrame, rows: tuple[int, int], staged: Future, made: ChunkMade
    ) -> None:
        """A cleaned chunk: its certainly-new valid rows into the facts, its rejected rows
        (``made``: from ``chunk_made``)."""
        try:
            with self.timed("db_facts"):
                if self._facts_write(frame, made):
                    self._candidates_keep(frame)
                else:
                    staged.result()  # merging from staging needs the chunk there
                    self._merge(sql.CHUNK_FILTER, (self.batch_id, *rows), certain=True)
                    self._candidates_copy((self.batch_id, *rows))
        finally:
            if made.facts_file is not None:
                made.facts_file.unlink(missing_ok=True)
        if made.rejected is not None:
            with self.timed("db_rejected"):
                self.bulk.frame_write(
                    made.rejected,
                    table="rejected_invoices",
                    load_sql=sql.rejected_load_data(),
                    insert_sql=sql.REJECTED_INSERT,
                    constants=(self.batch_id, self.file_name, self.created_at),
                )

    def staged_merge(self, rows: tuple[int, int]) -> None:
        """The rows staged while another load held the lock: merged from staging."""
        params = (self.batch_id, *rows)
        with self.timed("db_facts"):
            self._merge(sql.CHUNK_FILTER, params, certain=True)
            self._candidates_copy(params)
        if not self.dry_run:
            with self.timed("db_rejected"), connection.cursor() as cursor:
                statement = sql.rejected_insert(self.vendor, sql.CHUNK_FILTER)
                cursor.execute(statement, [self.created_at, *params])

    def _candidates_keep(self, frame: pd.DataFrame) -> None:
        """The chunk's candidate rows into the copy, as staging has them (the same chunk file)."""
        self.bulk.frame_write(
            frame.loc[frame["dup_candidate"] == 1],
            table=sql_duplicates.CANDIDATE_ROWS,
            load_sql=sql.staging_load_data(sql_duplicates.CANDIDATE_ROWS),
            insert_sql=sql.staging_insert(sql_duplicates.CANDIDATE_ROWS),
            constants=(self.batch_id, self.file_name, self.created_at),
        )

    def _candidates_copy(self, chunk: tuple[int, int, int]) -> None:
        """The candidate rows of a chunk merged from staging (``sql.CHUNK_FILTER``) into the copy."""
        with connection.cursor() as cursor:
            cursor.execute(sql_duplicates.candidate_rows_copy(sql.CHUNK_FILTER), chunk)

    def duplicates_settle(self, candidates: pd.DataFrame, first: duplicates.FirstRows) -> None:
        """First valid occurrence wins: mark the later ones, merge the rest of the candidates."""
        self.counts.duplicates = duplicates.later_rows_mark(self.vendor, candidates, first)
        staged = sql_duplicates.CANDIDATE_ROWS
        self._merge(sql_duplicates.DEFERRED_FILTER, [self.batch_id], certain=False, staged=staged)
        if not self.dry_run and self.counts.duplicates:
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.rejected_insert(self.vendor, sql_duplicates.DUPLICATES_FILTER, staged),
                    [self.created_at, self.batch_id],
                )

    def aggregates_add(self) -> None:
        """Add the changes collected so far to the sales aggregates."""
        self.sales.apply(self.bulk, self.vendor, empty=self.aggregates_empty)
        self.aggregates_empty = False

    def _merge(self, where: str, params, *, certain: bool, staged: str = sql.STAGING) -> None:
        """Count then upsert the valid rows matching ``where`` (certain: not maybe-duplicates),
        read from ``staged``."""
        where = f"{where} AND s.reason IS NULL AND s.dup_candidate = {0 if certain else 1}"
        with connection.cursor() as cursor:
            if self.warehouse_empty:
                cursor.execute(sql.staged_count(where, staged), params)
                self.counts.add(rows=cursor.fetchone()[0], existing=0, unchanged=0)
            else:
                cursor.execute(sql.merge_preview(where, staged), params)
                rows, existing, unchanged = (int(v or 0) for v in cursor.fetchone())
                self.counts.add(rows=rows, existing=existing, unchanged=unchanged)
            if not self.dry_run:
                statements = sql.sales_deltas(where, warehouse_empty=self.warehouse_empty, staged=staged)
                for sign, statement in zip((1,) if len(statements) == 1 else (-1, 1), statements):
                    cursor.execute(statement, params)
                    self.sales.add(aggregates.from_grouped_rows(cursor.fetchall(), sign))
                cursor.execute(sql.facts_upsert(self.vendor, where, staged), params)

    def chunk_made(self, frame: pd.DataFrame, *, locked: bool, absent: pd.Series | None = None) -> ChunkMade:
        """What the caller's thread makes of a chunk for ``chunk_merge`` while the merger still
        writes the previous one: its rejected rows, its certainly-new valid rows and, once the
        merger began (``locked``), the ``LOAD DATA`` file of those whose invoices are known to
        be new (nothing to read first): all of them when the merger found the warehouse empty,
        else those ``absent`` marks (the caller read, under the lock, that the warehouse lacks
        their invoice ids)."""
        if self.dry_run:
            return ChunkMade(rejected=None)
        made = ChunkMade(rejected=rejected_rows(frame))
        if not self.bulk.local_infile:
            return made
        made.valid = valid = _certain_valid(frame)
        if not (locked and (self.warehouse_empty or absent is not None)):
            return made
        if absent is not None and not self.warehouse_empty:
            valid = valid.loc[absent.reindex(valid.index, fill_value=False).to_numpy(dtype=bool)]
        if len(valid):
            made.facts_file = bulk.csv_write(valid, self.bulk.tmp_dir, "fact_invoices")
            made.new_rows = valid.index
            made.sales = aggregates.SalesTotals()  # summed here: the merger only adds the sums
            made.sales.add(aggregates.from_new_invoices(valid))
        return made

    def _facts_write(self, frame: pd.DataFrame, made: ChunkMade) -> bool:
        """The chunk's certainly-new valid rows, straight from the chunk (MySQL/MariaDB with
        ``LOAD DATA``): those ``chunk_made`` made a file of are loaded from it; the existing
        versions of the others' invoices are read by key, new invoices loaded as they are,
        changed ones written over theirs, identical ones left alone. False when the writes
        must go through staging instead."""
        if not self.bulk.local_infile:
            return False
        valid = _certain_valid(frame) if made.valid is None else made.valid
        known = valid.index.isin(made.new_rows)
        rest = valid.loc[~known]
        existing = [] if self.warehouse_empty or rest.empty else self._facts_read(rest)
        changes = fact_changes.facts_compare(rest, existing)
        if not self.dry_run:
            load_sql, batch = sql.facts_load_data(), (self.batch_id,)
            made_loaded = made.facts_file is not None and self.bulk.file_load(
                made.facts_file, int(known.sum()), table="fact_invoices", load_sql=load_sql, constants=batch
            )
            if made.facts_file is not None and not made_loaded:
                return False  # LOAD DATA refused: nothing written yet
            if not self.bulk.frame_write(
                changes.new, table="fact_invoices", load_sql=load_sql, insert_sql=None, constants=batch
            ):
                if made_loaded:  # refused right after it was allowed: the batch is tried again
                    raise OperationalError(bulk.LOAD_CONFLICT, "LOAD DATA refused part way through a chunk")
                return False
            if len(changes.changed):
                self._changes_write(changes.changed)
            if made.sales is not None:  # the rows ``known`` to be new, summed by ``chunk_made``
                self.sales.add_totals(made.sales)
            if len(changes.new):
                self.sales.add(aggregates.from_new_invoices(changes.new))
            if len(changes.changed):
                self.sales.add(aggregates.from_new_invoices(changes.changed))
                self.sales.add(aggregates.from_new_invoices(changes.old, sign=-1))
        self.counts.add(rows=len(valid), existing=changes.existing, unchanged=changes.unchanged)
        return True

    def _facts_read(self, valid: pd.DataFrame) -> list[tuple[str, str]]:
        """The warehouse's rows for the chunk's invoice ids, read by primary key: (id, text)."""
        ids = valid["clean_invoice_id"].tolist()
        found: list[tuple] = []
        with connection.cursor() as cursor:
            for start in range(0, len(ids), FACTS_READ_IDS):
                part = ids[start : start + FACTS_READ_IDS]
                cursor.execute(sql_facts.facts_read(len(part)), part)
                found += cursor.fetchall()
        return found

    def _changes_write(self, changed: pd.DataFrame) -> None:
        with connection.cursor() as cursor:
            for statement in sql_facts.FACT_CHANGES_CREATE:
                cursor.execute(statement)
        self.bulk.frame_write(
            changed,
            table=sql_facts.FACT_CHANGES_TABLE,
            load_sql=sql_facts.fact_changes_load_data(),
            insert_sql=None,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql_facts.fact_changes_write(), [self.batch_id])


def _certain_valid(frame: pd.DataFrame) -> pd.DataFrame:
    """A chunk's valid rows whose invoice id is certainly new to the file: their fact columns."""
    return frame.loc[frame["reason"].isna() & (frame["dup_candidate"] == 0), [*FACT_SOURCE, "source_row"]]


@dataclass
class ChunkMade:
    """What the caller's thread made of a chunk for the merger, beside the chunk itself."""

    rejected: pd.DataFrame | None  # its rejected rows (``rejected.rejected_rows``); None: a dry run
    valid: pd.DataFrame | None = None  # its certainly-new valid rows (``_certain_valid``)
    facts_file: Path | None = None  # those known to be new invoices, for ``LOAD DATA``
    new_rows: pd.Index = field(default_factory=lambda: pd.Index([]))  # those rows' labels in the chunk
    sales: aggregates.SalesTotals | None = None  # what those rows add to the aggregates
