"""The pipeline's database writes for one batch.

Two lanes, each one database connection working through its steps in order:

- the **stager** writes every row to ``stg_invoices`` (committing as it goes: staging is
  lineage, not warehouse);
- the **merger** takes the warehouse's write lock (``warehouse.locks``), then holds the
  batch's one transaction: it upserts each chunk's valid rows whose invoice id is certainly
  new to the file, writes the chunk's rejected rows, and at the end settles the few "maybe
  seen" ids exactly (``DUPLICATE_INVOICE_ID`` for all but the first valid occurrence),
  upserts the rest, adds the batch's changes to the aggregates and commits together with
  the batch row, then releases the lock (its statements: ``ingestion.pipeline.merge``).

While another load holds the lock, this one keeps reading, cleaning and staging; the
chunks staged meanwhile are merged from staging once the lock is taken. So any number of
loads run side by side and their merges happen one after the other: the facts equal some
serial order of the loads, and counts and aggregate changes are computed from the facts
as they are at that point of the order.

On MySQL each lane is a worker thread: the database stages one chunk and merges the
previous one while Python cleans the next. On SQLite both lanes run inline on the one
connection: staging commits chunk by chunk (so progress shows), and the merge runs from
staging at the end in one transaction. A failure anywhere rolls the merger back: no
partial facts, no half-written rejected rows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from ingestion.pipeline import bulk, duplicates, sql
from ingestion.pipeline.columns import STAGING_COLUMNS
from ingestion.pipeline.lanes import Lane
from ingestion.pipeline.merge import FactsMerge, MergeCounts
from ingestion.pipeline.timings import Timings
from warehouse.locks import facts_lock_release, facts_lock_wait
from warehouse.models import LoadBatch

logger = logging.getLogger(__name__)
Stage = LoadBatch.Stage


class WriteAborted(Exception):
    """The run was told to stop (cancelled, or its lease was lost) while it waited."""


@dataclass
class BatchWriter:
    """Writes one batch: ``chunk_write`` per chunk, then ``commit`` (or ``rollback``)."""

    batch_id: int
    file_name: str
    file_sha256: str
    tmp_dir: Path
    dry_run: bool = False
    rejected_replace: bool = True  # see ``FactsMerge.rejected_replace``
    counts: MergeCounts = field(default_factory=MergeCounts)
    timings: Timings = field(default_factory=Timings)

    def __post_init__(self) -> None:
        self.vendor = connection.vendor
        self.loaded_at = self.created_at = connection.ops.adapt_datetimefield_value(timezone.now())
        threaded = self.vendor == "mysql"
        self._stop = threading.Event()
        self._stager = Lane("stager", threaded=threaded)
        self._merger = Lane("merger", threaded=threaded)
        self._stager_bulk = bulk.BulkWriter(tmp_dir=self.tmp_dir, timings=self.timings.add)
        # The merge steps run on the merger lane, once the lock is taken (``_lock_and_begin``).
        self._facts_merge = FactsMerge(
            batch_id=self.batch_id,
            file_name=self.file_name,
            file_sha256=self.file_sha256,
            created_at=self.created_at,
            dry_run=self.dry_run,
            bulk=bulk.BulkWriter(tmp_dir=self.tmp_dir, timings=self.timings.add),
            timed=self.timings.timed,
            counts=self.counts,
            rejected_replace=self.rejected_replace,
        )
        self._atomic: transaction.Atomic | None = None
        self._locked = False
        self._candidates: list[pd.DataFrame] = []
        self._certain = duplicates.CertainRows(self.tmp_dir / "certain-ids.bin")
        self._unmerged: tuple[int, int] | None = None  # staged rows waiting for the lock
        self._in_flight = [self._stager.submit(self._staging_clear)]
        # On MySQL the merger waits for the lock beside the reading; on SQLite it merges at the end.
        self._ready = self._merger.submit(self._lock_and_begin) if threaded else None

    def _drain(self) -> None:
        in_flight, self._in_flight = self._in_flight, []
        errors = [exc for exc in map(Future.exception, in_flight) if exc is not None]  # waits for each
        if errors:
            raise errors[0]

    # -- the interface ----------------------------------------------------------------

    def abort(self) -> None:
        """Stop waiting for the lock (safe from any thread); ``rollback`` still follows."""
        self._stop.set()

    @property
    def waiting(self) -> bool:
        """True while the merger waits for another load to finish writing the warehouse."""
        return self._ready is not None and not self._ready.done()

    def chunk_write(self, frame: pd.DataFrame, *, absent: pd.Series | None = None) -> None:
        """Hand over a cleaned chunk (raw + clean columns + ``dup_candidate``). ``absent``: its
        rows whose invoice ids the caller read, under the lock, are not in the warehouse.

        Returns once the previous chunk is written (at most one chunk is in flight); what needs
        no database, its rejected rows among it, is made while that chunk is written."""
        frame = frame[list(STAGING_COLUMNS)]
        maybe_seen = frame["dup_candidate"] == 1
        if maybe_seen.any():
            self._candidates.append(frame.loc[maybe_seen, ["source_row", "clean_invoice_id"]])
        certain = frame["reason"].isna() & ~maybe_seen
        self._certain.add(frame.loc[certain, "clean_invoice_id"], frame.loc[certain, "source_row"].to_numpy())
        rows = (int(frame["source_row"].iloc[0]), int(frame["source_row"].iloc[-1]))
        locked = self._ready is not None and self._ready.done()
        made = self._facts_merge.chunk_made(frame, locked=locked, absent=absent)
        self._drain()
        staged = self._stager.submit(self._stage, frame)
        self._in_flight = [staged]
        if self._ready is None or not self._ready.done():
            first = self._unmerged[0] if self._unmerged else rows[0]
            self._unmerged = (first, rows[1])  # merged from staging once the lock is taken
            return
        self._ready.result()
        if self._unmerged:
            self._in_flight.append(self._merger.submit(self._facts_merge.staged_merge, self._unmerged))
            self._unmerged = None
        merge = self._facts_merge.chunk_merge
        self._in_flight.append(self._merger.submit(merge, frame, rows, staged, made))

    @property
    def merging(self) -> bool:
        """True once the merger holds the lock and the batch's transaction (on MySQL, from the
        start when nothing waits; on SQLite only at ``commit``)."""
        return self._ready is not None and self._ready.done() and self._ready.exception() is None

    def merger_step(self, step: Callable, *args) -> None:
        """Run ``step`` on the merger's connection, in the batch's transaction, after what was
        handed over before it (only while ``merging``); a failure surfaces as a chunk's does."""
        if not self.merging:
            raise RuntimeError("the merger holds no transaction yet")
        self._in_flight.append(self._merger.submit(step, *args))

    def commit(
        self,
        on_commit: Callable[[], None],
        on_stage: Callable[[str], None],
        *,
        file_sha256: str = "",
        on_hashed: Callable[[], None] | None = None,
    ) -> MergeCounts:
        """Settle duplicates, write the rest, run ``on_commit`` in the transaction, commit.

        ``on_stage`` is told each step (a ``LoadBatch.Stage``) before it starts, from this thread.
        ``file_sha256``: the file's, now that it was read; ``on_hashed`` runs first in the
        transaction, under the lock (raising there rolls the batch back).
        """
        try:
            self._drain()
            if self.waiting:
                on_stage(Stage.WAITING)
                self._ready.result()  # type: ignore[union-attr]
            if self._unmerged:
                on_stage(Stage.WRITING)  # on SQLite: before the transaction, so it shows
            if self._ready is None:
                self._ready = self._merger.submit(self._lock_and_begin)
            self._ready.result()
            candidates = (
                pd.concat(self._candidates, ignore_index=True)
                if self._candidates
                else pd.DataFrame({"source_row": [], "clean_invoice_id": []})
            )
            # Each maybe-seen id's first valid row is read on the stager's connection (staging is
            # complete) while the merger sets the sha256, merges and adds to the aggregates.
            first_rows = self._stager.submit(self._first_rows, candidates)
            if file_sha256:
                self._step(self._file_hashed, file_sha256, on_hashed or (lambda: None))
            if self._unmerged:
                self._step(self._facts_merge.staged_merge, self._unmerged)
                self._unmerged = None
            if not self.dry_run:
                on_stage(Stage.AGGREGATES)
                self._step(self._timed_step, "db_aggregates", self._facts_merge.aggregates_add)
            if len(candidates):
                on_stage(Stage.DUPLICATES)
                self._step(self._duplicates_settle, candidates, first_rows)
            on_stage(Stage.COMMITTING)
            self._step(on_commit)
            self._step(self._timed_step, "db_commit", self._end, None, None, None)
        finally:
            self._close()
        return self.counts

    def rollback(self) -> None:
        self._stop.set()
        try:
            self._drain()
            if self._ready is not None:
                self._ready.result()
        except BaseException:  # the error being handled already says what went wrong
            pass
        with suppress(BaseException):
            self._merger.submit(self._end, OperationalError, OperationalError("rollback"), None).result()
        self._close()

    def _close(self) -> None:
        self._stager.close()
        self._merger.close()

    # -- merger steps (inside the batch's transaction) ----------------------------------

    def _lock_and_begin(self) -> None:
        with self.timings.timed("db_lock_wait"):
            if not facts_lock_wait(stop=self._stop.is_set):
                raise WriteAborted
        self._locked = True
        atomic = transaction.atomic()
        atomic.__enter__()
        self._atomic = atomic
        self._facts_merge.begin()

    def _end(self, *exc_info) -> None:
        atomic, self._atomic = self._atomic, None
        try:
            if atomic is not None:
                atomic.__exit__(*exc_info)
        finally:
            if self._locked:
                self._locked = False
                facts_lock_release()

    def _step(self, step: Callable, *args) -> None:
        """Run a step in the transaction; a failure rolls the transaction back there."""
        self._merger.submit(self._rolled_back_on_error, step, *args).result()

    def _rolled_back_on_error(self, step: Callable, *args) -> None:
        try:
            step(*args)
        except BaseException as exc:
            self._end(type(exc), exc, exc.__traceback__)
            raise

    def _timed_step(self, label: str, step: Callable, *args) -> None:
        with self.timings.timed(label):
            step(*args)

    def _file_hashed(self, sha256: str, on_hashed: Callable[[], None]) -> None:
        on_hashed()
        with self.timings.timed("db_file_hashed"):
            self._facts_merge.file_hashed(sha256)

    def _duplicates_settle(self, candidates: pd.DataFrame, first_rows: Future) -> None:
        with self.timings.timed("db_duplicates"):
            self._facts_merge.duplicates_settle(candidates, first_rows.result())
        if not self.dry_run:  # the settled candidates' changes
            self._facts_merge.aggregates_add()

    # -- stager steps (autocommit) -------------------------------------------------------

    def _staging_clear(self) -> None:
        with connection.cursor() as cursor:
            for statement in sql.STAGING_CLEAR:
                cursor.execute(statement, [self.batch_id])

    def _stage(self, frame: pd.DataFrame) -> None:
        with self.timings.timed("db_staging"):
            self._stager_bulk.frame_write(
                frame,
                table=sql.STAGING,
                load_sql=sql.staging_load_data(),
                insert_sql=sql.staging_insert(),
                constants=(self.batch_id, self.file_name, self.loaded_at),
                exact=False,  # rows are replaced (see sql.staging_insert)
            )

    def _first_rows(self, candidates: pd.DataFrame) -> duplicates.FirstRows:
        """The maybe-seen ids' first valid rows."""
        if not len(candidates):
            return duplicates.FirstRows()
        with self.timings.timed("db_first_rows"):
            return duplicates.first_valid_rows(self.batch_id, candidates, self._certain)
