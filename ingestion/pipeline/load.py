"""The pipeline's database writes, all of a batch in one transaction on one connection.

Per chunk: stage every row (``LOAD DATA LOCAL INFILE`` on MySQL/MariaDB when the
server allows it, multi-row inserts otherwise), upsert the chunk's valid rows
whose invoice id is certainly new to the file, and write its rejected rows. At
the end: settle the "maybe seen" ids exactly (``DUPLICATE_INVOICE_ID`` for all
but the first valid occurrence), upsert the rest, and commit with the batch row.

On MySQL the connection belongs to a worker thread, so the database stages and
merges one chunk while Python cleans the next; a failure anywhere rolls the
whole batch back: no partial facts, no half-written rejected rows.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import OperationalError, connection, transaction

from ingestion.pipeline import sql
from ingestion.pipeline.columns import STAGING_COLUMNS

logger = logging.getLogger(__name__)

# MySQL/MariaDB refusing LOAD DATA LOCAL: server or client has local_infile off.
_LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 3950, 4166}
_NULLABLE_STAGED = STAGING_COLUMNS[STAGING_COLUMNS.index("extra") : -1]
_FACT_SOURCE = ("clean_invoice_id", *sql.STAGED_VALUES)
# Reported like a deadlock (MySQL error 1213) so the task retries the batch.
LOAD_CONFLICT = 1213


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
class BatchWriter:
    """Writes one batch. ``chunk_write`` per chunk, then ``commit`` (or ``rollback``)."""

    batch_id: int
    file_name: str
    file_sha256: str
    loaded_at: object  # already adapted for the database
    created_at: object
    dry_run: bool = False
    counts: MergeCounts = field(default_factory=MergeCounts)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vendor = connection.vendor
        self.use_load_data = self.vendor == "mysql"
        self._executor = ThreadPoolExecutor(1, "batch-writer") if self.vendor == "mysql" else None
        self._pending: Future | None = None
        self._atomic = None
        self._call(self._begin)

    @contextmanager
    def _timed(self, label: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.timings[label] = round(self.timings.get(label, 0.0) + elapsed, 3)

    # -- running on the writer's connection, one step at a time ------------------

    def _call(self, step: Callable, *args) -> None:
        if self._executor is None:
            step(*args)
            return
        self._wait()
        self._pending = self._executor.submit(step, *args)

    def _wait(self):
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending.result()
        return None

    def chunk_write(self, frame: pd.DataFrame) -> None:
        """Queue a cleaned chunk (raw + clean columns + ``dup_candidate``); returns at once on MySQL."""
        self._call(self._chunk, frame[list(STAGING_COLUMNS)])

    def commit(self, on_commit: Callable[[], None]) -> MergeCounts:
        """Settle duplicates, write the rest, run ``on_commit`` in the transaction, commit."""
        self._call(self._finish, on_commit)
        try:
            self._wait()
        finally:
            self._close()
        return self.counts

    def rollback(self) -> None:
        try:
            self._wait()
        except BaseException:  # the error being handled already says what went wrong
            pass
        if self._atomic is not None:
            self._call(self._end, OperationalError, OperationalError("rolled back"), None)
            try:
                self._wait()
            except BaseException:
                pass
        self._close()

    def _close(self) -> None:
        if self._executor is not None:
            self._executor.submit(lambda: connection.close()).result()
            self._executor.shutdown()
            self._executor = None

    # -- the steps ------------------------------------------------------------------

    def _begin(self) -> None:
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        with connection.cursor() as cursor:
            cursor.execute(sql.STAGING_CLEAR, [self.batch_id])
            cursor.execute(sql.FACTS_ANY)
            self.warehouse_empty = cursor.fetchone() is None
            if not self.dry_run:
                cursor.execute(sql.BATCHES_OF_FILE, [self.file_sha256])
                batch_ids = [row[0] for row in cursor.fetchall()]
                for start in range(0, len(batch_ids), 500):
                    part = batch_ids[start : start + 500]
                    cursor.execute(sql.rejected_clear(len(part)), part)

    def _end(self, *exc_info) -> None:
        atomic, self._atomic = self._atomic, None
        atomic.__exit__(*exc_info)

    def _chunk(self, frame: pd.DataFrame) -> None:
        with self._timed("db_staging"):
            self._stage(frame)
        rows = (self.batch_id, int(frame["source_row"].iat[0]), int(frame["source_row"].iat[-1]))
        with self._timed("db_facts"):
            if self.warehouse_empty and self.use_load_data and not self.dry_run:
                self._facts_load(frame)
            else:
                self._merge(sql.range_filter(), rows, certain=True)
        if not self.dry_run:
            with self._timed("db_rejected"), connection.cursor() as cursor:
                cursor.execute(
                    sql.rejected_insert(self.vendor, sql.range_filter()),
                    [
                        self.file_sha256,
                        self.created_at,
                        *rows,
                    ],
                )

    def _merge(self, where: str, params, *, certain: bool) -> None:
        """Count then upsert the valid rows matching ``where`` (certain: not maybe-duplicates)."""
        where = f"{where} AND s.reason IS NULL AND s.dup_candidate = {0 if certain else 1}"
        with connection.cursor() as cursor:
            if self.warehouse_empty:
                cursor.execute(f"SELECT COUNT(*) FROM stg_invoices s WHERE {where}", params)
                self.counts.add(rows=cursor.fetchone()[0], existing=0, unchanged=0)
            else:
                cursor.execute(sql.merge_preview(where), params)
                rows, existing, unchanged = (int(v or 0) for v in cursor.fetchone())
                self.counts.add(rows=rows, existing=existing, unchanged=unchanged)
            if not self.dry_run:
                cursor.execute(sql.facts_upsert(self.vendor, where), params)

    def _finish(self, on_commit: Callable[[], None]) -> None:
        try:
            with self._timed("db_duplicates"), connection.cursor() as cursor:
                cursor.execute(sql.duplicates_mark(self.vendor), [self.batch_id] * 3)
                self.counts.duplicates = cursor.rowcount
            with self._timed("db_facts_deferred"):
                self._merge("s.batch_id = %s", [self.batch_id], certain=False)
            if not self.dry_run:
                with self._timed("db_rejected"), connection.cursor() as cursor:
                    cursor.execute(
                        sql.rejected_insert(self.vendor, sql.DUPLICATES_FILTER),
                        [self.file_sha256, self.created_at, self.batch_id],
                    )
            on_commit()
        except BaseException as exc:
            self._end(type(exc), exc, exc.__traceback__)
            raise
        with self._timed("db_commit"):
            self._end(None, None, None)

    # -- staging ---------------------------------------------------------------------

    def _stage(self, frame: pd.DataFrame) -> None:
        if self.use_load_data:
            try:
                self._load_data(frame)
                return
            except OperationalError as exc:
                if not (exc.args and exc.args[0] in _LOCAL_INFILE_REFUSED):
                    raise
                logger.warning("LOAD DATA LOCAL refused (%s); using multi-row inserts", exc)
                self.use_load_data = False
        self._insert_rows(frame)

    def _constants(self) -> tuple:
        return (self.batch_id, self.file_name, self.loaded_at)

    def _load_data(self, frame: pd.DataFrame) -> None:
        self._load_file(frame, sql.staging_load_data(_NULLABLE_STAGED), self._constants())

    def _facts_load(self, frame: pd.DataFrame) -> None:
        """New invoices into an empty warehouse: straight in, no upsert needed."""
        new = frame.loc[frame["reason"].isna() & (frame["dup_candidate"] == 0), list(_FACT_SOURCE)]
        self._load_file(new, sql.facts_load_data(), (self.batch_id,))
        self.counts.add(rows=len(new), existing=0, unchanged=0)

    def _load_file(self, frame: pd.DataFrame, statement: str, params: tuple) -> None:
        """LOAD DATA LOCAL of ``frame`` via a temporary CSV; every row must arrive."""
        if frame.empty:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        fd, path = tempfile.mkstemp(prefix="load-", suffix=".csv")
        os.close(fd)
        try:
            options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
            pa_csv.write_csv(table, path, options)
            with connection.cursor() as cursor:
                cursor.execute(statement, [path, *params])
                written = cursor.cursor.rowcount
        finally:
            os.unlink(path)
        if written != len(frame):
            # LOCAL implies IGNORE: a key written meanwhile by a concurrent load was skipped.
            raise OperationalError(
                LOAD_CONFLICT, f"{len(frame) - written} rows collided with a concurrent load"
            )

    def _insert_rows(self, frame: pd.DataFrame) -> None:
        values = frame.astype(object).where(frame.notna(), None)
        rows = [(*row, *self._constants()) for row in values.itertuples(index=False, name=None)]
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 5000):
                cursor.executemany(sql.STAGING_INSERT, rows[start : start + 5000])
