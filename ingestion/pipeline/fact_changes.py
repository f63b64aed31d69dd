"""What a chunk's valid rows do to the fact table, as pure DataFrame functions.

Each row is a new invoice, a change to an existing one, or identical to it (and then
nothing is written: the invoice keeps the batch that wrote it). The existing versions of
the changed invoices come back too: their old values leave the sales aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import CLEAN_COLUMNS

# A cleaned row's fact columns, in ``fact_invoices`` order after the invoice id: the cleaned
# columns up to the reason.
FACT_SOURCE = CLEAN_COLUMNS[: CLEAN_COLUMNS.index("reason")]
_INTEGERS = ("customer_key", "item_key", "status_key", "clean_qty")
_TEXTS = ("clean_unit_price", "clean_total")  # money as its two-decimal text


@dataclass
class FactChanges:
    new: pd.DataFrame  # invoices not in the warehouse
    changed: pd.DataFrame  # rows that change an existing invoice
    old: pd.DataFrame  # the existing versions of ``changed`` (same columns)
    unchanged: int  # rows identical to their invoice

    @property
    def existing(self) -> int:
        return len(self.changed) + self.unchanged


def facts_frame(rows: list[tuple]) -> pd.DataFrame:
    """Fact rows as read from the database ((id, date, keys, qty, price, total)) in the
    shape of a cleaned chunk: dates as dates, keys and qty as integers, money as text."""
    frame = pd.DataFrame(rows, columns=list(FACT_SOURCE))
    for column in _INTEGERS:
        frame[column] = frame[column].astype("int64")
    for column in _TEXTS:
        frame[column] = frame[column].map(str).astype(object)
    return frame


def facts_compare(rows: pd.DataFrame, existing: pd.DataFrame) -> FactChanges:
    """Split ``rows`` (distinct invoice ids, ``FACT_SOURCE`` columns and any others, such as
    the file's line, carried along uncompared) by what they do to the facts in ``existing``
    (``facts_frame``: the warehouse's rows for some of these ids)."""
    if existing.empty:
        return FactChanges(new=rows, changed=rows.iloc[:0], old=existing, unchanged=0)
    old = existing.set_index("clean_invoice_id").reindex(rows["clean_invoice_id"].to_numpy())
    found = old["customer_key"].notna().to_numpy()
    same = found.copy()
    same &= old["clean_issue_date"].to_numpy() == rows["clean_issue_date"].to_numpy()
    for column in _INTEGERS:
        same &= old[column].to_numpy(dtype="float64", na_value=np.nan) == rows[column].to_numpy(dtype="int64")
    for column in _TEXTS:
        same &= old[column].to_numpy() == rows[column].to_numpy()
    changed = found & ~same
    old_changed = old[changed].reset_index(names="clean_invoice_id")
    for column in _INTEGERS:
        old_changed[column] = old_changed[column].astype("int64")
    return FactChanges(
        new=rows[~found],
        changed=rows[changed],
        old=old_changed[list(FACT_SOURCE)],
        unchanged=int(same.sum()),
    )
