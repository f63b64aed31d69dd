"""What a reader is given and checks before it holds a row: the limits on one file, the
read options, the header. No pandas here: the upload's checks and the folder scan use them in
processes that never read a file into frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ingestion.pipeline import errors
from ingestion.pipeline.columns import RAW_COLUMNS

BYTES_READ = "bytes_read"  # a chunk's attribute: the file's bytes read up to its end
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one file may hold; checked while reading, before the data is held."""

    field_bytes: int = 1 * MiB  # a longer field is cut, and its row rejected (FIELD_TOO_LONG)
    line_bytes: int = 10 * MiB  # a longer line fails the file
    chunk_bytes: int = 128 * MiB  # the text one chunk of rows may span (a quote left open)
    part_bytes: int = 512 * MiB  # a workbook part inflating to more fails the file
    part_ratio: int = 100  # ... and so does one inflating more than this many times


@dataclass
class ReadOptions:
    chunk_rows: int = 50_000
    limits: Limits = field(default_factory=Limits)
    sheet: str | None = None  # workbooks: the sheet to read (default: the first non-empty one)
    notes: list[str] = field(default_factory=list)  # what the reader wants the batch to say


def header_map(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Normalise header names; return (names for the frame, extra column names).

    Required names are matched case-insensitively after trimming. A missing or
    repeated required column is a file-level fault.
    """
    if not any(str(n).strip() for n in names):
        raise errors.FileRejected(errors.FILE_NO_HEADER)
    normalised, extras, seen = [], [], set()
    for position, name in enumerate(names):
        label = str(name).strip()
        key = label.lower()
        if key in RAW_COLUMNS:
            if key in seen:
                raise errors.FileRejected(errors.FILE_DUPLICATE_COLUMN.format(column=key))
            normalised.append(key)
        else:
            label = label or f"column_{position + 1}"
            while label in seen or label.lower() in RAW_COLUMNS:
                label += "_"
            normalised.append(label)
            extras.append(label)
        seen.add(key if key in RAW_COLUMNS else label)
    missing = [c for c in RAW_COLUMNS if c not in seen]
    if missing:
        found = ", ".join(repr(str(n).strip()[:40]) for n in names[:12]) or "nothing"
        raise errors.FileRejected(errors.FILE_MISSING_COLUMNS.format(missing=", ".join(missing), found=found))
    return normalised, extras


def is_header(names: Sequence[str]) -> bool:
    """Whether a row names every required column (a title row above the header does not)."""
    return set(RAW_COLUMNS) <= {str(n).strip().lower() for n in names}
