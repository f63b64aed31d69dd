"""Bulk writes of DataFrames: ``LOAD DATA LOCAL INFILE`` where the server allows it.

On MySQL/MariaDB a frame is written to a CSV file in the batch's temporary folder and
loaded with ``LOAD DATA LOCAL INFILE``; when the server or the client refuses that (MySQL
8.4 has ``local_infile`` off by default), and on SQLite, rows go as multi-row INSERTs in
bounded statements instead.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

# Arrow's own allocator keeps freed chunks for reuse; on files of millions of rows the
# system allocator (trimmed after each chunk by the service) keeps the footprint flat.
pa.set_memory_pool(pa.system_memory_pool())

# MySQL/MariaDB refusing LOAD DATA LOCAL: server or client has local_infile off.
_LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 3950, 4166}
# Reported like a deadlock (MySQL error 1213) so the batch is retried.
LOAD_CONFLICT = 1213
ROWS_PER_STATEMENT = 5000


def rows_insert(statement: str, rows: list[tuple], *, size: int = ROWS_PER_STATEMENT) -> None:
    """Multi-row inserts in bounded statements (the server's packet size is 16 MiB)."""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            cursor.executemany(statement, rows[start : start + size])


def python_rows(frame: pd.DataFrame, constants: tuple = ()) -> list[tuple]:
    values = frame.astype(object).where(frame.notna(), None)
    return [(*row, *constants) for row in values.itertuples(index=False, name=None)]


class BulkWriter:
    """Writes frames on the calling thread's connection; remembers a refused LOAD DATA."""

    def __init__(self, *, tmp_dir: Path, timings: Callable[[str, float], None]) -> None:
        self.tmp_dir = tmp_dir
        self.local_infile = connection.vendor == "mysql"
        self._timings = timings

    def frame_write(
        self,
        frame: pd.DataFrame,
        *,
        table: str,
        load_sql: str,
        insert_sql: str | None,
        constants: tuple = (),
        exact: bool = True,
    ) -> bool:
        """Write ``frame`` (plus ``constants`` per row) into ``table``.

        ``load_sql`` takes (path, *constants); ``insert_sql`` takes one row's values and
        constants. False when LOAD DATA is unavailable and there is no ``insert_sql``.
        ``exact``: every row must be new (a key that exists is an error); False for
        statements that replace rows.
        """
        if self._file_load(frame, table=table, load_sql=load_sql, constants=constants, exact=exact):
            return True
        if insert_sql is None:
            return False
        rows_insert(insert_sql, python_rows(frame, constants))
        return True

    def _file_load(
        self, frame: pd.DataFrame, *, table: str, load_sql: str, constants: tuple, exact: bool
    ) -> bool:
        if not self.local_infile:
            return False
        if frame.empty:
            return True
        path = csv_write(frame, self.tmp_dir, table)
        return self.file_load(
            path, len(frame), table=table, load_sql=load_sql, constants=constants, exact=exact
        )

    def file_load(
        self, path: Path, rows: int, *, table: str, load_sql: str, constants: tuple = (), exact: bool = True
    ) -> bool:
        """``LOAD DATA`` of ``rows`` rows from ``csv_write``'s file (removed after); False if
        refused (then nothing was written)."""
        started = time.perf_counter()
        try:
            if not self.local_infile:
                return False
            with connection.cursor() as cursor:
                cursor.execute(load_sql, [str(path), *constants])
                written = cursor.cursor.rowcount
        except OperationalError as exc:
            if not (exc.args and exc.args[0] in _LOCAL_INFILE_REFUSED):
                raise
            logger.warning("LOAD DATA LOCAL refused (%s); using multi-row inserts", exc)
            self.local_infile = False
            return False
        finally:
            path.unlink(missing_ok=True)
        self._timings(f"sql_{table}", time.perf_counter() - started)
        if exact and written != rows:
            # LOCAL implies IGNORE: a key that already exists was skipped.
            raise OperationalError(LOAD_CONFLICT, f"{rows - written} rows of {table} collided")
        return True


def csv_write(frame: pd.DataFrame, tmp_dir: Path, table: str) -> Path:
    """``frame`` as the CSV file ``LOAD DATA`` reads (``BulkWriter.file_load``), in ``tmp_dir``:
    every value quoted, nulls as a bare NULL, so a raw "NULL" text stays text."""
    fd, name = tempfile.mkstemp(prefix=f"{table}-", suffix=".csv", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    try:
        options = pa_csv.WriteOptions(
            include_header=False, quoting_style="all_valid", null_string="NULL", batch_size=16_384
        )
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path, options)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
