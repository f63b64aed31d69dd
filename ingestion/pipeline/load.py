"""The pipeline's database writes.

Two lanes, each one database connection working through its steps in order:

- the **stager** writes every row to ``stg_invoices`` (``LOAD DATA LOCAL INFILE`` on
  MySQL/MariaDB when the server allows it, multi-row inserts otherwise), committing
  as it goes: staging is lineage, not warehouse;
- the **merger** holds the batch's one transaction: it upserts each chunk's valid
  rows whose invoice id is certainly new to the file, writes the chunk's rejected
  rows, and at the end settles the few "maybe seen" ids exactly
  (``DUPLICATE_INVOICE_ID`` for all but the first valid occurrence), upserts the
  rest and commits together with the batch row.

On MySQL each lane is a worker thread, so the database stages one chunk and
merges it at the same time while Python cleans the next. On SQLite both lanes run
inline on the one connection, inside the one transaction. A failure anywhere
rolls the merger back: no partial facts, no half-written rejected rows.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import OperationalError, connection, transaction

from ingestion.pipeline import sales, sql
from ingestion.pipeline.columns import RAW_COLUMNS, STAGING_COLUMNS
from warehouse import aggregates

logger = logging.getLogger(__name__)

# Arrow's own allocator keeps freed chunks for reuse; on files of millions of rows the
# system allocator (trimmed after each chunk, see services) keeps the footprint flat.
pa.set_memory_pool(pa.system_memory_pool())

# MySQL/MariaDB refusing LOAD DATA LOCAL: server or client has local_infile off.
_LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 3950, 4166}
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


class _Lane:
    """Steps run in order on one connection: a worker thread on MySQL, inline otherwise."""

    def __init__(self, name: str, *, threaded: bool) -> None:
        self.executor = ThreadPoolExecutor(1, name) if threaded else None

    def submit(self, step: Callable, *args) -> Future:
        if self.executor is not None:
            return self.executor.submit(step, *args)
        future: Future = Future()
        future.set_result(step(*args))
        return future

    def close(self) -> None:
        if self.executor is not None:
            self.executor.submit(lambda: connection.close()).result()
            self.executor.shutdown()
            self.executor = None


def _json_strings(values: pd.Series) -> pd.Series:
    """Each text as a JSON string literal, encoding every distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    encoded = np.array([json.dumps(u, ensure_ascii=False) for u in uniques], dtype=object)
    return pd.Series(encoded[codes], index=values.index, dtype=object)


