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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection

from ingestion.pipeline import bulk, sql_duplicates

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


@dataclass
class FirstRows:
    """Each flagged invoice id's first valid source row; the ``raw_fingerprint`` of those
    first rows that were let through (the others are candidates: their rows are copied)."""

    rows: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[int, str] = field(default_factory=dict)


def first_valid_rows(batch_id: int, candidates: pd.DataFrame, certain: CertainRows) -> FirstRows:
    """The first valid rows of the flagged rows' ids (``source_row``, ``clean_invoice_id``);
    staging must be complete."""
    wanted = set(candidates["clean_invoice_id"])
    rows = certain.rows_matching(id_hashes(candidates["clean_invoice_id"].drop_duplicates()))
    first = FirstRows()
    fingerprints: dict[int, str] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), STAGED_IDS_PER_READ):
            part = rows[start : start + STAGED_IDS_PER_READ]
            cursor.execute(sql_duplicates.staged_ids(connection.vendor, len(part)), [batch_id, *part])
            for row, invoice_id, fingerprint in cursor.fetchall():
                if invoice_id in wanted:  # not a hash collision
                    first.rows[invoice_id] = min(int(row), first.rows.get(invoice_id, int(row)))
                    fingerprints[int(row)] = str(fingerprint)
    first.fingerprints = {row: fingerprints[row] for row in first.rows.values()}
    # No row let through: the id's first valid row is its first flagged one.
    for invoice_id, row in candidates.groupby("clean_invoice_id")["source_row"].min().items():
        first.rows.setdefault(str(invoice_id), int(row))
    return first


def later_rows_mark(vendor: str, candidates: pd.DataFrame, first: FirstRows) -> int:
    """Mark the candidates after their id's first valid row as duplicates; return how many.

    They are marked in ``sql_duplicates.CANDIDATE_ROWS`` (which holds every candidate row);
    the marks are added to staging's (``sql.MARKS``). The other candidates are left in
    ``tmp_deferred`` (``sql_duplicates.DEFERRED_FILTER``), the duplicates in
    ``tmp_duplicates`` (``sql_duplicates.DUPLICATES_FILTER``).
    """
    first_row = candidates["clean_invoice_id"].map(first.rows)
    later = candidates["source_row"] > first_row
    triples = [
        (int(row), int(of), first.fingerprints.get(int(of)))
        for row, of in zip(candidates["source_row"][later], first_row[later], strict=True)
    ]
    rest_rows = [(int(r),) for r in candidates.loc[~later, "source_row"]]
    with connection.cursor() as cursor:
        for statement in sql_duplicates.candidate_tables(vendor):
            cursor.execute(statement)
        bulk.rows_insert(sql_duplicates.DUPLICATE_INSERT, triples)
        bulk.rows_insert(sql_duplicates.DEFERRED_INSERT, rest_rows)
        if triples:
            cursor.execute(sql_duplicates.duplicates_mark(vendor))
            cursor.execute(sql_duplicates.MARKS_INSERT)
    return len(triples)
