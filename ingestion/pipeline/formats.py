"""The file formats a load reads: one entry each, from which everything else derives.

An entry says how a file of that kind is recognised by its content (never its
name), which extensions the upload form and the folder scan offer, and which
reader turns it into chunks. Detection tries the entries in order.

The readers are named, not imported: they bring pandas (and the workbook libraries), which a
process that only serves pages or queues loads never needs (the web's processes start without
them); a reader's module is imported when a file of its kind is first checked or read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from ingestion.pipeline import errors

if TYPE_CHECKING:
    import pandas as pd

    from ingestion.pipeline.readers.options import Limits

_READERS = "ingestion.pipeline.readers."

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
    reads: str  # the function that turns a file into chunks, by its dotted path
    checks: str | None = None  # what an upload checks before accepting (path, limits, kind)
    workbook: bool = False

    def chunks(self, *args, **kwargs) -> Iterator[pd.DataFrame]:
        return import_string(_READERS + self.reads)(*args, **kwargs)

    def check(self, path: Path, limits: Limits) -> None:
        if self.checks is not None:
            import_string(_READERS + self.checks)(path, limits, kind=self.kind)


READERS = (
    Reader(
        "ods",
        (".ods",),
        _is_ods,
        "calamine_read.calamine_chunks",
        "calamine_read.calamine_check",
        workbook=True,
    ),
    Reader("xlsx", (".xlsx",), _is_xlsx, "xlsx_read.xlsx_chunks", "xlsx_read.xlsx_check", workbook=True),
    Reader(
        "xls",
        (".xls",),
        _is_xls,
        "calamine_read.calamine_chunks",
        "calamine_read.calamine_check",
        workbook=True,
    ),
    Reader("csv", (".csv", ".tsv", ".txt"), _is_text, "csv_read.csv_chunks"),
)
INPUT_SUFFIXES = frozenset(suffix for reader in READERS for suffix in reader.extensions)


def reader_for(kind: str) -> Reader:
    return next(reader for reader in READERS if reader.kind == kind)


def reader_recognise(sample: bytes, path: Path) -> Reader:
    return next(reader for reader in READERS if reader.recognise(sample, path))