def rejected_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows of a cleaned chunk as ``rejected_invoices`` stores them.

    ``raw_record`` is the JSON object of the row as read: the contract's columns, then
    any extra columns of the file.
    """
    rejected = frame.loc[frame["reason"].notna()]
    record = pd.Series("{", index=rejected.index, dtype=object)
    for position, column in enumerate(RAW_COLUMNS):
        record = record + f'{", " if position else ""}"{column}": ' + _json_strings(rejected[column])
    extra = rejected["extra"]
    record = record + extra.where(extra.isna(), ", " + extra.str.slice(1)).fillna("}").astype(object)
    invoice_id = rejected["invoice_id"].str.strip().str.slice(0, 255)
    return pd.DataFrame(
        {
            "invoice_id": invoice_id.where(invoice_id != "", None),
            "reason": rejected["reason"],
            "detail": rejected["detail"],
            "raw_record": record,
            "source_row": rejected["source_row"],
        }
    )


@dataclass
class BatchWriter:
    """Writes one batch: ``chunk_write`` per chunk, then ``commit`` (or ``rollback``)."""

    batch_id: int
    file_name: str
    file_sha256: str
    loaded_at: object  # already adapted for the database
    created_at: object
    dry_run: bool = False
    counts: MergeCounts = field(default_factory=MergeCounts)
    timings: dict[str, float] = field(default_factory=dict)
    sales: list[pd.DataFrame] = field(default_factory=list)  # signed changes for the aggregates

    def __post_init__(self) -> None:
        self.vendor = connection.vendor
        self.local_infile = self.vendor == "mysql"
        threaded = self.vendor == "mysql"
        self._stager = _Lane("stager", threaded=threaded)
        self._merger = _Lane("merger", threaded=threaded)
        self._atomic = None
        self._candidates: list[pd.DataFrame] = []
        self._in_flight = [self._merger.submit(self._begin), self._stager.submit(self._staging_clear)]

    @contextmanager
    def _timed(self, label: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.timings[label] = round(self.timings.get(label, 0.0) + elapsed, 3)

    def _drain(self) -> None:
        in_flight, self._in_flight = self._in_flight, []
        errors = []
        for future in in_flight:
            try:
                future.result()
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    # -- the interface ----------------------------------------------------------------

    def chunk_write(self, frame: pd.DataFrame) -> None:
        """Hand over a cleaned chunk (raw + clean columns + ``dup_candidate``).

        Returns once the previous chunk is written, so at most one chunk is in flight.
        """
        self._drain()
        frame = frame[list(STAGING_COLUMNS)]
        maybe_seen = frame["dup_candidate"] == 1
        if maybe_seen.any():
            self._candidates.append(frame.loc[maybe_seen, ["source_row", "clean_invoice_id"]])
        staged = self._stager.submit(self._stage, frame)
        merged = self._merger.submit(self._merge_chunk, frame, staged)
        self._in_flight = [staged, merged]

    def commit(self, on_commit: Callable[[], None]) -> MergeCounts:
        """Settle duplicates, write the rest, run ``on_commit`` in the transaction, commit."""
        try:
            self._drain()
            candidates = (
                pd.concat(self._candidates, ignore_index=True)
                if self._candidates
                else pd.DataFrame({"source_row": [], "clean_invoice_id": []})
            )
            # The first valid row of each maybe-seen id is found on the stager's connection
            # (staging is committed) while the merger adds the batch's changes to the aggregates.
            first_rows = self._stager.submit(self._first_rows, candidates)
            self._merger.submit(self._finish, candidates, first_rows, on_commit).result()
        finally:
            self._close()
        return self.counts

    def rollback(self) -> None:
        try:
            self._drain()
        except BaseException:  # the error being handled already says what went wrong
            pass
        if self._atomic is not None:
            try:
                self._merger.submit(self._end, OperationalError, OperationalError("rollback"), None).result()
            except BaseException:
                pass
        self._close()

    def _close(self) -> None:
        self._stager.close()
        self._merger.close()

    # -- merger steps (inside the batch's transaction) ----------------------------------

    def _begin(self) -> None:
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        with connection.cursor() as cursor:
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

    def _merge_chunk(self, frame: pd.DataFrame, staged: Future) -> None:
        rows = (self.batch_id, int(frame["source_row"].iat[0]), int(frame["source_row"].iat[-1]))
        with self._timed("db_facts"):
            if not (self.warehouse_empty and not self.dry_run and self._facts_load(frame)):
                staged.result()  # merging from staging needs the chunk there
                self._merge(sql.CHUNK_FILTER, rows, certain=True)
        if not self.dry_run:
            with self._timed("db_rejected"):
                self._rejected_write(rejected_rows(frame))

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
                statements = sql.sales_deltas(where, warehouse_empty=self.warehouse_empty)
                for sign, statement in zip((1,) if len(statements) == 1 else (-1, 1), statements):
                    cursor.execute(statement, params)
                    self._sales_add(sales.from_grouped_rows(cursor.fetchall(), sign))
                cursor.execute(sql.facts_upsert(self.vendor, where), params)

    def _finish(self, candidates: pd.DataFrame, first_rows: Future, on_commit: Callable[[], None]) -> None:
        try:
            if not self.dry_run and self.sales:
                with self._timed("db_aggregates"):
                    self._sales_apply(self.sales)
                self.sales = []
            if len(candidates):
                with self._timed("db_duplicates"):
                    self._duplicates_settle(candidates, first_rows.result())
                if not self.dry_run and self.sales:  # the settled candidates' changes
                    self._sales_apply(self.sales)
            on_commit()
        except BaseException as exc:
            self._end(type(exc), exc, exc.__traceback__)
            raise
        with self._timed("db_commit"):
            self._end(None, None, None)

    def _first_rows(self, candidates: pd.DataFrame) -> dict[str, int]:
        """(stager) invoice id -> first valid source row, for the maybe-seen ids."""
        if not len(candidates):
            return {}
        with self._timed("db_first_rows"), connection.cursor() as cursor:
            for statement in sql.candidate_tables(self.vendor, "tmp_candidate_ids"):
                cursor.execute(statement)
            ids = candidates["clean_invoice_id"].drop_duplicates()
            _executemany(sql.CANDIDATE_ID_INSERT, [(i,) for i in ids])
            cursor.execute(sql.FIRST_VALID_ROWS, [self.batch_id])
            return dict(cursor.fetchall())

    def _duplicates_settle(self, candidates: pd.DataFrame, first_rows: dict[str, int]) -> None:
        """First valid occurrence wins: mark the later ones, merge the rest of the candidates."""
        first = candidates["clean_invoice_id"].map(first_rows)
        later = candidates["source_row"] > first
        pairs = list(zip(candidates["source_row"][later].astype(int), first[later].astype(int), strict=True))
        rest_rows = [(int(r),) for r in candidates.loc[~later, "source_row"]]
        with connection.cursor() as cursor:
            for statement in sql.candidate_tables(self.vendor, "tmp_duplicates", "tmp_deferred"):
                cursor.execute(statement)
            _executemany(sql.DUPLICATE_INSERT, pairs)
            _executemany(sql.DEFERRED_INSERT, rest_rows)
            cursor.execute(sql.duplicates_mark(self.vendor), [self.batch_id])
            self.counts.duplicates = len(pairs)
        self._merge(sql.DEFERRED_FILTER, [self.batch_id], certain=False)
        if not self.dry_run and pairs:
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.rejected_insert(self.vendor, sql.DUPLICATES_FILTER),
                    [self.file_sha256, self.created_at, self.batch_id],
                )

    def _sales_add(self, part: pd.DataFrame) -> None:
        self.sales.append(part)
        if len(self.sales) >= 8:  # keep memory flat: fold the changes seen so far
            self.sales = [sales.reduce(self.sales)]

    def _sales_apply(self, parts: list[pd.DataFrame]) -> None:
        """Add signed changes to the aggregate tables, through a temporary table.

        Always an upsert, never a plain load into empty tables: two batches may be
        adding to the same days at the same time.
        """
        total = sales.reduce(parts)
        rows = sales.delta_table_rows(total)
        with connection.cursor() as cursor:
            aggregates.sales_delta_table_create(cursor)
        if not self._load_file(rows, sql.sales_delta_load_data(), ()):
            marks = ", ".join(["%s"] * len(rows.columns))
            _executemany(
                f"INSERT INTO {aggregates.SALES_DELTA_TABLE} VALUES ({marks})",
                list(rows.itertuples(index=False, name=None)),
            )
        with connection.cursor() as cursor:
            aggregates.sales_deltas_merge(cursor, removals=bool((total["invoice_count"] < 0).any()))

    # -- stager steps (autocommit) -------------------------------------------------------

    def _staging_clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql.STAGING_CLEAR, [self.batch_id])

    def _stage(self, frame: pd.DataFrame) -> None:
        with self._timed("db_staging"):
            constants = (self.batch_id, self.file_name, self.loaded_at)
            if self._load_file(frame, sql.staging_load_data(), constants):
                return
            _executemany(sql.STAGING_INSERT, _python_rows(frame, constants))

    # -- writing frames ---------------------------------------------------------------------

    def _facts_load(self, frame: pd.DataFrame) -> bool:
        """New invoices into an empty warehouse: straight in, no upsert needed."""
        new = frame.loc[frame["reason"].isna() & (frame["dup_candidate"] == 0), list(_FACT_SOURCE)]
        if not self._load_file(new, sql.facts_load_data(), (self.batch_id,)):
            return False
        self.counts.add(rows=len(new), existing=0, unchanged=0)
        self._sales_add(sales.from_new_invoices(new))
        return True

    def _rejected_write(self, rejected: pd.DataFrame) -> None:
        constants = (self.batch_id, self.file_name, self.file_sha256, self.created_at)
        if self._load_file(rejected, sql.rejected_load_data(), constants):
            return
        _executemany(sql.REJECTED_INSERT, _python_rows(rejected, constants))

    def _load_file(self, frame: pd.DataFrame, statement: str, params: tuple) -> bool:
        """LOAD DATA LOCAL of ``frame`` via a temporary CSV; False if the server refuses it."""
        if not self.local_infile:
            return False
        if frame.empty:
            return True
        table = pa.Table.from_pandas(frame, preserve_index=False)
        fd, path = tempfile.mkstemp(prefix="load-", suffix=".csv")
        os.close(fd)
        try:
            # Every value quoted, nulls as a bare NULL: a raw "NULL" text stays text.
            options = pa_csv.WriteOptions(
                include_header=False, quoting_style="all_valid", null_string="NULL", batch_size=16_384
            )
            pa_csv.write_csv(table, path, options)
            with (
                self._timed("sql_" + statement.split(" INTO TABLE ")[1].split()[0]),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement, [path, *params])
                written = cursor.cursor.rowcount
        except OperationalError as exc:
            if not (exc.args and exc.args[0] in _LOCAL_INFILE_REFUSED):
                raise
            logger.warning("LOAD DATA LOCAL refused (%s); using multi-row inserts", exc)
            self.local_infile = False
            return False
        finally:
            os.unlink(path)
        if written != len(frame):
            # LOCAL implies IGNORE: a key written meanwhile by a concurrent load was skipped.
            raise OperationalError(
                LOAD_CONFLICT, f"{len(frame) - written} rows collided with a concurrent load"
            )
        return True


def _executemany(statement: str, rows: list[tuple], *, size: int = 5000) -> None:
    """Multi-row inserts in bounded statements (the server's packet size is 16 MiB)."""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            cursor.executemany(statement, rows[start : start + size])


def _python_rows(frame: pd.DataFrame, constants: tuple) -> list[tuple]:
    values = frame.astype(object).where(frame.notna(), None)
    return [(*row, *constants) for row in values.itertuples(index=False, name=None)]
