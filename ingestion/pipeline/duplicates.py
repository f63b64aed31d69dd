"""Settling the "maybe seen" invoice ids of a batch exactly, in SQL over its staging rows.

While reading, a fixed-size filter (``invoice_id_filter.InvoiceIdFilter``) flags valid rows
whose invoice id *may* have appeared earlier in the file. At the end the first valid row of
each flagged id is found; the later ones become ``DUPLICATE_INVOICE_ID`` (the detail names
the first row and says whether the rows are identical), the others are merged as usual.

Finding the first rows costs in proportion to the flagged rows, not to the file: an id's
earlier valid row, if there is one, is the one row of it the filter let through (every
later one is flagged). ``CertainRows`` keeps, on disk, the hash of each let-through row's
id with its row number; the rows whose hash matches a flagged id are then read by primary
key from staging and their ids compared, so a hash collision changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection

from ingestion.pipeline import bulk, sql

STAGED_IDS_PER_READ = 5_000
_RECORD = np.dtype([("hash", "<u8"), ("row", "<i8")])
_SCAN_RECORDS = 1 << 18  # records compared at a time (4 MiB): memory stays flat however long the file


def id_hashes(ids: pd.Series) -> np.ndarray:
    return pd.util.hash_array(ids.to_numpy(dtype=object), categorize=False)


class CertainRows:
    """(hash of the invoice id, source row) of the rows let through as certainly new, on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.unlink(missing_ok=True)

    def add(self, ids: pd.Series, rows: np.ndarray) -> None:
        records = np.empty(len(ids), dtype=_RECORD)
        records["hash"] = id_hashes(ids)
        records["row"] = rows
        with open(self.path, "ab") as handle:
            handle.write(records.tobytes())

    def rows_matching(self, hashes: np.ndarray) -> list[int]:
        """The rows whose id hashes to one of ``hashes``."""
        if not len(hashes) or not self.path.exists() or not self.path.stat().st_size:
            return []
        # Read a part at a time, not mapped: a mapped file's pages stay in the process's
        # memory as it is scanned, so the whole file would count at the end of a long load.
        # Each part is looked up in the sorted hashes (``np.isin`` would sort every part).
        wanted = np.unique(hashes)
        found = []
        with open(self.path, "rb") as handle:
            while len(part := np.fromfile(handle, dtype=_RECORD, count=_SCAN_RECORDS)):
                at = np.searchsorted(wanted, part["hash"]).clip(max=len(wanted) - 1)
                found.append(part["row"][wanted[at] == part["hash"]])
        return np.concatenate(found).tolist()


def first_valid_rows(batch_id: int, candidates: pd.DataFrame, certain: CertainRows) -> dict[str, int]:
    """Invoice id -> its first valid source row in the batch, for the flagged rows'
    ids (``source_row``, ``clean_invoice_id``); staging must be complete."""
    wanted = set(candidates["clean_invoice_id"])
    rows = certain.rows_matching(id_hashes(candidates["clean_invoice_id"].drop_duplicates()))
    first: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), STAGED_IDS_PER_READ):
            part = rows[start : start + STAGED_IDS_PER_READ]
            cursor.execute(sql.staged_ids(len(part)), [batch_id, *part])
            for row, invoice_id in cursor.fetchall():
                if invoice_id in wanted:  # not a hash collision
                    first[invoice_id] = min(int(row), first.get(invoice_id, int(row)))
    # No row let through: the id's first valid row is its first flagged one.
    for invoice_id, row in candidates.groupby("clean_invoice_id")["source_row"].min().items():
        first.setdefault(str(invoice_id), int(row))
    return first


def later_rows_mark(batch_id: int, vendor: str, candidates: pd.DataFrame, first_rows: dict[str, int]) -> int:
    """Mark the candidates after their id's first valid row as duplicates; return how many.

    Leaves the other candidates' rows in ``tmp_deferred`` (``sql.DEFERRED_FILTER``) and the
    duplicates in ``tmp_duplicates`` (``sql.DUPLICATES_FILTER``).
    """
    first = candidates["clean_invoice_id"].map(first_rows)
    later = candidates["source_row"] > first
    pairs = list(zip(candidates["source_row"][later].astype(int), first[later].astype(int), strict=True))
    rest_rows = [(int(r),) for r in candidates.loc[~later, "source_row"]]
    with connection.cursor() as cursor:
        for statement in sql.candidate_tables(vendor, "tmp_duplicates", "tmp_deferred"):
            cursor.execute(statement)
        bulk.rows_insert(sql.DUPLICATE_INSERT, pairs)
        bulk.rows_insert(sql.DEFERRED_INSERT, rest_rows)
        cursor.execute(sql.duplicates_mark(vendor), [batch_id])
    return len(pairs)


CANDIDATE_ROWS = "tmp_candidate_rows"


def candidate_rows_copy(batch_id: int, vendor: str) -> str:
    """The table to merge the marked candidates from: on MySQL/MariaDB a temporary copy of
    their staged rows, read from staging once. Staging is much larger than the server's buffer
    pool, so each statement over the scattered candidate rows (count, aggregate deltas,
    upsert, rejected rows) read their pages from disk again; the copy is small. SQLite reads
    staging itself."""
    if vendor != "mysql":
        return sql.STAGING
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {CANDIDATE_ROWS}")
        cursor.execute(f"CREATE TEMPORARY TABLE {CANDIDATE_ROWS} LIKE stg_invoices")
        for table in ("tmp_deferred", "tmp_duplicates"):
            cursor.execute(
                f"INSERT INTO {CANDIDATE_ROWS} SELECT s.* FROM {table} t JOIN stg_invoices s"
                " ON s.batch_id = %s AND s.source_row = t.source_row",
                [batch_id],
            )
    return CANDIDATE_ROWS
