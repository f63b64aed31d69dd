"""Settling the "maybe seen" invoice ids of a batch exactly, in SQL over its staging rows.

While reading, a fixed-size filter (``seen.InvoiceIdFilter``) flags rows whose invoice id
*may* have appeared earlier in the file. At the end the first valid row of each flagged id
is looked up in staging; the later ones become ``DUPLICATE_INVOICE_ID`` (the detail names
the first row and says whether the rows are identical), the others are merged as usual.
"""

from __future__ import annotations

import pandas as pd
from django.db import connection

from ingestion.pipeline import bulk, sql


def first_valid_rows(batch_id: int, vendor: str, invoice_ids: pd.Series) -> dict[str, int]:
    """Invoice id -> its first valid source row in the batch (staging must be complete)."""
    with connection.cursor() as cursor:
        for statement in sql.candidate_tables(vendor, "tmp_candidate_ids"):
            cursor.execute(statement)
        bulk.rows_insert(sql.CANDIDATE_ID_INSERT, [(i,) for i in invoice_ids.drop_duplicates()])
        cursor.execute(sql.FIRST_VALID_ROWS, [batch_id])
        return dict(cursor.fetchall())


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
