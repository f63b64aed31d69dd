"""What a chunk's valid rows do to the fact table, as pure DataFrame functions.

Each row is a new invoice, a change to an existing one, or identical to it (and then
nothing is written: the invoice keeps the batch that wrote it). The existing versions of
the changed invoices come back too: their old values leave the sales aggregates.
"""

from __future__ import annotations

import datetime as dt
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


def facts_frame(rows: list[tuple[str, ...]]) -> pd.DataFrame:
    """Fact rows as texts ((id, ISO date, keys, qty, price, total)) in the shape of a cleaned
    chunk: dates as dates, keys and qty as integers, money as text."""
    frame = pd.DataFrame(rows, columns=list(FACT_SOURCE))
    frame["clean_issue_date"] = [dt.date.fromisoformat(day) for day in frame["clean_issue_date"]]
    for column in _INTEGERS:
        frame[column] = frame[column].astype("int64")
    for column in _TEXTS:
        frame[column] = frame[column].astype(object)
    return frame


def facts_text(rows: pd.DataFrame) -> np.ndarray:
    """Each row's fact values (``FACT_SOURCE`` after the id) as one text, the way
    ``sql_facts.facts_read`` has the database write a fact: the ISO date, the integers and the
    money's two-decimal text, joined by commas."""
    codes, days = pd.factorize(rows["clean_issue_date"])
    columns = [np.array([day.isoformat() for day in days], dtype=object)[codes]]
    columns += [rows[column].astype("int64").astype(str).to_numpy(dtype=object) for column in _INTEGERS]
    columns += [rows[column].to_numpy(dtype=object) for column in _TEXTS]
    return np.array([",".join(values) for values in zip(*columns, strict=True)], dtype=object)


def facts_compare(rows: pd.DataFrame, existing: list[tuple[str, str]]) -> FactChanges:
    """Split ``rows`` (distinct invoice ids, ``FACT_SOURCE`` columns and any others, such as
    the file's line, carried along uncompared) by what they do to the facts in ``existing``
    ((invoice id, ``facts_text``) of the warehouse's rows for some of these ids)."""
    if not existing:
        return FactChanges(new=rows, changed=rows.iloc[:0], old=facts_frame([]), unchanged=0)
    ids, texts = zip(*existing, strict=True)
    row_ids = rows["clean_invoice_id"].to_numpy()
    old = pd.Series(texts, index=ids, dtype=object).reindex(row_ids).to_numpy()
    found = pd.notna(old)
    same = found & (old == facts_text(rows))
    changed = found & ~same
    return FactChanges(
        new=rows[~found],
        changed=rows[changed],
        old=facts_frame(
            [(i, *text.split(",")) for i, text in zip(row_ids[changed], old[changed], strict=True)]
        ),
        unchanged=int(same.sum()),
    )
