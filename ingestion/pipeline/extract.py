"""Read invoice files in chunks: what the file is (by content), then its reader.

Each chunk is a DataFrame of text: the nine contract columns, ``extra`` (JSON of
any other columns, or null) and ``source_row`` (the file's line, or the sheet's
row; the header is 1). Memory is bounded by the chunk and by ``Limits`` whatever
the file holds. The readers themselves are listed in ``formats.py``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.pipeline import errors
from ingestion.pipeline.formats import reader_for, reader_recognise
from ingestion.pipeline.readers.options import BYTES_READ, Limits, ReadOptions, header_map
from ingestion.pipeline.readers.source import FileSource

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FileFormat",
    "FileSource",
    "Limits",
    "chunks_read",
    "file_format_detect",
    "header_map",
    "rows_estimate",
    "source_open",
]

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t")
# Share of control bytes (NUL included, tab and line ends not) above which a file is binary.
BINARY_CONTROL_SHARE = 0.01
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26))


@dataclass(frozen=True)
class FileFormat:
    kind: str  # a reader's kind: see formats.READERS
    encoding: str = "utf-8"
    delimiter: str = ","


def source_open(path: Path) -> FileSource:
    """The file opened for its one read; FileRejected (saying why) if it cannot be."""
    try:
        return FileSource(path)
    except FileNotFoundError:
        raise errors.FileRejected(errors.FILE_NOT_FOUND.format(path=path)) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise errors.FileRejected(errors.FILE_CANNOT_READ.format(path=path, reason=reason)) from None


def file_format_detect(file: Path | FileSource) -> FileFormat:
    """Decide from the content (not the name) what the file is; raise FileRejected if unusable.

    Given a ``FileSource``, its first bytes are read through it (and served again to the reader).
    """
    if isinstance(file, FileSource):
        return _format_of(file.sample(SAMPLE_BYTES), file.path)
    try:
        with open(file, "rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise errors.FileRejected(errors.FILE_NOT_FOUND.format(path=file)) from None
    except OSError as exc:
        raise errors.FileRejected(errors.FILE_UNREADABLE.format(error=exc.strerror)) from None
    return _format_of(sample, Path(file))


def _format_of(sample: bytes, path: Path) -> FileFormat:
    if not sample:
        raise errors.FileRejected(errors.FILE_EMPTY)
    reader = reader_recognise(sample, Path(path))
    if reader.workbook:
        return FileFormat(kind=reader.kind)
    encoding = _encoding_guess(sample)
    if encoding is None:
        raise errors.FileRejected(errors.FILE_BINARY)
    text = sample.decode(encoding, errors="replace")
    if not text.strip():
        raise errors.FileRejected(errors.FILE_EMPTY)
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=header.count)
    return FileFormat(kind=reader.kind, encoding=encoding, delimiter=delimiter)


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: one byte of each pair is nearly always NUL."""
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd > 0.6 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.6 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def _encoding_guess(sample: bytes) -> str | None:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample and (utf16 := _utf16_without_bom(sample)):
        return utf16
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > BINARY_CONTROL_SHARE * len(sample):
        return None  # a few stray control bytes are data (a row with one is rejected)
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


def chunks_read(
    file: Path | FileSource,
    fmt: FileFormat,
    *,
    chunk_rows: int,
    limits: Limits | None = None,
    sheet: str | None = None,
    notes: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The file's rows in chunks; ``notes`` receives what the batch should say about the file.

    A text file is read through its ``FileSource`` (one is opened for a path); a workbook
    by its path."""
    options = ReadOptions(chunk_rows=chunk_rows, limits=limits or Limits(), sheet=sheet)
    if notes is not None:
        options.notes = notes
    reader = reader_for(fmt.kind)
    if reader.workbook:
        yield from reader.chunks(file.path if isinstance(file, FileSource) else Path(file), fmt, options)
    elif isinstance(file, FileSource):
        yield from reader.chunks(file, fmt, options)
    else:
        with source_open(Path(file)) as source:
            yield from reader.chunks(source, fmt, options)


def rows_estimate(rows_read: int, chunk: pd.DataFrame, size: int) -> int:
    """The file's rows, for progress: the rows read so far scaled by the share of the file
    they took (a text reader says how many bytes it read); at least the rows read."""
    read = chunk.attrs.get(BYTES_READ)
    if not read:
        return rows_read
    return max(rows_read, rows_read * size // read)
