"""One run of a re-processing batch: the selected rejected rows of one load, validated
again with the load's rules and merged by the load's merge as rows of that load's file.

The run is a ``BatchRun`` (lease, heartbeat, progress, cancel, retries, the outcome) whose
input is rows instead of a file. It takes the warehouse's write lock before it reads, so
what it reads (the rows, the lineage, the invoices) stays as read until it commits. Then it
stages, in the file's row order:

- the selected rows still unresolved, as their file had them, cleaned again;
- the rows their load loaded for the invoice ids that now pass (its staging: lineage),

and hands them to the load's ``BatchWriter``. The merge decides, as for any file, which
row of an invoice id comes first (the first valid one wins, the later ones become
``DUPLICATE_INVOICE_ID``), counts, upserts, adds the aggregate changes; so the outcome is
what a load of the file would have given with the fix in place from the start. An invoice
a later load carried keeps that load's value: its rows are staged with the invoice as it
stands, so the merge settles them without changing it. The outcome (rows resolved or kept
with their new reason, the load's lineage) is written in the merge's transaction.

Usually none of the selected rows names an invoice the warehouse has (they were rejected:
their invoices are new), so there is no lineage and no invoice to keep: then the rows are
read, cleaned and handed over a chunk at a time, the merge writing one while the next is
read (``parts_write``), as a load does with its file: the chunks grow from a small first one,
so the merge starts early; the next chunk's rows are read on a connection of their own while
one is cleaned; the outcome of a chunk's rows is written while the merger waits for it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.utils import timezone

from ingestion.batches.run import BatchRun
from ingestion.batches.validation import dimensions_load, invoices_validate, reason_counts_ordered
from ingestion.pipeline import errors
from ingestion.pipeline import writer as pipeline_writer
from ingestion.pipeline.amounts import AmountConventions
from ingestion.pipeline.clean import DUPLICATE_INVOICE_ID
from ingestion.pipeline.columns import CLEAN_COLUMNS, RAW_COLUMNS, STAGING_COLUMNS
from ingestion.pipeline.invoice_id_filter import InvoiceIdFilter
from ingestion.pipeline.lanes import Lane
from ingestion.rejected.reprocess import reprocess_split
from ingestion.rejected.reprocess_keys import selection_keys_fill
from ingestion.rejected.reprocess_outcome import ReprocessOutcome, decided, decided_record, outcome_of
from ingestion.rejected.reprocess_rows import (
    FACT_OF_CLEAN,
    InvoicesRead,
    chunk_rows,
    chunks_growing,
    selected_records,
    selected_rows,
    staging_kept,
)
from warehouse.models import LoadBatch, ReprocessSelection

Stage = LoadBatch.Stage
SOURCE_GONE = "the load whose rows these are (batch #{batch_id}) no longer exists"
NOTHING_LEFT = "nothing left to re-process: the rows were resolved or replaced meanwhile"
DUPLICATE_UNKNOWN_FIRST = (
    "DUPLICATE_INVOICE_ID: invoice_id {invoice_id!r} is loaded and this load's staging was"
    " removed (retention), so which row came first is unknown; this repeated row stays rejected"
)
_LOCK_POLL_SECONDS = 0.02
_FILTER_BITS_PER_ROW = 32


class _InWarehouse(Exception):
    """A chunk after the first names an invoice the warehouse has (see ``parts_write``)."""


def _as_written[Frame: (pd.DataFrame, pd.Series)](frame: Frame) -> Frame:
    """Plain values, nulls as None (the staging writers' input)."""
    values = frame.astype(object)
    return values.where(values.notna(), None)


class ReprocessRun(BatchRun):
    def work(self, tmp_dir: Path) -> None:
        self.execute(tmp_dir)  # no file: nothing to skip, no other load of it to wait for

    def execute(self, tmp_dir: Path) -> None:
        batch = self.batch
        selection = ReprocessSelection.objects.defer("rejected_ids").get(batch_id=batch.pk)
        self.stage(Stage.REPROCESS)
        selection_keys_fill(batch.pk)  # the selected ids, in the database
        if selection.source_batch_id is None and reprocess_split(batch=batch, selection=selection):
            selection_keys_fill(batch.pk)  # without a broker, a batch split off has run here
        source: LoadBatch | None
        if selection.source_batch_id is None:  # none of the rows is unresolved any more
            source = LoadBatch(pk=0, file_name="", sha256="")
        else:
            source = LoadBatch.objects.filter(pk=selection.source_batch_id).first()
        if source is None:
            raise errors.FileRejected(SOURCE_GONE.format(batch_id=selection.source_batch_id))
        writer = self.writer_open(tmp_dir, source, rejected_replace=False)
        try:
            self.lock_wait(writer)
            try:
                written = self.parts_write(writer, source.pk)
            except _InWarehouse:  # a later part names a loaded invoice: start over, whole
                writer.rollback()
                writer = self.writer_open(tmp_dir, source, rejected_replace=False)
                self.lock_wait(writer)
                written = None
            if written is None:
                frame, selected, absent = self.rows_prepare(source.pk)
                batch.rows_total, batch.rows_done = len(frame), 0
                for start in range(0, len(frame), settings.INGEST_CHUNK_ROWS):
                    part = frame.iloc[start : start + settings.INGEST_CHUNK_ROWS]
                    writer.chunk_write(part, absent=absent.iloc[start : start + settings.INGEST_CHUNK_ROWS])
                    self.rows_written(len(part))
            else:
                frame, selected = written
            outcome = outcome_of(
                frame,
                selected,
                batch_id=batch.pk,
                source_batch_id=source.pk,
                decided_written=written is not None and self.outcome_streams(writer),
            )
            writer.commit(lambda: self.reprocess_commit(writer, outcome), on_stage=self.stage)
        except pipeline_writer.WriteAborted:
            writer.rollback()
            self.stopped()
        except BaseException:
            writer.rollback()
            raise

    def lock_wait(self, writer: pipeline_writer.BatchWriter) -> None:
        """Hold the write lock before reading; after a second, progress says it waits (and the
        lease is renewed each second, which also notices a cancel)."""
        said = time.monotonic() + 1
        while writer.waiting:
            time.sleep(_LOCK_POLL_SECONDS)
            if time.monotonic() >= said and writer.waiting:
                if self.batch.stage == Stage.WAITING:
                    self.progress_save()
                else:
                    self.stage(Stage.WAITING)
                said = time.monotonic() + 1
        if self.batch.stage == Stage.WAITING:
            self.stage(Stage.REPROCESS)

    def rows_written(self, rows: int) -> None:
        self.batch.rows_done += rows
        self.progress_save()

    def parts_write(
        self, writer: pipeline_writer.BatchWriter, source_id: int
    ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The common case, streamed: no selected row names an invoice the warehouse has, so
        no row of the load is staged beside them (facts are never deleted: a row it loaded
        is an invoice) and none is an upsert. The selected rows are read, cleaned and written
        a chunk at a time in the file's order, the merge working on one while the next is
        read (an id maybe seen before is settled at the end, as in a load). Returns the rows'
        reasons (``outcome_of``) and records; None, with nothing written, when the first
        chunk names a loaded invoice; raises ``_InWarehouse`` when a later one does."""
        with self.stage_seconds.timed("read_rows"):
            records = selected_records(batch_id=source_id)
        rows = records["source_row"].drop_duplicates()
        self.batch.rows_total, self.batch.rows_done = len(rows), 0
        if rows.empty:
            self.batch.note = NOTHING_LEFT
            return pd.DataFrame(columns=list(STAGING_COLUMNS)), records
        # A filter sized to the selection (the load's is sized for any file): about two ids
        # in ten thousand falsely "maybe seen", each settled exactly at the end.
        seen = InvoiceIdFilter(bits=max(1 << 20, _FILTER_BITS_PER_ROW * len(rows)))
        dims, conventions = dimensions_load(), AmountConventions()
        chunks = chunks_growing(rows, settings.INGEST_CHUNK_ROWS)
        outcome_streamed = self.outcome_streams(writer)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        written: list[pd.DataFrame] = []
        # The next chunk's rows are read on a connection of their own while this one is
        # cleaned and handed over (the lock is held: what they read stays as read).
        reader = Lane("reader", threaded=connection.vendor == "mysql")
        try:
            pending = reader.submit(self._chunk_read, source_id, records, chunks[0])
            for following in [*chunks[1:], None]:
                raw, chunk_records = pending.result()
                if following is not None:
                    pending = reader.submit(self._chunk_read, source_id, records, following)
                with self.stage_seconds.timed("clean"):
                    cleaned = invoices_validate(raw[list(RAW_COLUMNS)], dims=dims, conventions=conventions)
                frame = pd.concat([raw[["source_row", *RAW_COLUMNS, "extra"]], cleaned], axis=1)
                valid = frame["reason"].isna()
                invoice_ids = frame.loc[valid, "clean_invoice_id"]
                with self.stage_seconds.timed("read_facts"):
                    loaded = len(InvoicesRead(sorted(invoice_ids.drop_duplicates().tolist())).facts())
                if loaded and not written:
                    return None
                if loaded:
                    raise _InWarehouse
                frame["dup_candidate"] = np.zeros(len(frame), dtype=np.int8)
                frame.loc[valid, "dup_candidate"] = seen.maybe_seen(invoice_ids).astype(np.int8)
                frame = frame[list(STAGING_COLUMNS)]
                if outcome_streamed:  # on the merger, in its wait for this chunk
                    writer.merger_step(self._decided_write, *decided(frame, chunk_records), now)
                writer.chunk_write(frame, absent=pd.Series(True, index=frame.index))
                written.append(_as_written(frame[["source_row", "reason", "detail", "dup_candidate"]]))
                self.rows_written(len(frame))
        finally:
            reader.close()  # after the read in flight, if any
        return pd.concat(written, ignore_index=True), records

    def outcome_streams(self, writer: pipeline_writer.BatchWriter) -> bool:
        """The outcome of the rows cleaning decides is written a chunk at a time (``parts_write``),
        in the batch's transaction, where the merger holds one from the start (MySQL)."""
        return writer.merging and not self.batch.dry_run

    def _decided_write(self, resolved_ids: list[int], rejected: list[tuple[int, str, str]], now) -> None:
        with self.stage_seconds.timed("db_outcome"):
            decided_record(batch_id=self.batch.pk, resolved_ids=resolved_ids, rejected=rejected, now=now)

    def _chunk_read(
        self, source_id: int, records: pd.DataFrame, chunk: pd.Series
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The chunk's rows (``chunk_rows``) and their records."""
        with self.stage_seconds.timed("read_rows"):
            mine = records.loc[records["source_row"].isin(chunk)]
            return chunk_rows(batch_id=source_id, records=mine), mine

    def rows_prepare(self, source_id: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        """The rows to stage, in the file's order; the selected ones' source rows and record
        ids (``source_row``, ``rejected_id``); which rows to stage name an invoice id the
        warehouse lacks (read under the lock: the merge loads them without reading first)."""
        with self.stage_seconds.timed("read_rows"):
            rows, records = selected_rows(batch_id=source_id)
        if rows.empty:
            self.batch.note = NOTHING_LEFT
            return pd.DataFrame(columns=list(STAGING_COLUMNS)), records, pd.Series([], dtype=bool)
        with self.stage_seconds.timed("clean"):
            cleaned = invoices_validate(rows[list(RAW_COLUMNS)], dims=dimensions_load())
        frame = pd.concat([rows[["source_row", *RAW_COLUMNS, "extra"]], cleaned], axis=1)
        valid = frame["reason"].isna()
        ids = sorted(frame.loc[valid, "clean_invoice_id"].unique().tolist())
        with self.stage_seconds.timed("read_facts"):
            invoices = InvoicesRead(ids)
            facts = invoices.facts()
        if staging_kept(source_id):
            with self.stage_seconds.timed("read_lineage"):
                loaded = invoices.loaded_rows(batch_id=source_id)
            loaded = loaded[~loaded["source_row"].isin(frame["source_row"])]
        else:
            loaded = frame.iloc[:0]
            repeated = (
                valid
                & (rows["rejected_reason"] == DUPLICATE_INVOICE_ID)
                & frame["clean_invoice_id"].isin(facts.index)
            )
            frame.loc[repeated, "detail"] = [
                DUPLICATE_UNKNOWN_FIRST.format(invoice_id=i) for i in frame.loc[repeated, "clean_invoice_id"]
            ]
            frame.loc[repeated, "reason"] = DUPLICATE_INVOICE_ID
            frame.loc[repeated, list(CLEAN_COLUMNS[:-2])] = None
        staged = _as_written(pd.concat([frame, loaded], ignore_index=True).sort_values("source_row"))
        valid = staged["reason"].isna()
        with self.stage_seconds.timed("read_later_loads"):
            later = invoices.later_owned(batch_id=source_id, facts=facts)
        owned = valid & staged["clean_invoice_id"].isin(later)
        for column in FACT_OF_CLEAN:
            values = _as_written(facts[column]).reindex(staged.loc[owned, "clean_invoice_id"])
            staged.loc[owned, column] = values.to_numpy()
        seen = np.zeros(len(staged), dtype=np.int8)
        seen[valid.to_numpy()] = staged.loc[valid, "clean_invoice_id"].duplicated(keep="first").to_numpy()
        staged["dup_candidate"] = seen
        staged = staged[list(STAGING_COLUMNS)].reset_index(drop=True)
        return staged, records, ~staged["clean_invoice_id"].isin(facts.index)

    def reprocess_commit(self, writer: pipeline_writer.BatchWriter, outcome: ReprocessOutcome) -> None:
        """Counts over the selected rows, their outcome, success: in the merge's transaction."""
        batch, counts = self.batch, writer.counts
        with self.stage_seconds.timed("db_outcome_counts"):
            reasons = outcome.reasons()
        loaded = reasons.pop(None, 0)
        batch.rows_rejected = sum(reasons.values())
        batch.rows_read = batch.rows_done = batch.rows_total = loaded + batch.rows_rejected
        batch.rows_loaded = loaded
        batch.rows_inserted, batch.rows_updated = counts.inserted, counts.updated
        batch.rows_unchanged = max(0, loaded - counts.inserted - counts.updated)
        batch.reason_counts = reason_counts_ordered(reasons)
        if not batch.dry_run:
            with self.stage_seconds.timed("db_outcome"):
                outcome.record(now=connection.ops.adapt_datetimefield_value(timezone.now()))
        self.stage_seconds[batch.stage] = round(time.perf_counter() - self.stage_started, 3)
        self.stage_seconds.update(writer.timings)
        batch.stage = Stage.DONE
        if not self.finish(LoadBatch.Status.SUCCEEDED):  # which bumps the data version
            self.stopped()
