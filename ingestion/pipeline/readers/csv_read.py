"""CSV in chunks, with memory bounded whatever the file holds.

pandas' C parser reads the file (a ``FileSource``: read once, hashed as it goes) through
``_Bounded``, which counts lines as the
bytes go by: a line longer than ``Limits.line_bytes`` fails the file before it is
held, and so does a chunk of rows spanning more than ``Limits.chunk_bytes`` (a
quote left open). Chunks shrink when rows are wide, so a chunk stays well under
that. Fields longer than ``Limits.field_bytes`` are cut (their row is rejected).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ingestion.pipeline import errors
from ingestion.pipeline.readers.options import BYTES_READ, Limits, ReadOptions, header_map
from ingestion.pipeline.readers.source import FileSource
from ingestion.pipeline.readers.tabular import frame_finish

_NEWLINES = re.compile(rb"[\r\n]")


class _Bounded(io.RawIOBase):
    """A file read in blocks, failing as soon as a line or a chunk grows past its limit."""

    def __init__(self, raw: io.RawIOBase, limits: Limits, newline: bytes):
        self.raw = raw  # its owner closes it
        self.limits = limits
        self.newline = newline  # b"\n", or the UTF-16 code unit of a newline
        self.line = 1  # the line the next byte belongs to
        self.run = 0  # bytes since the last end of line
        self.served = 0
        self.chunk_start = 0
        self.chunk_line = 1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("only a rewind to the start")
        self.line, self.run, self.served, self.chunk_start, self.chunk_line = 1, 0, 0, 0, 1
        return self.raw.seek(0)

    def tell(self) -> int:
        return self.served

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if not n:
            return 0
        block = bytes(memoryview(buffer)[:n])
        step = len(self.newline)
        last = max(block.rfind(b"\n"), block.rfind(b"\r"))
        if last < 0:
            self.run += n
        elif n <= self.limits.line_bytes and self.run <= self.limits.line_bytes:
            self.run += max(block.find(b"\n"), block.find(b"\r"), 0)
            self._run_check()
            self.line += block.count(self.newline)
            self.run = n - last - 1
        else:  # a block larger than a line may be: check each line in it
            start = 0
            for match in _NEWLINES.finditer(block):
                self.run += match.start() - start
                self._run_check()
                if block[match.start() : match.start() + step] == self.newline:
                    self.line += 1
                self.run, start = 0, match.end()
            self.run += n - start
        self._run_check()
        self.served += n
        if self.served - self.chunk_start > self.limits.chunk_bytes:
            raise errors.FileRejected(
                errors.FILE_CHUNK_TOO_LONG.format(line=self.chunk_line, limit=_size(self.limits.chunk_bytes))
            )
        return n

    def _run_check(self) -> None:
        if self.run > self.limits.line_bytes:
            raise errors.FileRejected(
                errors.FILE_LINE_TOO_LONG.format(line=self.line, limit=_size(self.limits.line_bytes))
            )

    def chunk_begin(self, line: int) -> None:
        self.chunk_start, self.chunk_line = self.served, line


def _size(n: int) -> str:
    return f"{n // (1024 * 1024):,} MiB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


def _newline(encoding: str) -> bytes:
    if encoding.startswith("utf-16"):
        return b"\n\x00" if encoding != "utf-16-be" else b"\x00\n"
    return b"\n"


def csv_chunks(file: FileSource, fmt, options: ReadOptions) -> Iterator[pd.DataFrame]:
    limits = options.limits
    encoding = "utf-16" if fmt.encoding == "utf-16" else fmt.encoding
    source = _Bounded(file, limits, _newline(fmt.encoding))
    with source, io.BufferedReader(source, buffer_size=1 << 16) as buffered:
        text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
        try:
            header = next(csv.reader(text, delimiter=fmt.delimiter), [])
        except (UnicodeDecodeError, csv.Error) as exc:
            raise errors.FileRejected(errors.FILE_MALFORMED.format(error=exc)) from None
        names, extras = header_map(header)
        text.detach()
        buffered.seek(0)
        file.head_release()  # the parse starts over once, from the bytes kept
        yield from _frames(buffered, source, fmt, names, extras, options)


def _frames(handle, source: _Bounded, fmt, names, extras, options: ReadOptions) -> Iterator[pd.DataFrame]:
    limits, rows = options.limits, options.chunk_rows
    next_row = 2
    try:
        reader = pd.read_csv(
            handle,
            sep=fmt.delimiter,
            encoding=fmt.encoding,
            header=0,
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            iterator=True,
            engine="c",
            skip_blank_lines=False,  # counted, so source_row stays the file's line number
        )
        with reader:
            first = True
            while True:
                source.chunk_begin(next_row)
                start = source.served
                with warnings.catch_warnings():
                    # A first data row longer than the header would be silently cut short.
                    if first:
                        warnings.simplefilter("error", pd.errors.ParserWarning)
                    try:
                        frame = reader.get_chunk(rows)
                    except StopIteration:
                        return
                first = False
                if frame.empty:
                    continue
                frame.columns = names  # positional: the header was checked above
                numbers = np.arange(next_row, next_row + len(frame))
                next_row += len(frame)
                per_row = max((source.served - start) // len(frame), 1)
                rows = int(min(options.chunk_rows, max(1, limits.chunk_bytes // 8 // per_row)))
                frame = frame.fillna("")
                records = ~(frame == "").all(axis=1).to_numpy()  # blank lines are not records
                if records.any():
                    finished = frame_finish(frame[records], extras, numbers[records], limits)
                    finished.attrs[BYTES_READ] = source.served  # for the progress estimate
                    yield finished
    except UnicodeDecodeError:
        if fmt.encoding == "utf-8":
            raise errors.EncodingMismatch from None
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
    match = re.search(r"EOF inside string starting at row (\d+)", text)
    if match:  # pandas counts from 0
        return f"a quote opened on line {int(match[1]) + 1} is never closed"
    return text.removeprefix("Error tokenizing data. C error: ")
