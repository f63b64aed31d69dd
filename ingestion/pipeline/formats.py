"""The file formats a load reads: one entry each, from which everything else derives.

An entry says how a file of that kind is recognised by its content (never its
name), which extensions the upload form and the folder scan offer, and which
reader turns it into chunks. Detection tries the entries in order.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.readers.calamine_read import calamine_check, calamine_chunks
from ingestion.pipeline.readers.csv_read import csv_chunks
from ingestion.pipeline.readers.tabular import Limits
from ingestion.pipeline.readers.workbook import parts_check
from ingestion.pipeline.readers.xlsx_read import xlsx_chunks

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _zip_names(path: Path) -> list[str] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _is_ods(sample: bytes, path: Path) -> bool:
    return sample.startswith(ZIP_MAGIC) and b"application/vnd.oasis.opendocument.spreadsheet" in sample[:200]


def _is_xlsx(sample: bytes, path: Path) -> bool:
    if not sample.startswith(ZIP_MAGIC):
        return False
    names = _zip_names(path)
    if names is not None and "xl/workbook.xml" not in names:
        raise errors.FileRejected(errors.FILE_NOT_A_WORKBOOK)
    return True  # a workbook, or a damaged one: its reader says what is wrong


def _is_xls(sample: bytes, path: Path) -> bool:
    return sample.startswith(OLE_MAGIC)


def _is_text(sample: bytes, path: Path) -> bool:
    return True  # the last resort: the encoding check says whether it is text at all


@dataclass(frozen=True)
class Reader:
    kind: str
    extensions: tuple[str, ...]
    recognise: Callable[[bytes, Path], bool]
    chunks: Callable[..., Iterator[pd.DataFrame]]
    check: Callable[[Path, Limits], None] | None = None  # what an upload checks before accepting
    workbook: bool = False


READERS = (
    Reader("ods", (".ods",), _is_ods, calamine_chunks, partial(calamine_check, kind="ods"), workbook=True),
    Reader("xlsx", (".xlsx",), _is_xlsx, xlsx_chunks, parts_check, workbook=True),
    Reader("xls", (".xls",), _is_xls, calamine_chunks, partial(calamine_check, kind="xls"), workbook=True),
    Reader("csv", (".csv", ".tsv", ".txt"), _is_text, csv_chunks),
)
INPUT_SUFFIXES = frozenset(suffix for reader in READERS for suffix in reader.extensions)


def reader_for(kind: str) -> Reader:
    return next(reader for reader in READERS if reader.kind == kind)


def reader_recognise(sample: bytes, path: Path) -> Reader:
    return next(reader for reader in READERS if reader.recognise(sample, path))
