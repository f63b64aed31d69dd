"""Rejected rows as ``rejected_invoices`` stores them, as a pure DataFrame function."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import RAW_COLUMNS


def _json_strings(values: pd.Series) -> pd.Series:
    """Each text as a JSON string literal, encoding every distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    encoded = np.array([json.dumps(u, ensure_ascii=False) for u in uniques], dtype=object)
    return pd.Series(encoded[codes], index=values.index, dtype=object)


def rejected_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows of a cleaned chunk: invoice id, reason, detail, raw record, row.

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
