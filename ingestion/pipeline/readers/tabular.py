"""What every reader shares: the chunk it yields (the limits and the header check are in
``options``, which needs no pandas).

Each chunk is a DataFrame of text: ``source_row`` (the file's line, or the sheet's
row; the header is 1), the nine contract columns and ``extra`` (JSON of any other
columns, or null).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import FIELD_CUT, FIELD_CUT_KEEP, RAW_COLUMNS
from ingestion.pipeline.readers.options import Limits


def field_cut(text: str, size: int) -> str:
    return text[:FIELD_CUT_KEEP] + FIELD_CUT.format(size=f"{size:,}")


def fields_bound(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Cut every field longer than ``limit`` bytes (UTF-8) to its start and the cut mark."""
    for position, column in enumerate(frame.columns):
        values = frame[column]
        suspects = np.flatnonzero((values.str.len() > limit // 4).to_numpy(dtype=bool))
        for i in suspects:
            text = str(values.iloc[int(i)])
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > limit:
                frame.iloc[int(i), position] = field_cut(text, size)
    return frame


def frame_finish(frame: pd.DataFrame, extras: list[str], source_rows, limits: Limits) -> pd.DataFrame:
    frame = fields_bound(frame.fillna(""), limits.field_bytes)
    out = frame[list(RAW_COLUMNS)].copy()
    if extras:
        records = frame[extras].to_dict(orient="records")
        out["extra"] = [json.dumps(r, ensure_ascii=False) for r in records]
    else:
        out["extra"] = None
    out.insert(0, "source_row", source_rows)
    return out.reset_index(drop=True)
