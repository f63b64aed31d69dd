"""Rejected rows as ``rejected_invoices`` stores them, as a pure DataFrame function."""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # what json.dumps(text, ensure_ascii=False) returns

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import RAW_COLUMNS

# The JSON object of a row as read: the contract's columns, then the rest of ``extra``'s.
_RECORD = "{" + ", ".join(f'"{column}": %s' for column in RAW_COLUMNS) + "%s"


def _json_strings(values: pd.Series) -> list[str]:
    """Each text as a JSON string literal, encoding every distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    encoded = np.array(
        [encode_basestring(u) if isinstance(u, str) else json.dumps(u, ensure_ascii=False) for u in uniques],
        dtype=object,
    )
    return encoded[codes].tolist()


def rejected_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows of a cleaned chunk: invoice id, reason, detail, raw record, row.

    ``raw_record`` is the JSON object of the row as read: the contract's columns, then
    any extra columns of the file (``extra``, a JSON object, or null).
    """
    rejected = frame.loc[frame["reason"].notna()]
    columns = [_json_strings(rejected[column]) for column in RAW_COLUMNS]
    ends = ["}" if pd.isna(extra) else ", " + extra[1:] for extra in rejected["extra"].tolist()]
    records = [_RECORD % values for values in zip(*columns, ends, strict=True)]
    invoice_id = rejected["invoice_id"].str.strip().str.slice(0, 255)
    return pd.DataFrame(
        {
            "invoice_id": invoice_id.where(invoice_id != "", None),
            "reason": rejected["reason"],
            "detail": rejected["detail"],
            "raw_record": pd.Series(records, index=rejected.index, dtype=object),
            "source_row": rejected["source_row"],
        }
    )
