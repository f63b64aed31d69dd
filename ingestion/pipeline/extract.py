"""Read invoice files (CSV in any usual encoding and delimiter, or XLSX) in chunks.

Each chunk is a DataFrame of text: the nine contract columns, ``extra`` (JSON of
any other columns, or null) and ``source_row`` (the header is row 1). Memory is
bounded by the chunk size whatever the size of the file.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.columns import RAW_COLUMNS

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" or "xlsx"
    encoding: str = "utf-8"
    delimiter: str = ","


def file_format_detect(path: Path) -> FileFormat:
    """Decide from the content (not the name) what the file is; raise FileRejected if unusable."""
    try:
        with open(path, "rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise errors.FileRejected(errors.FILE_NOT_FOUND.format(path=path)) from None
    except OSError as exc:
        raise errors.FileRejected(errors.FILE_UNREADABLE.format(error=exc.strerror)) from None
    if sample.startswith(_ZIP_MAGIC):
        return FileFormat(kind="xlsx")
    if sample.startswith(_OLE_MAGIC):
        raise errors.FileRejected(errors.FILE_LEGACY_XLS)
    encoding = _encoding_guess(sample)
    if encoding is None:
        raise errors.FileRejected(errors.FILE_BINARY)
    text = sample.decode(encoding, errors="replace")
    if not text.strip():
        raise errors.FileRejected(errors.FILE_EMPTY)
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=header.count)
    return FileFormat(kind="csv", encoding=encoding, delimiter=delimiter)


def _encoding_guess(sample: bytes) -> str | None:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def header_map(names: list[str]) -> tuple[list[str], list[str]]:
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
        found = ", ".join(repr(str(n).strip()) for n in names[:12]) or "nothing"
        raise errors.FileRejected(errors.FILE_MISSING_COLUMNS.format(missing=", ".join(missing), found=found))
    return normalised, extras


def _frame_finish(frame: pd.DataFrame, extras: list[str], source_rows) -> pd.DataFrame:
    frame = frame.fillna("")
    out = frame[list(RAW_COLUMNS)].copy()
    if extras:
        records = frame[extras].to_dict(orient="records")
        out["extra"] = [json.dumps(r, ensure_ascii=False) for r in records]
    else:
        out["extra"] = None
    out.insert(0, "source_row", source_rows)
    return out.reset_index(drop=True)


def chunks_read(path: Path, fmt: FileFormat, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if fmt.kind == "xlsx":
        yield from _xlsx_chunks(path, chunk_rows=chunk_rows)
    else:
        yield from _csv_chunks(path, fmt, chunk_rows=chunk_rows)


def _csv_chunks(path: Path, fmt: FileFormat, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with open(path, encoding=fmt.encoding, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=fmt.delimiter), [])
        except (UnicodeDecodeError, csv.Error) as exc:
            raise errors.FileRejected(errors.FILE_MALFORMED.format(error=exc)) from None
        names, extras = header_map(header)
        handle.seek(0)
        next_row = 2
        try:
            reader = pd.read_csv(
                handle,
                sep=fmt.delimiter,
                header=0,
                index_col=False,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=chunk_rows,
                engine="c",
                skip_blank_lines=False,  # counted, so source_row stays the file's row number
            )
            with warnings.catch_warnings():
                # A first data row longer than the header would be silently cut short.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                first = next(reader, None)
            for frame in itertools.chain([first] if first is not None else [], reader):
                frame.columns = names  # positional: the header was checked above
                numbers = np.arange(next_row, next_row + len(frame))
                next_row += len(frame)
                frame = frame.fillna("")
                records = ~(frame == "").all(axis=1).to_numpy()  # blank lines are not records
                if records.any():
                    yield _frame_finish(frame[records], extras, numbers[records])
        except UnicodeDecodeError:
            if fmt.encoding == "utf-8":
                raise errors.EncodingMismatch() from None
            raise errors.FileRejected(errors.FILE_BINARY) from None
        except pd.errors.ParserWarning:
            raise errors.FileRejected(
                errors.FILE_MALFORMED.format(error=f"line {next_row} has more fields than the header")
            ) from None
        except pd.errors.ParserError as exc:
            raise errors.FileRejected(errors.FILE_MALFORMED.format(error=_parser_error(exc))) from None


def _parser_error(exc: Exception) -> str:
    text = str(exc).strip()
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = match.groups()
        return f"line {line} has {saw} fields, the header has {expected}"
    return text.removeprefix("Error tokenizing data. C error: ")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_chunks(path: Path, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    # A file object: detection is by content, and openpyxl would refuse other file names.
    handle = open(path, "rb")  # noqa: SIM115 - closed with the workbook below
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        handle.close()
        raise errors.FileRejected(errors.FILE_BAD_XLSX.format(error=exc)) from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header, row_number = None, 0
        for values in rows:
            row_number += 1
            if any(v not in (None, "") for v in values):
                header = [_cell_text(v) for v in values]
                break
        if header is None:
            raise errors.FileRejected(errors.FILE_EMPTY)
        while header and not header[-1].strip():
            header.pop()
        names, extras = header_map(header)
        width, buffer, numbers = len(names), [], []
        for values in rows:
            row_number += 1
            cells = [_cell_text(v) for v in values[:width]]
            if not any(cell.strip() for cell in cells):
                continue  # blank spreadsheet rows are layout, not records
            buffer.append(cells + [""] * (width - len(cells)))
            numbers.append(row_number)
            if len(buffer) >= chunk_rows:
                yield _frame_finish(pd.DataFrame(buffer, columns=names), extras, numbers)
                buffer, numbers = [], []
        if buffer:
            yield _frame_finish(pd.DataFrame(buffer, columns=names), extras, numbers)
    finally:
        workbook.close()
        handle.close()
